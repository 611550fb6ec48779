/*
 * The interception dispatcher's frame in code it was not built for:
 *   - twice:  functions that return twice or read their own return address
 *             (setjmp, vfork, hand-written look-alikes) refuse an on_leave
 *             (CHOOK_ENOLEAVE) and work enter-only and replaced;
 *   - align:  targets entered with a misaligned stack, enter-only and
 *             enter+leave (tests/fixtures/icpt_frames.S);
 *   - stack:  functions with more stack arguments than any fixed window, with
 *             on_leave and no signature: the callee and chook_arg see them all;
 *   - regs:   every register a callee leaves alone survives listeners and
 *             CHOOK_KEEP_REGS replacements (a hand-written check, and a -O2
 *             -fipa-ra program in tests/intercept_ipa/).
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chook.h"
#include "intercept.h"

#define NOINLINE __attribute__((noinline, noclone))

/* tests/fixtures/icpt_frames.S */
long icpt_align_target(long x);
long icpt_call_misaligned(long (*fn)(long), long x);
long icpt_call_misaligned_nocfi(long (*fn)(long), long x);
long icpt_regs_target(long x);
unsigned long icpt_regs_check(long (*fn)(long), long x);
void icpt_clobber(void);
int icpt_clobber_enter(chook_call *call, void *data);
void icpt_clobber_leave(chook_call *call, void *data);
long icpt_pops_return(void);
long icpt_saves_regs(long *buf);

static int enters, leaves;

static int count_enter(chook_call *call, void *data)
{
    (void)call, (void)data;
    enters++;
    return CHOOK_CONTINUE;
}

static void count_leave(chook_call *call, void *data)
{
    (void)call, (void)data;
    leaves++;
}

/* ---- twice --------------------------------------------------------------------- */

static jmp_buf jb;
static volatile int jumps;

NOINLINE static void jump_back(int v) { longjmp(jb, v); }

Test(twice, setjmp_refuses_on_leave_and_runs_enter_only)
{
    void *sj = dlsym(RTLD_DEFAULT, "_setjmp");
    cr_assert_not_null(sj);
    chook_listener *l = NULL;
    /* Before the fix this attached, and the second return from setjmp crashed
     * in the dispatcher's reused frame. */
    int st = chook_attach(sj, count_enter, count_leave, NULL, &l);
    cr_expect_eq(st, CHOOK_ENOLEAVE, "%s", chook_strerror(st));
    cr_expect(strstr(chook_last_error(), "_setjmp") != NULL, "%s", chook_last_error());
    if (st != CHOOK_OK)
        cr_assert_eq(chook_attach(sj, count_enter, NULL, NULL, &l), CHOOK_OK, "%s",
                     chook_last_error());
    enters = leaves = 0;
    jumps = 0;
    for (int i = 0; i < 50; i++) {
        int r = setjmp(jb);
        if (r == 0) jump_back(i + 1);
        cr_assert_eq(r, i + 1);
        jumps++;
    }
    cr_expect_eq(jumps, 50);
    cr_expect_eq(enters, 50, "one enter per setjmp call (each returns twice)");
    cr_expect_eq(chook_detach(l), CHOOK_OK);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK);
}

Test(twice, sigsetjmp_and_getcontext_names_are_refused)
{
    const char *names[] = { "__sigsetjmp", "setjmp", "getcontext", "swapcontext", "vfork" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        void *f = dlsym(RTLD_DEFAULT, names[i]);
        if (!f) continue;
        chook_listener *l = NULL;
        int st = chook_attach(f, count_enter, count_leave, NULL, &l);
        cr_expect_eq(st, CHOOK_ENOLEAVE, "%s: %s", names[i], chook_strerror(st));
        if (st == CHOOK_OK) chook_detach(l);
    }
    cr_expect_str_eq(chook_strerror(CHOOK_ENOLEAVE),
                     "CHOOK_ENOLEAVE: function returns twice or reads its return address");
}

