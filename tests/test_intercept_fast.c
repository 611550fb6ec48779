/*
 * The dispatcher's single-listener fast path (intercept.S): a target with
 * exactly one listener is dispatched without the C glue. These tests hold it to
 * the same rules as the general path: every listener shape, pairing while the
 * listener comes and goes under concurrent calls, detach guarantees, calls
 * nested deeper than the in-flight records, longjmp repair, and the switch
 * between the fast and the general path in the middle of a call.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chook.h"
#include "intercept.h"

#define NOINLINE __attribute__((noinline, noclone))

NOINLINE long fwork(long x)
{
    long r = x * 3 + 1;
    __asm__ volatile("" : "+r"(r));
    return r;
}
static long (*volatile p_fwork)(long) = fwork;

NOINLINE long mixed(long a, double b)
{
    long r = a + (long)(b * 10);
    __asm__ volatile("" : "+r"(r));
    return r;
}
static long (*volatile p_mixed)(long, double) = mixed;

static int stress_long(void)
{
    const char *v = getenv("CHOOK_STRESS");
    return v && strcmp(v, "long") == 0;
}

static uint32_t my_depth(void)
{
    return chook__ithread_tls ? chook__ithread_tls->depth : 0;
}

/* ---- each shape of a single listener ---- */

static int double_first_arg(chook_call *call, void *data)
{
    (void)data;
    *chook_arg(call, 0) *= 2;
    return CHOOK_CONTINUE;
}

static int keep_arg(chook_call *call, void *data)
{
    (void)data;
    *chook_call_data(call) = *chook_arg(call, 0) + 1000;
    return CHOOK_CONTINUE;
}

static void check_kept_arg(chook_call *call, void *data)
{
    long *seen = data;
    *seen = (long)*chook_call_data(call);
    *chook_retval(call) += 1;
}

static void add_second_arg_by_signature(chook_call *call, void *data)
{
    (void)data;
    /* With "i,d->i" the second positional argument is the double in xmm0. */
    *chook_retval(call) += (long)*(double *)chook_arg_at(call, 1);
}

Test(fast, a_single_listener_of_each_shape_sees_arguments_result_and_call_data)
{
    chook_listener *l;
    long seen = 0;

    /* enter only: rewrites what the original receives */
    cr_assert_eq(chook_attach((void *)fwork, double_first_arg, NULL, NULL, &l), CHOOK_OK, "%s",
                 chook_last_error());
    cr_expect_eq(p_fwork(5), 31, "the original got 10");
    cr_assert_eq(chook_detach(l), CHOOK_OK);

    /* enter and leave: per-call data from enter to leave, result rewritten */
    cr_assert_eq(chook_attach((void *)fwork, keep_arg, check_kept_arg, &seen, &l), CHOOK_OK);
    cr_expect_eq(p_fwork(5), 17);
    cr_expect_eq(seen, 1005, "on_leave got the data its on_enter stored");
    cr_assert_eq(chook_detach(l), CHOOK_OK);

    /* leave only, with a signature: the leave step sees the listener's signature */
    chook_attach_opts o = { .signature = "i,d->i" };
    cr_assert_eq(chook_attach_ex((void *)mixed, NULL, add_second_arg_by_signature, NULL, &o, &l),
                 CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(p_mixed(1, 2.5), 1 + 25 + 2);
    cr_assert_eq(chook_detach(l), CHOOK_OK);

    cr_expect_eq(p_fwork(5), 16, "detached: the plain original");
    cr_expect_eq(my_depth(), 0u, "no call left in flight");
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK, "%s", chook_last_error());
}

/* ---- one listener at a time, attached and detached while threads call ---- */

struct count {
    atomic_long enters, leaves, bad, after_detach;
    atomic_int detached;
};

static int count_enter(chook_call *call, void *data)
{
    struct count *c = data;
    if (atomic_load(&c->detached)) atomic_fetch_add(&c->after_detach, 1);
    atomic_fetch_add(&c->enters, 1);
    *chook_call_data(call) = *chook_arg(call, 0) ^ 0x3c3c;
    return CHOOK_CONTINUE;
}

static void count_leave(chook_call *call, void *data)
{
    struct count *c = data;
    atomic_fetch_add(&c->leaves, 1);
    long x = (long)(*chook_call_data(call) ^ 0x3c3c);
    if ((long)*chook_retval(call) != x * 3 + 1 || (long)*chook_arg(call, 0) != x)
        atomic_fetch_add(&c->bad, 1);
}

