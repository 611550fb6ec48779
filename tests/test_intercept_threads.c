/*
 * Interception under concurrency and signals: threads calling while listeners
 * are attached and detached, what detach guarantees, waiting for detached
 * callbacks, and signal handlers calling intercepted functions.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chook.h"
#include "intercept.h"

#define NOINLINE __attribute__((noinline, noclone))

NOINLINE long work(long x)
{
    long r = x * 3 + 1;
    __asm__ volatile("" : "+r"(r));
    return r;
}

NOINLINE long other_work(long x)
{
    long r = x * 5 + 2;
    __asm__ volatile("" : "+r"(r));
    return r;
}

static long (*volatile p_work)(long) = work;
static long (*volatile p_other)(long) = other_work;

static int stress_long(void)
{
    const char *v = getenv("CHOOK_STRESS");
    return v && strcmp(v, "long") == 0;
}

/* ---- 4 threads calling while listeners come and go ---- */

struct pairing {
    atomic_long enters, leaves, bad_data, bad_result;
};

static int pair_enter(chook_call *call, void *data)
{
    struct pairing *p = data;
    atomic_fetch_add(&p->enters, 1);
    /* Per-call data carries the argument to this call's leave. */
    *chook_call_data(call) = *chook_arg(call, 0) ^ 0x5a5a;
    return CHOOK_CONTINUE;
}

static void pair_leave(chook_call *call, void *data)
{
    struct pairing *p = data;
    atomic_fetch_add(&p->leaves, 1);
    long x = (long)(*chook_call_data(call) ^ 0x5a5a);
    if ((long)*chook_arg(call, 0) != x) atomic_fetch_add(&p->bad_data, 1);
    if ((long)*chook_retval(call) != x * 3 + 1) atomic_fetch_add(&p->bad_result, 1);
}

static atomic_int stop_callers;
static atomic_long wrong_results, total_calls;

static void *caller(void *arg)
{
    long seed = (long)(intptr_t)arg;
    while (!atomic_load(&stop_callers)) {
        for (int i = 0; i < 64; i++) {
            long x = seed + i;
            if (p_work(x) != x * 3 + 1) atomic_fetch_add(&wrong_results, 1);
        }
        atomic_fetch_add(&total_calls, 64);
    }
    return NULL;
}

Test(threads, four_threads_call_while_listeners_are_attached_and_detached, .timeout = 1800)
{
    enum { CALLERS = 4 };
    const int rounds = stress_long() ? 200000 : 10000;
    struct pairing steady = { 0 }, churn = { 0 };
    chook_listener *base, *l;
    /* A steady listener keeps the target hooked: attach/detach then only swap
     * listener sets, which is what this test stresses. */
    cr_assert_eq(chook_attach((void *)work, pair_enter, pair_leave, &steady, &base), CHOOK_OK,
                 "%s", chook_last_error());
    pthread_t th[CALLERS];
    for (long i = 0; i < CALLERS; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, caller, (void *)(i * 1000)), 0);
    for (int r = 0; r < rounds; r++) {
        cr_assert_eq(chook_attach((void *)work, pair_enter, pair_leave, &churn, &l), CHOOK_OK,
                     "%s", chook_last_error());
        cr_assert_eq(chook_detach(l), CHOOK_OK, "%s", chook_last_error());
        if (r % 1000 == 999)
            cr_assert_eq(chook_detach_wait(5000), CHOOK_OK, "%s", chook_last_error());
    }
    atomic_store(&stop_callers, 1);
    for (int i = 0; i < CALLERS; i++) pthread_join(th[i], NULL);
    cr_assert_eq(chook_detach(base), CHOOK_OK);
    cr_assert_eq(chook_detach_wait(5000), CHOOK_OK, "%s", chook_last_error());

    cr_expect_eq(chook__icpt_retired_count(), 0, "every replaced listener set was freed");
    cr_expect_eq(atomic_load(&wrong_results), 0);
    cr_expect_gt(atomic_load(&total_calls), 0);
    /* Every enter was paired with its leave, for both listeners. */
    cr_expect_eq(atomic_load(&steady.enters), atomic_load(&steady.leaves));
    cr_expect_eq(atomic_load(&churn.enters), atomic_load(&churn.leaves));
    cr_expect_eq(atomic_load(&steady.bad_data) + atomic_load(&churn.bad_data), 0);
    cr_expect_eq(atomic_load(&steady.bad_result) + atomic_load(&churn.bad_result), 0);
    /* The steady listener saw every call made while it was attached. */
    cr_expect_geq(atomic_load(&steady.enters), atomic_load(&total_calls));
}

/* ---- what detach guarantees ---- */