Test(twice, vfork_refuses_on_leave_and_runs_enter_only)
{
    void *vf = dlsym(RTLD_DEFAULT, "vfork");
    cr_assert_not_null(vf);
    chook_listener *l = NULL;
    int st = chook_attach(vf, count_enter, count_leave, NULL, &l);
    cr_expect_eq(st, CHOOK_ENOLEAVE, "%s", chook_strerror(st));
    if (st != CHOOK_OK)
        cr_assert_eq(chook_attach(vf, count_enter, NULL, NULL, &l), CHOOK_OK, "%s",
                     chook_last_error());
    pid_t (*volatile p_vfork)(void) = (pid_t(*)(void))vf;
    enters = 0;
    for (int i = 0; i < 20; i++) {
        pid_t pid = p_vfork();
        if (pid == 0) _exit(i);
        cr_assert_gt(pid, 0);
        int status = 0;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == i, "child %d: status %x", i, status);
    }
    /* The child runs on the parent's stack until _exit: its enter counts in
     * the shared memory too (vfork shares it), so at least the parent's. */
    cr_expect_geq(enters, 20);
    cr_expect_eq(chook_detach(l), CHOOK_OK);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK);
}

static pid_t fork_instead(void) { return fork(); }

Test(twice, vfork_can_still_be_replaced)
{
    void *vf = dlsym(RTLD_DEFAULT, "vfork");
    cr_assert_not_null(vf);
    chook_hook *h = NULL;
    cr_assert_eq(chook_install_ex(vf, (void *)fork_instead, NULL, &h), CHOOK_OK, "%s",
                 chook_last_error());
    pid_t (*volatile p_vfork)(void) = (pid_t(*)(void))vf;
    pid_t pid = p_vfork();
    if (pid == 0) _exit(3);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 3);
    cr_expect_eq(chook_remove(h), CHOOK_OK);
    /* A register-keeping thunk would call it from a frame: refused. */
    cr_expect_eq(chook_install_flags(vf, (void *)fork_instead, NULL, NULL, CHOOK_KEEP_REGS),
                 CHOOK_ENOLEAVE);
}

static long five(void) { return 55; }

Test(twice, functions_that_pop_their_return_address_are_recognised_by_code)
{
    chook_listener *l = NULL;
    cr_expect_eq(chook_attach((void *)icpt_pops_return, count_enter, count_leave, NULL, &l),
                 CHOOK_ENOLEAVE);
    cr_expect(strstr(chook_last_error(), "return address") != NULL, "%s", chook_last_error());
    cr_assert_eq(chook_attach((void *)icpt_pops_return, count_enter, NULL, NULL, &l), CHOOK_OK);
    long (*volatile f)(void) = icpt_pops_return;
    enters = 0;
    cr_expect_eq(f(), 5);
    cr_expect_eq(enters, 1);
    cr_expect_eq(chook_detach(l), CHOOK_OK);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK);
    chook_hook *h = NULL;
    cr_assert_eq(chook_install_ex((void *)icpt_pops_return, (void *)five, NULL, &h), CHOOK_OK);
    cr_expect_eq(f(), 55);
    cr_expect_eq(chook_remove(h), CHOOK_OK);
    cr_expect_eq(f(), 5);
}

Test(twice, functions_that_save_the_callers_registers_are_recognised_by_code)
{
    chook_listener *l = NULL;
    cr_expect_eq(chook_attach((void *)icpt_saves_regs, NULL, count_leave, NULL, &l),
                 CHOOK_ENOLEAVE);
    cr_expect(strstr(chook_last_error(), "setjmp-like") != NULL, "%s", chook_last_error());
    /* An ordinary function is not refused. */
    cr_assert_eq(chook_attach((void *)icpt_align_target, NULL, count_leave, NULL, &l), CHOOK_OK,
                 "%s", chook_last_error());
    cr_expect_eq(chook_detach(l), CHOOK_OK);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK);
}

/* ---- align --------------------------------------------------------------------- */

static void misaligned_calls(chook_enter_fn on_enter, chook_leave_fn on_leave)
{
    chook_listener *l = NULL;
    cr_assert_eq(chook_attach((void *)icpt_align_target, on_enter, on_leave, NULL, &l), CHOOK_OK,
                 "%s", chook_last_error());
    enters = leaves = 0;
    for (long i = 0; i < 100; i++) {
        cr_assert_eq(icpt_call_misaligned(icpt_align_target, i), 2 * i + 1);
        cr_assert_eq(icpt_call_misaligned_nocfi(icpt_align_target, i), 2 * i + 1);
    }
    cr_expect_eq(enters, on_enter ? 200 : 0);
    cr_expect_eq(leaves, on_leave ? 200 : 0);
    cr_expect_eq(chook_detach(l), CHOOK_OK);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK);
}