static void leave_only(chook_call *call, void *data)
{
    struct count *c = data;
    atomic_fetch_add(&c->leaves, 1);
    long x = (long)*chook_arg(call, 0);
    if ((long)*chook_retval(call) != x * 3 + 1) atomic_fetch_add(&c->bad, 1);
}

static atomic_int stop;
static atomic_long wrong, calls;

static void *call_loop(void *arg)
{
    long seed = (long)(intptr_t)arg;
    while (!atomic_load(&stop)) {
        for (long i = 0; i < 64; i++)
            if (p_fwork(seed + i) != (seed + i) * 3 + 1) atomic_fetch_add(&wrong, 1);
        atomic_fetch_add(&calls, 64);
    }
    return NULL;
}

static int attach_shape(int s, struct count *c, chook_listener **l)
{
    atomic_store(&c->detached, 0);
    return s == 0   ? chook_attach((void *)fwork, count_enter, count_leave, c, l)
           : s == 1 ? chook_attach((void *)fwork, count_enter, NULL, c, l)
                    : chook_attach((void *)fwork, NULL, leave_only, c, l);
}

/* The single listener is replaced while threads call: {A} -> {A,B} -> {B} ->
 * {B,C} -> {C} ..., so calls keep switching between the fast path (a set of
 * one) and the general one, and each fast-path listener is detached while
 * calls that loaded its set of one may still be running. The target stays
 * hooked throughout. */
Test(fast, the_single_listener_is_replaced_while_four_threads_call, .timeout = 120)
{
    enum { CALLERS = 4, SHAPES = 3 };
    const int rounds = stress_long() ? 100000 : 3000;
    /* Per shape: enter and leave, enter only, leave only. */
    static struct count c[SHAPES];
    chook_listener *cur;
    cr_assert_eq(attach_shape(0, &c[0], &cur), CHOOK_OK, "%s", chook_last_error());
    pthread_t th[CALLERS];
    for (long i = 0; i < CALLERS; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, call_loop, (void *)(i * 100000)), 0);
    for (int r = 1; r <= rounds; r++) {
        int s = r % SHAPES, prev = (r - 1) % SHAPES;
        chook_listener *next;
        cr_assert_eq(attach_shape(s, &c[s], &next), CHOOK_OK, "%s", chook_last_error());
        cr_assert_eq(chook_detach(cur), CHOOK_OK, "%s", chook_last_error());
        /* Enter callbacks that started before detach returned have finished;
         * a late one counts itself from now on. */
        atomic_store(&c[prev].detached, 1);
        cur = next;
        /* Let calls run on the new set of one for a moment. */
        long until = atomic_load(&calls) + 64;
        for (int k = 0; k < 20000 && atomic_load(&calls) < until; k++) __builtin_ia32_pause();
        if (r % 500 == 0)
            cr_assert_eq(chook_detach_wait(5000), CHOOK_OK, "%s", chook_last_error());
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < CALLERS; i++) pthread_join(th[i], NULL);
    cr_assert_eq(chook_detach(cur), CHOOK_OK);
    cr_assert_eq(chook_detach_wait(5000), CHOOK_OK, "%s", chook_last_error());

    cr_expect_eq(chook__icpt_retired_count(), 0, "every replaced listener set was freed");
    cr_expect_eq(atomic_load(&wrong), 0, "every call returned the original's result");
    cr_expect_gt(atomic_load(&calls), 0);
    cr_expect_gt(atomic_load(&c[0].enters), 0);
    cr_expect_gt(atomic_load(&c[1].enters), 0);
    cr_expect_gt(atomic_load(&c[2].leaves), 0);
    cr_expect_eq(atomic_load(&c[0].enters), atomic_load(&c[0].leaves),
                 "every entered call was left: %ld enters, %ld leaves",
                 atomic_load(&c[0].enters), atomic_load(&c[0].leaves));
    cr_expect_eq(atomic_load(&c[0].bad) + atomic_load(&c[2].bad), 0,
                 "each leave saw its own call's data and result");
    for (int s = 0; s < SHAPES; s++)
        cr_expect_eq(atomic_load(&c[s].after_detach), 0,
                     "an on_enter of shape %d started after detach returned", s);
}

/* Sets of one and of none: detaching the only listener takes the target's hook
 * out, the next attach puts it back, while threads keep calling. Each change
 * stops the world, so fewer rounds. */
