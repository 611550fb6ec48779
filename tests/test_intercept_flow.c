/*
 * Interception: control flow of listeners — skipping with a return value,
 * rewriting results of both classes, per-call data, ordering, nesting and
 * recursion, re-entrancy, attach/detach from callbacks, coexistence with
 * replacements, and bad input.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "chook.h"

#define NOINLINE __attribute__((noinline, noclone))

NOINLINE long add2(long a, long b)
{
    long r = a + b;
    __asm__ volatile("" : "+r"(r));
    return r;
}

NOINLINE double scale(double x, double k)
{
    double r = x * k;
    __asm__ volatile("" : "+x"(r));
    return r;
}

NOINLINE long fact(long n)
{
    long (*volatile self)(long) = fact;
    long r = n <= 1 ? 1 : n * self(n - 1);
    __asm__ volatile("" : "+r"(r));
    return r;
}

NOINLINE long outer(long x)
{
    long (*volatile inner)(long, long) = add2;
    long r = inner(x, 100) * 2;
    __asm__ volatile("" : "+r"(r));
    return r;
}

/* Returns rax and rdx: a 16-byte aggregate of the integer class. */
struct two { long a, b; };
NOINLINE struct two make_two(long a, long b)
{
    struct two t = { a * 2, b * 3 };
    __asm__ volatile("" : "+r"(t.a), "+r"(t.b));
    return t;
}

/* Returns xmm0 and xmm1: a 16-byte aggregate of the floating class. */
struct fpair { double x, y; };
NOINLINE struct fpair make_fpair(double x, double y)
{
    struct fpair p = { x * 2, y * 3 };
    __asm__ volatile("" : "+x"(p.x), "+x"(p.y));
    return p;
}

static long (*volatile p_add2)(long, long) = add2;
static double (*volatile p_scale)(double, double) = scale;
static long (*volatile p_fact)(long) = fact;
static long (*volatile p_outer)(long) = outer;
static struct two (*volatile p_make_two)(long, long) = make_two;
static struct fpair (*volatile p_make_fpair)(double, double) = make_fpair;

/* ---- skip ---- */

static int originals_run;
NOINLINE long counted(long a)
{
    originals_run++;
    long r = a + 1;
    __asm__ volatile("" : "+r"(r));
    return r;
}
static long (*volatile p_counted)(long) = counted;

struct log {
    char text[256];
    int enters, leaves;
};

static void log_put(struct log *g, const char *s)
{
    strncat(g->text, s, sizeof g->text - strlen(g->text) - 1);
}

static int skip_with_minus_one(chook_call *call, void *data)
{
    log_put(data, "E");
    return chook_skip(call, (uintptr_t)-1);
}

static void leave_sees_skip(chook_call *call, void *data)
{
    log_put(data, chook_call_skipped(call) ? "Ls" : "L");
    log_put(data, (long)*chook_retval(call) == -1 ? "=-1" : "=?");
}