Test(align, enter_only_with_the_stack_misaligned_by_8) { misaligned_calls(count_enter, NULL); }

Test(align, enter_and_leave_with_the_stack_misaligned_by_8)
{
    misaligned_calls(count_enter, count_leave);
}

Test(align, two_listeners_with_the_stack_misaligned_by_8)
{
    chook_listener *l2 = NULL;
    cr_assert_eq(chook_attach((void *)icpt_align_target, icpt_clobber_enter, NULL, NULL, &l2),
                 CHOOK_OK);
    misaligned_calls(count_enter, count_leave);
    cr_expect_eq(chook_detach(l2), CHOOK_OK);
}

/* ---- stack arguments ----------------------------------------------------------- */

/* 16 arguments, 15 integers and one double: 9 integers on the stack (72 bytes). */
NOINLINE long args16(long a0, long a1, long a2, long a3, long a4, long a5, double d0, long a6,
                     long a7, long a8, long a9, long a10, long a11, long a12, long a13, long a14)
{
    long v[15] = { a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14 };
    long bad = 0;
    for (int i = 0; i < 15; i++)
        if (v[i] != 100 + i) bad |= 1l << i;
    if (d0 != 0.5) bad |= 1l << 20;
    return bad ? -bad : 16;
}

/* 24 arguments, 14 integers and 10 doubles: 8 integers and 2 doubles on the
 * stack (80 bytes), interleaved. */
NOINLINE long args24(long a0, double d0, long a1, double d1, long a2, double d2, long a3,
                     double d3, long a4, double d4, long a5, double d5, long a6, double d6,
                     long a7, double d7, long a8, double d8, long a9, double d9, long a10,
                     long a11, long a12, long a13)
{
    long v[14] = { a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13 };
    double w[10] = { d0, d1, d2, d3, d4, d5, d6, d7, d8, d9 };
    long bad = 0;
    for (int i = 0; i < 14; i++)
        if (v[i] != 200 + i) bad |= 1l << i;
    for (int i = 0; i < 10; i++)
        if (w[i] != 0.25 * (i + 1)) bad |= 1l << (20 + i);
    return bad ? -bad : 24;
}

static long (*volatile p_args16)(long, long, long, long, long, long, double, long, long, long,
                                 long, long, long, long, long, long) = args16;
static long (*volatile p_args24)(long, double, long, double, long, double, long, double, long,
                                 double, long, double, long, double, long, double, long, double,
                                 long, double, long, long, long, long) = args24;

static int seen_ok;

static uint64_t bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

/* No signature: integer n past the registers is the n-6'th stack slot. */
static int check16(chook_call *call, void *data)
{
    (void)data;
    int ok = 1;
    for (unsigned i = 0; i < 15; i++) ok &= *chook_arg(call, i) == 100 + i;
    ok &= *chook_arg_fp(call, 0) == 0.5;
    seen_ok += ok;
    return CHOOK_CONTINUE;
}

static void leave16(chook_call *call, void *data)
{
    check16(call, data);
    leaves++;
}

/* No signature, both classes spill: chook_arg(call, 6 + k) is the raw
 * eightbyte of stack slot k, whatever its class. */
static int check24(chook_call *call, void *data)
{
    (void)data;
    int ok = 1;
    for (unsigned i = 0; i < 6; i++) ok &= *chook_arg(call, i) == 200 + i;
    for (unsigned i = 0; i < 8; i++) ok &= *chook_arg_fp(call, i) == 0.25 * (i + 1);
    /* The stack, in argument order: a6 a7 a8 d8 a9 d9 a10 a11 a12 a13. */
    const uint64_t expect[10] = { 206, 207, 208, bits(0.25 * 9), 209, bits(0.25 * 10),
                                  210, 211, 212, 213 };
    for (unsigned k = 0; k < 10; k++) ok &= *chook_arg(call, 6 + k) == expect[k];
    seen_ok += ok;
    return CHOOK_CONTINUE;
}