Test(fast, the_only_listener_is_detached_and_another_attached_while_four_threads_call,
     .timeout = 120)
{
    enum { CALLERS = 4, SHAPES = 3 };
    const int rounds = stress_long() ? 2000 : 60;
    static struct count c[SHAPES];
    pthread_t th[CALLERS];
    for (long i = 0; i < CALLERS; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, call_loop, (void *)(i * 100000)), 0);
    for (int r = 0; r < rounds; r++) {
        int s = r % SHAPES;
        chook_listener *l;
        cr_assert_eq(attach_shape(s, &c[s], &l), CHOOK_OK, "%s", chook_last_error());
        long until = atomic_load(&calls) + 256;
        for (int k = 0; k < 200000 && atomic_load(&calls) < until; k++) __builtin_ia32_pause();
        cr_assert_eq(chook_detach(l), CHOOK_OK, "%s", chook_last_error());
        atomic_store(&c[s].detached, 1);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < CALLERS; i++) pthread_join(th[i], NULL);
    cr_assert_eq(chook_detach_wait(5000), CHOOK_OK, "%s", chook_last_error());

    cr_expect_eq(chook__icpt_retired_count(), 0, "every replaced listener set was freed");
    cr_expect_eq(atomic_load(&wrong), 0, "every call returned the original's result");
    cr_expect_gt(atomic_load(&c[0].enters), 0);
    cr_expect_eq(atomic_load(&c[0].enters), atomic_load(&c[0].leaves),
                 "every entered call was left: %ld enters, %ld leaves",
                 atomic_load(&c[0].enters), atomic_load(&c[0].leaves));
    cr_expect_eq(atomic_load(&c[0].bad) + atomic_load(&c[2].bad), 0);
    for (int s = 0; s < SHAPES; s++)
        cr_expect_eq(atomic_load(&c[s].after_detach), 0,
                     "an on_enter of shape %d started after detach returned", s);
}

/* ---- deeper than the in-flight records ---- */

#define DEEP (CHOOK__ICPT_INFLIGHT + 36)

static long (*volatile p_recurse)(long);
NOINLINE long recurse(long n)
{
    long r = n > 0 ? p_recurse(n - 1) + 1 : 0;
    __asm__ volatile("" : "+r"(r));
    return r;
}

static atomic_long deep_bad, deep_leaves;
static int deep_enter(chook_call *call, void *data)
{
    (void)data;
    *chook_call_data(call) = *chook_arg(call, 0);
    return CHOOK_CONTINUE;
}
static void deep_leave(chook_call *call, void *data)
{
    (void)data;
    atomic_fetch_add(&deep_leaves, 1);
    long n = (long)*chook_call_data(call);
    if ((long)*chook_arg(call, 0) != n || (long)*chook_retval(call) != n)
        atomic_fetch_add(&deep_bad, 1);
}

Test(fast, calls_nested_deeper_than_the_in_flight_records_are_each_paired)
{
    chook_listener *l;
    p_recurse = recurse;
    cr_assert_eq(chook_attach((void *)recurse, deep_enter, deep_leave, NULL, &l), CHOOK_OK);
    cr_expect_eq(p_recurse(DEEP), DEEP);
    cr_expect_eq(atomic_load(&deep_leaves), DEEP + 1);
    cr_expect_eq(atomic_load(&deep_bad), 0, "each level kept its own data and result");
    cr_expect_eq(my_depth(), 0u, "every record was given back");
    cr_assert_eq(chook_detach(l), CHOOK_OK);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK, "%s", chook_last_error());
}

/* ---- longjmp out of a fast-path call ---- */

static jmp_buf escape;
NOINLINE long jumps_out(long x)
{
    if (x < 0) longjmp(escape, 1);
    long r = x + 1;
    __asm__ volatile("" : "+r"(r));
    return r;
}
static long (*volatile p_jumps_out)(long) = jumps_out;

static atomic_long jo_enters, jo_leaves;
static int jo_enter(chook_call *call, void *data)
{
    (void)call, (void)data;
    atomic_fetch_add(&jo_enters, 1);
    return CHOOK_CONTINUE;
}
static void jo_leave(chook_call *call, void *data)
{
    (void)call, (void)data;
    atomic_fetch_add(&jo_leaves, 1);
}