Test(flow, skip_returns_the_chosen_value_and_on_leave_still_runs)
{
    struct log g = { "" };
    chook_listener *l;
    originals_run = 0;
    cr_assert_eq(chook_attach((void *)counted, skip_with_minus_one, leave_sees_skip, &g, &l),
                 CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(p_counted(5), -1);
    cr_expect_eq(originals_run, 0, "the original did not run");
    cr_expect_str_eq(g.text, "ELs=-1");
    cr_assert_eq(chook_detach(l), CHOOK_OK);
    cr_expect_eq(p_counted(5), 6);
    cr_expect_eq(originals_run, 1);
}

static int tag_a(chook_call *call, void *data)
{
    (void)call;
    log_put(data, "a");
    return CHOOK_CONTINUE;
}
static void tag_A(chook_call *call, void *data)
{
    (void)call;
    log_put(data, "A");
}
static int tag_b(chook_call *call, void *data)
{
    (void)call;
    log_put(data, "b");
    return CHOOK_CONTINUE;
}
static void tag_B(chook_call *call, void *data)
{
    (void)call;
    log_put(data, "B");
}
static int tag_c(chook_call *call, void *data)
{
    (void)call;
    log_put(data, "c");
    return CHOOK_CONTINUE;
}
static void tag_C(chook_call *call, void *data)
{
    (void)call;
    log_put(data, "C");
}

Test(flow, enter_runs_in_attach_order_and_leave_in_reverse)
{
    struct log g = { "" };
    chook_listener *a, *b, *c;
    cr_assert_eq(chook_attach((void *)add2, tag_a, tag_A, &g, &a), CHOOK_OK);
    cr_assert_eq(chook_attach((void *)add2, tag_b, tag_B, &g, &b), CHOOK_OK);
    cr_assert_eq(chook_attach((void *)add2, tag_c, tag_C, &g, &c), CHOOK_OK);
    cr_expect_eq(p_add2(1, 2), 3);
    cr_expect_str_eq(g.text, "abcCBA");
    cr_assert_eq(chook_detach(b), CHOOK_OK);
    g.text[0] = 0;
    cr_expect_eq(p_add2(1, 2), 3);
    cr_expect_str_eq(g.text, "acCA");
    cr_assert_eq(chook_detach(a), CHOOK_OK);
    cr_assert_eq(chook_detach(c), CHOOK_OK);
}

static int skip_b(chook_call *call, void *data)
{
    log_put(data, "b");
    return chook_skip(call, 77);
}

Test(flow, after_a_skip_later_enters_do_not_run_and_only_entered_listeners_leave)
{
    struct log g = { "" };
    chook_listener *a, *b, *c;
    cr_assert_eq(chook_attach((void *)add2, tag_a, tag_A, &g, &a), CHOOK_OK);
    cr_assert_eq(chook_attach((void *)add2, skip_b, tag_B, &g, &b), CHOOK_OK);
    cr_assert_eq(chook_attach((void *)add2, tag_c, tag_C, &g, &c), CHOOK_OK);
    cr_expect_eq(p_add2(1, 2), 77);
    cr_expect_str_eq(g.text, "abBA");
    cr_assert_eq(chook_detach(a), CHOOK_OK);
    cr_assert_eq(chook_detach(b), CHOOK_OK);
    cr_assert_eq(chook_detach(c), CHOOK_OK);
}

/* ---- return values ---- */

static void double_the_result(chook_call *call, void *data)
{
    (void)data;
    *chook_retval(call) *= 2;
}

Test(flow, on_leave_rewrites_an_integer_result)
{
    chook_listener *l;
    cr_assert_eq(chook_attach((void *)add2, NULL, double_the_result, NULL, &l), CHOOK_OK);
    cr_expect_eq(p_add2(20, 1), 42);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
    cr_expect_eq(p_add2(20, 1), 21);
}

static void negate_fp(chook_call *call, void *data)
{
    *(double *)data = *chook_retval_fp(call);
    *chook_retval_fp(call) = -*chook_retval_fp(call);
}

Test(flow, on_leave_rewrites_a_floating_result)
{
    double seen = 0;
    chook_listener *l;
    cr_assert_eq(chook_attach((void *)scale, NULL, negate_fp, &seen, &l), CHOOK_OK);
    cr_expect_eq(p_scale(1.5, 4.0), -6.0);
    cr_expect_eq(seen, 6.0);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
}

static int skip_fp(chook_call *call, void *data)
{
    (void)data;
    *chook_retval_fp(call) = 0.125;
    return CHOOK_SKIP;
}

Test(flow, skip_with_a_floating_result)
{
    chook_listener *l;
    cr_assert_eq(chook_attach((void *)scale, skip_fp, NULL, NULL, &l), CHOOK_OK);
    cr_expect_eq(p_scale(1.5, 4.0), 0.125);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
}

static void rewrite_two(chook_call *call, void *data)
{
    (void)data;
    *chook_retval(call) += 1;
    *chook_retval2(call) += 10;
}

Test(flow, both_integer_return_registers_are_rewritable)
{
    chook_listener *l;
    cr_assert_eq(chook_attach((void *)make_two, NULL, rewrite_two, NULL, &l), CHOOK_OK);
    struct two t = p_make_two(1, 2);
    cr_expect_eq(t.a, 3);
    cr_expect_eq(t.b, 16);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
}

static void rewrite_fpair(chook_call *call, void *data)
{
    (void)data;
    *chook_retval_fp(call) += 0.5;
    *chook_retval_fp2(call) += 10.0;
}

Test(flow, both_floating_return_registers_are_rewritable)
{
    chook_listener *l;
    cr_assert_eq(chook_attach((void *)make_fpair, NULL, rewrite_fpair, NULL, &l), CHOOK_OK,
                 "%s", chook_last_error());
    struct fpair p = p_make_fpair(1.0, 2.0);
    cr_expect_eq(p.x, 2.5);
    cr_expect_eq(p.y, 16.0);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
    p = p_make_fpair(1.0, 2.0);
    cr_expect_eq(p.x, 2.0);
    cr_expect_eq(p.y, 6.0);
}

/* ---- per-call data, nesting, recursion ---- */

struct depth_log {
    long args[16];
    long results[16];
    int n_enter, n_leave;
    int bad_data;
};

static int fact_enter(chook_call *call, void *data)
{
    struct depth_log *d = data;
    long n = (long)*chook_arg(call, 0);
    *chook_call_data(call) = (uint64_t)n; /* must come back to this call's leave */
    d->args[d->n_enter++ & 15] = n;
    return CHOOK_CONTINUE;
}

static void fact_leave(chook_call *call, void *data)
{
    struct depth_log *d = data;
    long n = (long)*chook_call_data(call);
    /* The arguments are as the call received them, even in recursion. */
    if ((long)*chook_arg(call, 0) != n) d->bad_data++;
    d->results[d->n_leave++ & 15] = (long)*chook_retval(call);
}

Test(flow, recursive_calls_each_get_their_own_context_and_data)
{
    struct depth_log d = { { 0 } };
    chook_listener *l;
    cr_assert_eq(chook_attach((void *)fact, fact_enter, fact_leave, &d, &l), CHOOK_OK);
    cr_expect_eq(p_fact(5), 120);
    cr_expect_eq(d.n_enter, 5);
    cr_expect_eq(d.n_leave, 5);
    cr_expect_eq(d.bad_data, 0);
    for (int i = 0; i < 5; i++) cr_expect_eq(d.args[i], 5 - i);
    static const long expect[] = { 1, 2, 6, 24, 120 }; /* innermost returns first */
    for (int i = 0; i < 5; i++) cr_expect_eq(d.results[i], expect[i]);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
}

static void add2_leave(chook_call *call, void *data)
{
    log_put(data, "i");
    *chook_retval(call) += 1;
}
static void outer_leave(chook_call *call, void *data)
{
    (void)call;
    log_put(data, "o");
}
static int outer_enter(chook_call *call, void *data)
{
    (void)call;
    log_put(data, "O");
    return CHOOK_CONTINUE;
}

Test(flow, nested_intercepted_calls_are_each_intercepted)
{
    struct log g = { "" };
    chook_listener *a, *b;
    cr_assert_eq(chook_attach((void *)outer, outer_enter, outer_leave, &g, &a), CHOOK_OK);
    cr_assert_eq(chook_attach((void *)add2, NULL, add2_leave, &g, &b), CHOOK_OK);
    cr_expect_eq(p_outer(1), (1 + 100 + 1) * 2);
    cr_expect_str_eq(g.text, "Oio");
    cr_assert_eq(chook_detach(a), CHOOK_OK);
    cr_assert_eq(chook_detach(b), CHOOK_OK);
    cr_expect_eq(chook_detach(b), CHOOK_ENOTHOOKED);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK);
}