static void leave24(chook_call *call, void *data)
{
    check24(call, data);
    leaves++;
}

/* With a signature: every argument by position. */
static void leave24_sig(chook_call *call, void *data)
{
    (void)data;
    int ok = 1;
    long ints = 0;
    double dbls = 0;
    for (unsigned pos = 0; pos < 24; pos++) {
        if (pos < 20 && pos % 2 == 1) ok &= *(double *)chook_arg_at(call, pos) == 0.25 * (++dbls);
        else ok &= *(long *)chook_arg_at(call, pos) == 200 + ints++;
    }
    seen_ok += ok;
    leaves++;
}

Test(stack, sixteen_arguments_with_on_leave_and_no_signature)
{
    chook_listener *l = NULL;
    cr_assert_eq(chook_attach((void *)args16, check16, leave16, NULL, &l), CHOOK_OK);
    seen_ok = leaves = 0;
    for (int i = 0; i < 10; i++)
        cr_assert_eq(p_args16(100, 101, 102, 103, 104, 105, 0.5, 106, 107, 108, 109, 110, 111,
                              112, 113, 114),
                     16, "the callee saw a wrong argument");
    cr_expect_eq(leaves, 10);
    cr_expect_eq(seen_ok, 20, "chook_arg saw a wrong argument");
    cr_expect_eq(chook_detach(l), CHOOK_OK);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK);
}

static long call24(void)
{
    return p_args24(200, 0.25, 201, 0.5, 202, 0.75, 203, 1.0, 204, 1.25, 205, 1.5, 206, 1.75, 207,
                    2.0, 208, 2.25, 209, 2.5, 210, 211, 212, 213);
}

Test(stack, twenty_four_arguments_with_on_leave_and_no_signature)
{
    chook_listener *l = NULL;
    cr_assert_eq(chook_attach((void *)args24, check24, leave24, NULL, &l), CHOOK_OK);
    seen_ok = leaves = 0;
    uint64_t unwound0, mapped0, unwound, mapped;
    chook__icpt_window_stats(&unwound0, &mapped0);
    for (int i = 0; i < 10; i++) cr_assert_eq(call24(), 24, "the callee saw a wrong argument");
    cr_expect_eq(leaves, 10);
    cr_expect_eq(seen_ok, 20, "chook_arg saw a wrong argument");
    /* The caller's frame was found by its unwind information, once for the
     * call site (then cached). */
    chook__icpt_window_stats(&unwound, &mapped);
    cr_expect_eq(unwound - unwound0, 1, "unwound %lu mapped %lu", (unsigned long)(unwound - unwound0), (unsigned long)(mapped - mapped0));
    cr_expect_eq(mapped - mapped0, 0);
    cr_expect_eq(chook_detach(l), CHOOK_OK);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK);
}

Test(stack, twenty_four_arguments_with_a_signature_and_two_listeners)
{
    chook_attach_opts o = { .signature = "i,d,i,d,i,d,i,d,i,d,i,d,i,d,i,d,i,d,i,d,i,i,i,i->i" };
    chook_listener *l1 = NULL, *l2 = NULL;
    cr_assert_eq(chook_attach_ex((void *)args24, NULL, leave24_sig, NULL, &o, &l1), CHOOK_OK,
                 "%s", chook_last_error());
    cr_assert_eq(chook_attach((void *)args24, check24, leave24, NULL, &l2), CHOOK_OK);
    seen_ok = leaves = 0;
    for (int i = 0; i < 10; i++) cr_assert_eq(call24(), 24);
    cr_expect_eq(leaves, 20);
    cr_expect_eq(seen_ok, 30);
    cr_expect_eq(chook_detach(l1), CHOOK_OK);
    cr_expect_eq(chook_detach(l2), CHOOK_OK);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK);
}

/* A variadic function: the caller decides how many stack arguments. */
NOINLINE long sum_va(int n, ...)
{
    va_list ap;
    va_start(ap, n);
    long s = 0;
    for (int i = 0; i < n; i++) s += va_arg(ap, long);
    va_end(ap);
    return s;
}
static long (*volatile p_sum_va)(int, ...) = sum_va;

