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

/* ---- backtrace ---- */

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

static int nop_enter(chook_call *call, void *data)
{
    (void)call, (void)data;
    return CHOOK_CONTINUE;
}
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

/* ---- longjmp ---- */

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

Test(unwind, the_thread_that_jumped_out_can_wait_for_the_listener_right_away)
{
    struct counts c = { 0, 0 };
    chook_listener *l;
    cr_assert_eq(chook_attach((void *)jumper, count_enter, count_leave, &c, &l), CHOOK_OK);
    if (setjmp(env) == 0) deeper(-1);
    /* No intercepted call since: the abandoned record is below this frame, so
     * the wait knows it is dead. */
    cr_assert_eq(chook_detach(l), CHOOK_OK);
    cr_expect_eq(chook_detach_wait(100), CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(c.enters, 1);
    cr_expect_eq(c.leaves, 0);
}

/* ---- alternate signal stacks ---- */

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>

#include "intercept.h"

NOINLINE long alt_inner(long x)
{
    long r = x + 1;
    __asm__ volatile("" : "+r"(r));
    return r;
}
static long (*volatile p_alt_inner)(long) = alt_inner;

static volatile long alt_handler_result;
static void alt_handler(int sig)
{
    (void)sig;
    alt_handler_result = p_alt_inner(41);
}

static volatile uint32_t depth_after_signal;
NOINLINE long alt_outer(long x)
{
    raise(SIGUSR1);
    /* This call owes a leave step: its record must have survived the handler. */
    depth_after_signal = chook__ithread_self()->depth;
    long r = x * 2;
    __asm__ volatile("" : "+r"(r));
    return r;
}
static long (*volatile p_alt_outer)(long) = alt_outer;

static void *alt_thread(void *arg)
{
    /* The alternate stack lies above this thread's stack: frame addresses in the
     * handler are higher than the interrupted call's. */
    stack_t ss = { .ss_sp = arg, .ss_size = 1 << 16 };
    if (sigaltstack(&ss, NULL) != 0) return (void *)-1;
    return (void *)p_alt_outer(5);
}

Test(unwind, a_handler_on_a_higher_alternate_stack_keeps_the_interrupted_calls_records)
{
    struct counts c = { 0, 0 };
    chook_listener *lo, *li;
    size_t stack_size = 1 << 20;
    void *low = mmap((void *)0x20000000ul, stack_size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    void *high = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(low, MAP_FAILED);
    cr_assert_neq(high, MAP_FAILED);
    cr_assert_gt((uintptr_t)high, (uintptr_t)low, "mmap placed the alternate stack higher");
    struct sigaction sa = { .sa_handler = alt_handler, .sa_flags = SA_ONSTACK };
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
    cr_assert_eq(chook_attach((void *)alt_outer, count_enter, count_leave, &c, &lo), CHOOK_OK);
    cr_assert_eq(chook_attach((void *)alt_inner, count_enter, count_leave, &c, &li), CHOOK_OK);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    cr_assert_eq(pthread_attr_setstack(&attr, low, stack_size), 0);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, &attr, alt_thread, high), 0);
    void *r;
    pthread_join(th, &r);
    cr_expect_eq((long)(intptr_t)r, 10);
    cr_expect_eq(alt_handler_result, 42);
    cr_expect_eq(depth_after_signal, 1);
    cr_expect_eq(c.enters, 2);
    cr_expect_eq(c.leaves, 2);
    cr_assert_eq(chook_detach(lo), CHOOK_OK);
    cr_assert_eq(chook_detach(li), CHOOK_OK);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK, "%s", chook_last_error());
}