/* ---- re-entrancy and ignoring a thread ---- */

static int calls_itself(chook_call *call, void *data)
{
    struct log *g = data;
    g->enters++;
    /* A callback calling the intercepted function: no listener runs for it. */
    long inner = p_add2(1000, 1000);
    *chook_arg(call, 0) += inner;
    return CHOOK_CONTINUE;
}

Test(flow, a_callback_calling_an_intercepted_function_does_not_reenter_listeners)
{
    struct log g = { "" };
    chook_listener *l;
    cr_assert_eq(chook_attach((void *)add2, calls_itself, NULL, &g, &l), CHOOK_OK);
    cr_expect_eq(p_add2(1, 2), 2003);
    cr_expect_eq(g.enters, 1);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
}

static int count_enter(chook_call *call, void *data)
{
    (void)call;
    ((struct log *)data)->enters++;
    return CHOOK_CONTINUE;
}

static void count_leave(chook_call *call, void *data)
{
    (void)call;
    ((struct log *)data)->leaves++;
}

Test(flow, an_ignored_thread_runs_functions_unobserved)
{
    struct log g = { "" };
    chook_listener *l;
    cr_assert_eq(chook_attach((void *)add2, count_enter, count_leave, &g, &l), CHOOK_OK);
    cr_assert_eq(chook_ignore_thread(1), CHOOK_OK);
    cr_expect_eq(p_add2(1, 2), 3);
    cr_expect_eq(g.enters, 0);
    cr_assert_eq(chook_ignore_thread(0), CHOOK_OK);
    cr_expect_eq(p_add2(1, 2), 3);
    cr_expect_eq(g.enters, 1);
    cr_expect_eq(g.leaves, 1);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
}