Test(stack, variadic_with_many_stack_arguments)
{
    chook_listener *l = NULL;
    cr_assert_eq(chook_attach((void *)sum_va, count_enter, count_leave, NULL, &l), CHOOK_OK);
    long s = p_sum_va(30, 1l, 2l, 3l, 4l, 5l, 6l, 7l, 8l, 9l, 10l, 11l, 12l, 13l, 14l, 15l, 16l,
                      17l, 18l, 19l, 20l, 21l, 22l, 23l, 24l, 25l, 26l, 27l, 28l, 29l, 30l);
    cr_expect_eq(s, 465);
    cr_expect_eq(chook_detach(l), CHOOK_OK);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK);
}

/* ---- regs ---------------------------------------------------------------------- */

static void regs_kept(chook_enter_fn on_enter, chook_leave_fn on_leave, int second)
{
    chook_listener *l = NULL, *l2 = NULL;
    cr_assert_eq(icpt_regs_check(icpt_regs_target, 41), 0, "the fixture itself");
    cr_assert_eq(chook_attach((void *)icpt_regs_target, on_enter, on_leave, NULL, &l), CHOOK_OK);
    if (second)
        cr_assert_eq(chook_attach((void *)icpt_regs_target, icpt_clobber_enter, icpt_clobber_leave,
                                  NULL, &l2),
                     CHOOK_OK);
    for (long i = 0; i < 10; i++) {
        unsigned long bad = icpt_regs_check(icpt_regs_target, i);
        cr_assert_eq(bad, 0, "registers not kept: mask 0x%lx", bad);
    }
    cr_expect_eq(chook_detach(l), CHOOK_OK);
    if (l2) cr_expect_eq(chook_detach(l2), CHOOK_OK);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK);
}

Test(regs, enter_only_listener_that_clobbers_everything)
{
    regs_kept(icpt_clobber_enter, NULL, 0);
}

Test(regs, enter_and_leave_listener_that_clobbers_everything)
{
    regs_kept(icpt_clobber_enter, icpt_clobber_leave, 0);
}

Test(regs, leave_only_listener_that_clobbers_everything)
{
    regs_kept(NULL, icpt_clobber_leave, 0);
}

Test(regs, two_listeners_the_general_path) { regs_kept(count_enter, count_leave, 1); }

static long (*regs_orig)(long);

static long clobbering_replacement(long x)
{
    icpt_clobber();
    return regs_orig(x);
}

Test(regs, keep_regs_replacement_keeps_every_register_but_the_return_ones)
{
    chook_hook *h = NULL;
    cr_assert_eq(chook_install_flags((void *)icpt_regs_target, (void *)clobbering_replacement,
                                     (void **)&regs_orig, &h, CHOOK_KEEP_REGS),
                 CHOOK_OK, "%s", chook_last_error());
    for (long i = 0; i < 10; i++) {
        unsigned long bad = icpt_regs_check(icpt_regs_target, i);
        /* rdx, xmm0 and xmm1 are return registers: the replacement's. */
        bad &= ~((1ul << 2) | (1ul << 16) | (1ul << 17));
        cr_assert_eq(bad, 0, "registers not kept: mask 0x%lx", bad);
    }
    cr_expect_eq(chook_remove(h), CHOOK_OK);
    /* Told it returns only rax: rdx, xmm0 and xmm1 are kept as well. */
    cr_assert_eq(chook_install_flags((void *)icpt_regs_target, (void *)clobbering_replacement,
                                     (void **)&regs_orig, &h,
                                     CHOOK_KEEP_REGS | CHOOK_KEEP_RET_INT),
                 CHOOK_OK, "%s", chook_last_error());
    for (long i = 0; i < 10; i++) {
        unsigned long bad = icpt_regs_check(icpt_regs_target, i);
        cr_assert_eq(bad, 0, "registers not kept: mask 0x%lx", bad);
    }
    cr_expect_eq(chook_remove(h), CHOOK_OK);
    cr_expect_eq(chook_install_flags((void *)icpt_regs_target, (void *)clobbering_replacement,
                                     NULL, NULL, 16),
                 CHOOK_EINVAL);
    cr_expect_eq(chook_install_flags((void *)icpt_regs_target, (void *)clobbering_replacement,
                                     NULL, NULL, CHOOK_KEEP_RET_INT),
                 CHOOK_EINVAL, "a return hint without CHOOK_KEEP_REGS");
}