struct gate {
    atomic_int entered, release, after_detach, leaves;
    atomic_int detached;
};

static int gate_enter(chook_call *call, void *data)
{
    (void)call;
    struct gate *g = data;
    if (atomic_load(&g->detached)) atomic_fetch_add(&g->after_detach, 1);
    atomic_fetch_add(&g->entered, 1);
    return CHOOK_CONTINUE;
}

static void gate_leave(chook_call *call, void *data)
{
    (void)call;
    struct gate *g = data;
    atomic_fetch_add(&g->leaves, 1);
}

NOINLINE long blocking(struct gate *g)
{
    while (!atomic_load(&g->release)) usleep(1000);
    return 7;
}
static long (*volatile p_blocking)(struct gate *) = blocking;

static void *call_blocking(void *arg)
{
    return (void *)(intptr_t)p_blocking(arg);
}

static void *hammer(void *arg)
{
    struct gate *g = arg;
    while (!atomic_load(&g->release)) p_work(1);
    return NULL;
}

Test(threads, no_on_enter_starts_after_detach_returns_and_wait_covers_pending_leaves)
{
    struct gate g = { 0 };
    chook_listener *lb, *lw;
    cr_assert_eq(chook_attach((void *)blocking, gate_enter, gate_leave, &g, &lb), CHOOK_OK);
    cr_assert_eq(chook_attach((void *)work, gate_enter, NULL, &g, &lw), CHOOK_OK);
    pthread_t t1, t2;
    cr_assert_eq(pthread_create(&t1, NULL, call_blocking, &g), 0);
    cr_assert_eq(pthread_create(&t2, NULL, hammer, &g), 0);
    while (atomic_load(&g.entered) < 10) usleep(100);

    cr_assert_eq(chook_detach(lw), CHOOK_OK);
    cr_assert_eq(chook_detach(lb), CHOOK_OK);
    atomic_store(&g.detached, 1);
    usleep(20000);
    cr_expect_eq(atomic_load(&g.after_detach), 0, "an on_enter started after detach returned");

    /* t1 is inside blocking(): its on_leave is still owed, so the wait times out. */
    cr_expect_eq(chook_detach_wait(50), CHOOK_EBUSY);
    cr_expect(strstr(chook_last_error(), "thread") != NULL, "%s", chook_last_error());
    cr_expect_eq(atomic_load(&g.leaves), 0);

    atomic_store(&g.release, 1);
    void *r;
    pthread_join(t1, &r);
    pthread_join(t2, NULL);
    cr_expect_eq((long)(intptr_t)r, 7);
    cr_expect_eq(atomic_load(&g.leaves), 1, "the entered call was completed");
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK, "%s", chook_last_error());
}

static int wait_inside(chook_call *call, void *data)
{
    (void)call;
    chook_listener **self = data;
    chook_detach(*self);
    return chook_detach_wait(10) == CHOOK_EBUSY ? CHOOK_CONTINUE : CHOOK_SKIP;
}

Test(threads, waiting_from_inside_a_callback_of_a_detached_listener_is_refused)
{
    chook_listener *l;
    cr_assert_eq(chook_attach((void *)work, wait_inside, NULL, &l, &l), CHOOK_OK);
    cr_expect_eq(p_work(1), 4, "the wait inside returned CHOOK_EBUSY");
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK, "%s", chook_last_error());
}

/* ---- signals ---- */

struct sigtrace {
    char text[64];
    atomic_int n;
};
static struct sigtrace trace;
static volatile long handler_got;

static void put(char c)
{
    int i = atomic_fetch_add(&trace.n, 1);
    if (i < 63) trace.text[i] = c;
}

static int trace_enter(chook_call *call, void *data)
{
    put(*(char *)data);
    (void)call;
    return CHOOK_CONTINUE;
}

static void trace_leave(chook_call *call, void *data)
{
    (void)call;
    put((char)(*(char *)data - 'a' + 'A'));
}

static void handler(int sig)
{
    (void)sig;
    handler_got = p_other(10);
}

NOINLINE long raising(long x)
{
    raise(SIGUSR2); /* inside the original of an intercepted call */
    long r = x + 1;
    __asm__ volatile("" : "+r"(r));
    return r;
}
static long (*volatile p_raising)(long) = raising;