/* ---- attach and detach from callbacks ---- */

struct churn {
    chook_listener *self, *other;
    int enters, leaves, other_enters, other_leaves;
    int attach_status, detach_status;
};

static int other_enter(chook_call *call, void *data)
{
    (void)call;
    ((struct churn *)data)->other_enters++;
    return CHOOK_CONTINUE;
}
static void other_leave(chook_call *call, void *data)
{
    (void)call;
    ((struct churn *)data)->other_leaves++;
}

static int churn_enter(chook_call *call, void *data)
{
    (void)call;
    struct churn *c = data;
    c->enters++;
    if (!c->other)
        c->attach_status = chook_attach((void *)add2, other_enter, other_leave, c, &c->other);
    return CHOOK_CONTINUE;
}

static void churn_leave(chook_call *call, void *data)
{
    (void)call;
    struct churn *c = data;
    c->leaves++;
    if (c->enters == 2) c->detach_status = chook_detach(c->self); /* detach itself */
}

Test(flow, attach_and_detach_inside_callbacks_take_effect_from_the_next_call)
{
    struct churn c = { 0 };
    cr_assert_eq(chook_attach((void *)add2, churn_enter, churn_leave, &c, &c.self), CHOOK_OK);
    cr_expect_eq(p_add2(1, 1), 2); /* attaches `other`: this call does not see it */
    cr_expect_eq(c.attach_status, CHOOK_OK);
    cr_expect_eq(c.other_enters, 0);
    cr_expect_eq(c.other_leaves, 0);
    cr_expect_eq(p_add2(1, 1), 2); /* both run; churn detaches itself in its leave */
    cr_expect_eq(c.detach_status, CHOOK_OK);
    cr_expect_eq(c.other_enters, 1);
    cr_expect_eq(c.other_leaves, 1);
    cr_expect_eq(p_add2(1, 1), 2); /* only `other` */
    cr_expect_eq(c.enters, 2);
    cr_expect_eq(c.leaves, 2);
    cr_expect_eq(c.other_enters, 2);
    cr_assert_eq(chook_detach(c.other), CHOOK_OK);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK, "%s", chook_last_error());
}

static int many_enter(chook_call *call, void *data)
{
    (void)call;
    (*(int *)data)++;
    *chook_call_data(call) = (uint64_t)(uintptr_t)data;
    return CHOOK_CONTINUE;
}
static void many_leave(chook_call *call, void *data)
{
    if (*chook_call_data(call) == (uint64_t)(uintptr_t)data) (*(int *)data) += 1000;
}

Test(flow, many_listeners_each_with_their_own_call_data)
{
    enum { N = 40 };
    int counts[N] = { 0 };
    chook_listener *l[N];
    for (int i = 0; i < N; i++)
        cr_assert_eq(chook_attach((void *)add2, many_enter, many_leave, &counts[i], &l[i]),
                     CHOOK_OK);
    cr_expect_eq(p_add2(2, 3), 5);
    for (int i = 0; i < N; i++) cr_expect_eq(counts[i], 1001, "listener %d", i);
    for (int i = 0; i < N; i += 2) cr_assert_eq(chook_detach(l[i]), CHOOK_OK);
    cr_expect_eq(p_add2(2, 3), 5);
    for (int i = 0; i < N; i++) cr_expect_eq(counts[i], i % 2 ? 2002 : 1001, "listener %d", i);
    for (int i = 1; i < N; i += 2) cr_assert_eq(chook_detach(l[i]), CHOOK_OK);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK, "%s", chook_last_error());
}

