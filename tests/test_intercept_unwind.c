/*
 * Interception and the stack: backtrace() from inside an intercepted function
 * shows the real caller, and leaving an intercepted call by longjmp leaves the
 * per-thread state consistent.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <setjmp.h>
#include <string.h>

#include "chook.h"

#define NOINLINE __attribute__((noinline, noclone))

/* ---- backtrace ------------------------------------------------------------------- */

static void *frames[32];
static int n_frames;

NOINLINE long traced(long x)
{
    n_frames = backtrace(frames, 32);
    long r = x + 1;
    __asm__ volatile("" : "+r"(r));
    return r;
}
static long (*volatile p_traced)(long) = traced;

/* Exported (not static) so dladdr can name it. */
NOINLINE long icpt_bt_caller(long x)
{
    long r = p_traced(x) * 2;
    __asm__ volatile("" : "+r"(r));
    return r;
}

static int frames_name(const char *name)
{
    for (int i = 0; i < n_frames; i++) {
        Dl_info info;
        /* A return address points after the call: look one byte back. */
        if (dladdr((char *)frames[i] - 1, &info) && info.dli_sname &&
            strcmp(info.dli_sname, name) == 0)
            return i;
    }
    return -1;
}

static int nop_enter(chook_call *call, void *data) { (void)call; (void)data; return CHOOK_CONTINUE; }
static void nop_leave(chook_call *call, void *data) { (void)call; (void)data; }

static void check_backtrace(chook_enter_fn enter, chook_leave_fn leave)
{
    chook_listener *l;
    cr_assert_eq(chook_attach((void *)traced, enter, leave, NULL, &l), CHOOK_OK, "%s",
                 chook_last_error());
    n_frames = 0;
    cr_expect_eq(icpt_bt_caller(1), 4);
    int t = frames_name("traced"), c = frames_name("icpt_bt_caller");
    cr_expect_geq(t, 0, "the original is on the stack");
    cr_expect_gt(c, t, "the real caller is found above it (frame %d)", c);
    cr_expect_leq(c - t, 2, "at most the dispatcher's frame lies in between");
    cr_assert_eq(chook_detach(l), CHOOK_OK);
}

Test(unwind, backtrace_from_the_original_shows_the_real_caller_when_entered_by_jump)
{
    check_backtrace(nop_enter, NULL);
}

Test(unwind, backtrace_from_the_original_shows_the_real_caller_through_the_dispatcher_frame)
{
    check_backtrace(nop_enter, nop_leave);
}

/* ---- longjmp ----------------------------------------------------------------------- */

static jmp_buf env;

NOINLINE long jumper(long x)
{
    if (x < 0) longjmp(env, 1);
    long r = x * 10;
    __asm__ volatile("" : "+r"(r));
    return r;
}
static long (*volatile p_jumper)(long) = jumper;

struct counts {
    int enters, leaves;
};
static int count_enter(chook_call *call, void *data)
{
    (void)call;
    ((struct counts *)data)->enters++;
    return CHOOK_CONTINUE;
}
static void count_leave(chook_call *call, void *data)
{
    (void)call;
    ((struct counts *)data)->leaves++;
}

NOINLINE static long deeper(long x)
{
    volatile char pad[256];
    pad[0] = (char)x;
    return p_jumper(x + pad[0] - (char)x);
}

Test(unwind, longjmp_out_of_an_intercepted_call_leaves_state_consistent)
{
    struct counts c = { 0, 0 };
    chook_listener *l;
    cr_assert_eq(chook_attach((void *)jumper, count_enter, count_leave, &c, &l), CHOOK_OK);
    volatile int jumped = 0;
    if (setjmp(env) == 0) {
        deeper(-1);
        cr_assert_fail("longjmp did not happen");
    } else {
        jumped = 1;
    }
    cr_expect_eq(jumped, 1);
    cr_expect_eq(c.enters, 1);
    cr_expect_eq(c.leaves, 0, "the abandoned call's on_leave does not run");
    /* Normal calls afterwards are intercepted, from shallower and deeper frames. */
    cr_expect_eq(p_jumper(2), 20);
    cr_expect_eq(deeper(3), 30);
    cr_expect_eq(c.enters, 3);
    cr_expect_eq(c.leaves, 2);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
    /* The abandoned call does not hold the wait forever. */
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(p_jumper(2), 20);
    cr_expect_eq(c.enters, 3);
}