static long closure_clobbering(long x)
{
    const chook_closure *c = chook_current();
    icpt_clobber();
    return ((long (*)(long))c->original)(x) + (long)(uintptr_t)c->data;
}

Test(regs, keep_regs_closure_keeps_every_register_but_the_return_ones)
{
    const chook_closure *c = NULL;
    cr_assert_eq(chook_replace_flags((void *)icpt_align_target, (void *)closure_clobbering,
                                     (void *)100, &c, CHOOK_KEEP_REGS),
                 CHOOK_OK, "%s", chook_last_error());
    long (*volatile f)(long) = icpt_align_target;
    cr_expect_eq(f(3), 107);
    cr_expect_eq(icpt_call_misaligned(icpt_align_target, 4), 109);
    cr_expect_eq(chook_remove(c->hook), CHOOK_OK);
    cr_expect_eq(f(3), 7);
}

/* tests/intercept_ipa/ipa_ra_prog.c, built with -O2 -fipa-ra */
long ipa_int_caller(long a, long b, long c, long d, long e, long f, double g, double h, double k,
                    double m);
long ipa_fp_caller(long a, long b, long c, long d, long e, long f, double g, double h, double k,
                   double m);
long ipa_wide_caller(const long *v);
void *ipa_leaf_addr(void);
void *ipa_fleaf_addr(void);

struct ipa_results {
    long i, f, w;
};

static struct ipa_results ipa_run(void)
{
    static const long v[8] = { 3, 5, 7, 11, 13, 17, 19, 23 };
    struct ipa_results r;
    r.i = ipa_int_caller(1, 2, 3, 4, 5, 6, 0.5, 1.5, 2.5, 3.5);
    r.f = ipa_fp_caller(7, 8, 9, 10, 11, 12, 4.5, 5.5, 6.5, 7.5);
    r.w = ipa_wide_caller(v);
    return r;
}

static void ipa_same(chook_enter_fn on_enter, chook_leave_fn on_leave)
{
    struct ipa_results plain = ipa_run();
    chook_listener *l1 = NULL, *l2 = NULL;
    cr_assert_eq(chook_attach(ipa_leaf_addr(), on_enter, on_leave, NULL, &l1), CHOOK_OK, "%s",
                 chook_last_error());
    cr_assert_eq(chook_attach(ipa_fleaf_addr(), on_enter, on_leave, NULL, &l2), CHOOK_OK, "%s",
                 chook_last_error());
    struct ipa_results hooked = ipa_run();
    cr_expect_eq(hooked.i, plain.i);
    cr_expect_eq(hooked.f, plain.f);
    cr_expect_eq(hooked.w, plain.w);
    cr_expect_eq(chook_detach(l1), CHOOK_OK);
    cr_expect_eq(chook_detach(l2), CHOOK_OK);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK);
}

Test(regs, ipa_ra_callers_enter_only) { ipa_same(icpt_clobber_enter, NULL); }
Test(regs, ipa_ra_callers_enter_and_leave) { ipa_same(icpt_clobber_enter, icpt_clobber_leave); }
Test(regs, ipa_ra_callers_empty_c_listeners) { ipa_same(count_enter, count_leave); }

static long (*ipa_leaf_orig)(long);
static long ipa_leaf_repl(long x)
{
    icpt_clobber();
    return ipa_leaf_orig(x);
}

Test(regs, ipa_ra_callers_keep_regs_replacement)
{
    struct ipa_results plain = ipa_run();
    chook_hook *h = NULL;
    cr_assert_eq(chook_install_flags(ipa_leaf_addr(), (void *)ipa_leaf_repl,
                                     (void **)&ipa_leaf_orig, &h,
                                     CHOOK_KEEP_REGS | CHOOK_KEEP_RET_INT),
                 CHOOK_OK, "%s", chook_last_error());
    struct ipa_results hooked = ipa_run();
    cr_expect_eq(hooked.i, plain.i);
    cr_expect_eq(hooked.w, plain.w);
    cr_expect_eq(chook_remove(h), CHOOK_OK);
}