Test(flow, a_function_takes_at_most_256_listeners)
{
    static chook_listener *l[257];
    struct log g = { "" };
    for (int n = 0; n < 256; n++)
        cr_assert_eq(chook_attach((void *)add2, count_enter, NULL, &g, &l[n]), CHOOK_OK,
                     "listener %d: %s", n, chook_last_error());
    cr_expect_eq(chook_attach((void *)add2, count_enter, NULL, &g, &l[256]), CHOOK_ENOTSUP);
    cr_expect(strstr(chook_last_error(), "256") != NULL, "%s", chook_last_error());
    cr_expect_eq(p_add2(1, 2), 3);
    cr_expect_eq(g.enters, 256, "every one of them runs");
    /* A place freed is a place to take. */
    cr_assert_eq(chook_detach(l[0]), CHOOK_OK);
    cr_assert_eq(chook_attach((void *)add2, count_enter, NULL, &g, &l[0]), CHOOK_OK);
    for (int i = 0; i < 256; i++) cr_assert_eq(chook_detach(l[i]), CHOOK_OK);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK, "%s", chook_last_error());
}

/* ---- with replacements ---- */

static long (*orig_add2)(long, long);
static long repl_add2(long a, long b) { return orig_add2(a, b) + 10; }

Test(flow, listeners_and_a_replacement_coexist_on_one_function)
{
    struct log g = { "" };
    chook_listener *l;
    chook_hook *h;
    cr_assert_eq(chook_install_ex((void *)add2, (void *)repl_add2, (void **)&orig_add2, &h),
                 CHOOK_OK);
    cr_assert_eq(chook_attach((void *)add2, count_enter, double_the_result, &g, &l), CHOOK_OK,
                 "%s", chook_last_error());
    /* The listeners' hook is newest: it sees the replacement's result. */
    cr_expect_eq(p_add2(1, 2), (3 + 10) * 2);
    cr_expect_eq(g.enters, 1);
    cr_assert_eq(chook_remove(h), CHOOK_OK);
    cr_expect_eq(p_add2(1, 2), 3 * 2);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
    cr_expect_eq(p_add2(1, 2), 3);
    chook_probe_info info;
    cr_assert_eq(chook_probe((void *)add2, &info), CHOOK_OK);
    cr_expect_eq(info.hooked, 0, "nothing hooks the target any more");
}

/* ---- what a callback can ask ---- */

struct where {
    void *target, *ret;
};
static int where_enter(chook_call *call, void *data)
{
    struct where *w = data;
    w->target = chook_call_target(call);
    w->ret = chook_call_return_address(call);
    return CHOOK_CONTINUE;
}

NOINLINE static void *call_add2_and_tell_where(void)
{
    p_add2(1, 1);
    return __builtin_return_address(0); /* unused; keeps a frame */
}

Test(flow, a_callback_knows_the_target_and_the_return_address)
{
    struct where w = { 0 };
    chook_listener *l;
    cr_assert_eq(chook_attach((void *)add2, where_enter, NULL, &w, &l), CHOOK_OK);
    call_add2_and_tell_where();
    cr_expect_eq(w.target, (void *)add2);
    uintptr_t ra = (uintptr_t)w.ret, fn = (uintptr_t)call_add2_and_tell_where;
    cr_expect(ra > fn && ra < fn + 256, "return address %p inside the caller %p", w.ret,
              (void *)fn);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
}

/* ---- bad input ---- */