Test(fast, a_call_left_by_longjmp_is_repaired_at_the_next_call)
{
    chook_listener *l;
    cr_assert_eq(chook_attach((void *)jumps_out, jo_enter, jo_leave, NULL, &l), CHOOK_OK);
    for (int round = 0; round < 3; round++) {
        if (setjmp(escape) == 0) {
            p_jumps_out(-1);
            cr_assert_fail("the original did not jump out");
        }
        cr_expect_eq(my_depth(), 1u, "the abandoned call is still recorded");
        cr_expect_eq(p_jumps_out(1), 2, "the next call is intercepted normally");
        cr_expect_eq(my_depth(), 0u, "and it dropped the abandoned record");
    }
    cr_expect_eq(atomic_load(&jo_enters), 6);
    cr_expect_eq(atomic_load(&jo_leaves), 3, "only the calls that returned were left");
    cr_assert_eq(chook_detach(l), CHOOK_OK);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK, "%s", chook_last_error());
}

/* ---- switching between the fast and the general path ---- */

struct log {
    char text[64];
};
static void log_put(struct log *g, const char *s)
{
    strncat(g->text, s, sizeof g->text - strlen(g->text) - 1);
}

static struct log trace;
static chook_listener *second;

static int tag_b(chook_call *call, void *data)
{
    (void)call, (void)data;
    log_put(&trace, "b");
    return CHOOK_CONTINUE;
}
static void tag_B(chook_call *call, void *data)
{
    (void)call, (void)data;
    log_put(&trace, "B");
}
static int tag_a_attaching_b(chook_call *call, void *data)
{
    (void)call, (void)data;
    log_put(&trace, "a");
    if (!second) chook_attach((void *)fwork, tag_b, tag_B, NULL, &second);
    return CHOOK_CONTINUE;
}
static void tag_A(chook_call *call, void *data)
{
    (void)call, (void)data;
    log_put(&trace, "A");
}

Test(fast, a_listener_attached_during_a_single_listener_call_sees_only_later_calls)
{
    chook_listener *l;
    cr_assert_eq(chook_attach((void *)fwork, tag_a_attaching_b, tag_A, NULL, &l), CHOOK_OK);
    cr_expect_eq(p_fwork(1), 4);
    cr_assert_not_null(second, "%s", chook_last_error());
    cr_expect_str_eq(trace.text, "aA", "the call in flight kept its set of one");
    cr_expect_eq(p_fwork(1), 4);
    cr_expect_str_eq(trace.text, "aAabBA", "the next call runs both, in order");
    cr_assert_eq(chook_detach(second), CHOOK_OK);
    cr_expect_eq(p_fwork(1), 4);
    cr_expect_str_eq(trace.text, "aAabBAaA", "back to one listener");
    cr_assert_eq(chook_detach(l), CHOOK_OK);
    cr_expect_eq(my_depth(), 0u);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK, "%s", chook_last_error());
}

static int skip_42(chook_call *call, void *data)
{
    (void)data;
    return chook_skip(call, 42);
}
static void leave_sees_skip(chook_call *call, void *data)
{
    struct log *g = data;
    log_put(g, chook_call_skipped(call) ? "s" : "n");
    *chook_retval(call) += 1;
}

Test(fast, readers_that_must_fence_take_the_general_path_with_the_same_results)
{
    /* As on a system without membarrier: the fast path steps aside. */
    __atomic_store_n(&chook__icpt_reader_fence, 1, __ATOMIC_SEQ_CST);
    struct log g = { "" };
    long seen = 0;
    chook_listener *l;
    cr_assert_eq(chook_attach((void *)fwork, keep_arg, check_kept_arg, &seen, &l), CHOOK_OK);
    cr_expect_eq(p_fwork(5), 17);
    cr_expect_eq(seen, 1005);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
    cr_assert_eq(chook_attach((void *)fwork, skip_42, leave_sees_skip, &g, &l), CHOOK_OK);
    cr_expect_eq(p_fwork(5), 43, "skipped, and the leave step rewrote the value");
    cr_expect_str_eq(g.text, "s");
    cr_assert_eq(chook_detach(l), CHOOK_OK);
    cr_expect_eq(my_depth(), 0u);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK, "%s", chook_last_error());
}

Test(fast, a_skip_in_the_fast_path_runs_the_leave_step_without_the_original)
{
    struct log g = { "" };
    chook_listener *l;
    cr_assert_eq(chook_attach((void *)fwork, skip_42, leave_sees_skip, &g, &l), CHOOK_OK);
    cr_expect_eq(p_fwork(5), 43);
    cr_expect_str_eq(g.text, "s", "on_leave ran and saw the skip");
    cr_expect_eq(my_depth(), 0u);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK, "%s", chook_last_error());
}