Test(threads, a_signal_handler_calls_an_intercepted_function_inside_another_intercepted_call)
{
    static char a = 'a', b = 'b';
    chook_listener *la, *lb;
    struct sigaction sa = { .sa_handler = handler };
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGUSR2, &sa, NULL), 0);
    cr_assert_eq(chook_attach((void *)raising, trace_enter, trace_leave, &a, &la), CHOOK_OK);
    cr_assert_eq(chook_attach((void *)other_work, trace_enter, trace_leave, &b, &lb), CHOOK_OK);
    cr_expect_eq(p_raising(1), 2);
    cr_expect_eq(handler_got, 52);
    cr_expect_str_eq(trace.text, "abBA", "the handler's call is intercepted, nested");
    cr_expect_eq(p_other(1), 7, "and afterwards everything is consistent");
    cr_expect_str_eq(trace.text, "abBAbB");
    cr_assert_eq(chook_detach(la), CHOOK_OK);
    cr_assert_eq(chook_detach(lb), CHOOK_OK);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK, "%s", chook_last_error());
}

/* A timer signal firing at random points of dispatch, its handler calling an
 * intercepted function, while the thread calls intercepted functions. */
static atomic_long timer_calls;
static void timer_handler(int sig)
{
    (void)sig;
    if (p_work(2) == 7) atomic_fetch_add(&timer_calls, 1);
}

Test(threads, signals_at_random_points_of_dispatch_keep_every_call_paired)
{
    struct pairing p = { 0 };
    chook_listener *l;
    struct sigaction sa = { .sa_handler = timer_handler };
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGALRM, &sa, NULL), 0);
    cr_assert_eq(chook_attach((void *)work, pair_enter, pair_leave, &p, &l), CHOOK_OK);
    struct itimerval it = { { 0, 200 }, { 0, 200 } };
    cr_assert_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
    long bad = 0;
    const long n = stress_long() ? 50000000 : 2000000;
    for (long i = 0; i < n; i++)
        if (p_work(i) != i * 3 + 1) bad++;
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
    cr_expect_eq(bad, 0);
    cr_expect_gt(atomic_load(&timer_calls), 0, "the handler ran");
    cr_expect_eq(atomic_load(&p.enters), atomic_load(&p.leaves));
    /* Every call of the loop was intercepted; a handler's call was too unless the
     * signal interrupted a callback (then it bypasses listeners, by the
     * re-entrancy rule). */
    cr_expect_geq(atomic_load(&p.enters), n);
    cr_expect_leq(atomic_load(&p.enters), n + atomic_load(&timer_calls), "%ld > %ld + %ld",
                  atomic_load(&p.enters), n, atomic_load(&timer_calls));
    cr_expect_eq(atomic_load(&p.bad_data) + atomic_load(&p.bad_result), 0);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK, "%s", chook_last_error());
}

/* ---- the wait is about detached listeners only ---- */

Test(threads, a_long_call_of_an_attached_listener_does_not_hold_a_wait_for_another_one)
{
    struct gate g = { 0 };
    struct pairing p = { 0 };
    chook_listener *lb, *lw;
    cr_assert_eq(chook_attach((void *)blocking, gate_enter, gate_leave, &g, &lb), CHOOK_OK);
    pthread_t t1;
    cr_assert_eq(pthread_create(&t1, NULL, call_blocking, &g), 0);
    while (atomic_load(&g.entered) < 1) usleep(100);
    /* t1 is inside blocking() with its listener set; changing that set (attach
     * then detach on it) retires it, but only a detached listener is waited for. */
    cr_assert_eq(chook_attach((void *)work, pair_enter, pair_leave, &p, &lw), CHOOK_OK);
    cr_expect_eq(p_work(1), 4);
    cr_assert_eq(chook_detach(lw), CHOOK_OK);
    cr_expect_eq(chook_detach_wait(100), CHOOK_OK, "%s", chook_last_error());
    atomic_store(&g.release, 1);
    pthread_join(t1, NULL);
    cr_expect_eq(atomic_load(&g.leaves), 1);
    cr_assert_eq(chook_detach(lb), CHOOK_OK);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK, "%s", chook_last_error());
}

/* ---- fork ---- */

Test(threads, a_forked_child_keeps_intercepting_and_can_change_listeners)
{
    struct pairing p = { 0 };
    chook_listener *l;
    cr_assert_eq(chook_attach((void *)work, pair_enter, pair_leave, &p, &l), CHOOK_OK);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        int ok = p_work(2) == 7 && atomic_load(&p.enters) == 1 && atomic_load(&p.leaves) == 1;
        chook_listener *l2;
        ok = ok && chook_attach((void *)other_work, pair_enter, NULL, &p, &l2) == CHOOK_OK;
        ok = ok && p_other(1) == 7 && atomic_load(&p.enters) == 2;
        ok = ok && chook_detach(l2) == CHOOK_OK && chook_detach(l) == CHOOK_OK;
        ok = ok && chook_detach_wait(1000) == CHOOK_OK;
        _exit(ok ? 0 : 1);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
}