Test(flow, bad_input_is_refused_and_changes_nothing)
{
    chook_listener *l = NULL;
    unsigned char before[16], after[16];
    memcpy(before, (void *)add2, sizeof before);
    cr_expect_eq(chook_attach(NULL, count_enter, NULL, NULL, &l), CHOOK_EINVAL);
    cr_expect_eq(chook_attach((void *)add2, NULL, NULL, NULL, &l), CHOOK_EINVAL);
    cr_expect(strstr(chook_last_error(), "on_enter") != NULL, "%s", chook_last_error());
    cr_expect_eq(chook_attach((void *)add2, count_enter, NULL, NULL, NULL), CHOOK_EINVAL);
    chook_attach_opts o = { .stack_bytes = 1u << 20 };
    cr_expect_eq(chook_attach_ex((void *)add2, count_enter, NULL, NULL, &o, &l), CHOOK_EINVAL);
    static const char data_not_code[64] = { 0 };
    cr_expect_eq(chook_attach((void *)data_not_code, count_enter, NULL, NULL, &l),
                 CHOOK_ENOTEXEC);
    cr_expect_null(l);
    cr_expect_eq(chook_detach(NULL), CHOOK_EINVAL);
    memcpy(after, (void *)add2, sizeof after);
    cr_expect_arr_eq(before, after, sizeof before);
}

Test(flow, detaching_twice_is_refused)
{
    chook_listener *a, *b;
    cr_assert_eq(chook_attach((void *)add2, count_enter, NULL, NULL, &a), CHOOK_OK);
    cr_assert_eq(chook_attach((void *)add2, count_enter, NULL, NULL, &b), CHOOK_OK);
    cr_assert_eq(chook_detach(a), CHOOK_OK);
    /* The record stays valid until chook_detach_wait(). */
    cr_expect_eq(chook_detach(a), CHOOK_ENOTHOOKED);
    cr_assert_eq(chook_detach(b), CHOOK_OK);
    cr_expect_eq(chook_detach(b), CHOOK_ENOTHOOKED);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK);
}

Test(flow, attaching_inside_an_open_transaction_waits_for_the_commit)
{
    struct log g = { "" };
    chook_listener *l = NULL;
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    cr_assert_eq(chook_attach((void *)add2, count_enter, NULL, &g, &l), CHOOK_OK, "%s",
                 chook_last_error());
    cr_expect_not_null(l);
    cr_expect_eq(p_add2(1, 2), 3);
    cr_expect_eq(g.enters, 0, "not attached before the commit");
    cr_assert_eq(chook_transaction_commit(), CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(p_add2(1, 2), 3);
    cr_expect_eq(g.enters, 1);
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    cr_assert_eq(chook_detach(l), CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(p_add2(1, 2), 3);
    cr_expect_eq(g.enters, 2, "still attached until the commit");
    cr_assert_eq(chook_transaction_abort(), CHOOK_OK);
    cr_expect_eq(p_add2(1, 2), 3);
    cr_expect_eq(g.enters, 3, "the abort kept it");
    cr_expect_eq(chook_detach(l), CHOOK_OK);
    cr_expect_eq(p_add2(1, 2), 3);
    cr_expect_eq(g.enters, 3);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK);
}

static long add2_plus_100(long a, long b) { return a + b + 100; }

Test(flow, uninstall_of_the_target_removes_replacements_but_not_listeners)
{
    struct log g = { "" };
    chook_listener *a;
    cr_assert_eq(chook_attach((void *)add2, count_enter, NULL, &g, &a), CHOOK_OK);
    /* Only listeners: there is no replacement to remove. */
    cr_assert_eq(chook_uninstall((void *)add2), CHOOK_ENOTHOOKED);
    g.enters = 0;
    cr_expect_eq(p_add2(1, 2), 3);
    cr_expect_eq(g.enters, 1);
    /* A replacement beside the listener: uninstall takes the replacement only. */
    cr_assert_eq(chook_install((void *)add2, (void *)add2_plus_100, NULL), CHOOK_OK);
    g.enters = 0;
    cr_expect_eq(p_add2(1, 2), 103);
    cr_assert_eq(chook_uninstall((void *)add2), CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(p_add2(1, 2), 3);
    cr_expect_eq(g.enters, 1, "the listener stopped running");
    cr_assert_eq(chook_detach(a), CHOOK_OK);
    chook_probe_info info;
    cr_assert_eq(chook_probe((void *)add2, &info), CHOOK_OK);
    cr_expect_eq(info.hooked, 0);
}
