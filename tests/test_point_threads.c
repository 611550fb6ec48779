/*
 * Attach and detach while other threads run the function: 4 threads call a point
 * in a loop while the main thread attaches and detaches 10,000 times, waiting
 * after every 8th
 * (100 in jump mode, where each attach and detach parks the threads;
 * CHOOK_STRESS=long runs 10,000 there too). What must hold:
 *   - every call returns either the plain result or the attached one, never a mix
 *     (the prolog and epilog of one call come from one attachment);
 *   - after detach + chook_point_wait(), no callback of the old attachment is
 *     running or starts: its data may be poisoned at once and is never seen again.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chook_point.h"

#define THREADS 4

CHOOK_POINT(pt_work, long, long);

__attribute__((noinline)) long pt_work(long x)
{
    CHOOK_ENTER(pt_work, x);
    long r = x * 2;
    CHOOK_RETURN(pt_work, r);
}

/* The same function, its point in jump mode (point/jumpfns.c is linked into
 * test_point only, so this file has its own). */
CHOOK_POINT_TYPES(pt_work_jump, long, long);
long pt_work_jump(long x);

/* One attachment's data: valid while attached, poisoned after the wait. */
struct token {
    atomic_int valid;
    long add;
};

static atomic_int stop_flag;
static atomic_int started;
static atomic_long calls, bad_results, stale_uses, attached_results, prologs;
static long (*volatile target_fn)(long);

static void epilog(void *data, long *r)
{
    struct token *t = data;
    if (atomic_load(&t->valid) != 1) atomic_fetch_add(&stale_uses, 1);
    *r += t->add; /* plain result + 2 * add in all: prolog and epilog agree */
}

static int prolog(void *data, chook_point_epilog_pt_work *ep, long *r, long *x)
{
    (void)r;
    struct token *t = data;
    if (atomic_load(&t->valid) != 1) atomic_fetch_add(&stale_uses, 1);
    atomic_fetch_add_explicit(&prologs, 1, memory_order_relaxed);
    *x += t->add / 2; /* doubled by the body: + add */
    ep->fn = epilog;
    ep->data = t;
    return CHOOK_POINT_CONTINUE;
}

static void *caller(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started, 1);
    long i = 0;
    while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
        long x = (i++ & 1023) * 2;
        long r = target_fn(x);
        /* Detached: 2x; attached: 2x + 2 * add, a multiple of 4000 more. A call
         * that ran only one half of an attachment would be 2000 * k off. */
        if (r != 2 * x && (r - 2 * x) % 4000 != 0) atomic_fetch_add(&bad_results, 1);
        if (r != 2 * x) atomic_fetch_add_explicit(&attached_results, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
    }
    return NULL;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int iterations(int jump)
{
    const char *v = getenv("CHOOK_STRESS");
    if (v && strcmp(v, "long") == 0) return 10000;
    return jump ? 100 : 10000;
}

static void run(const char *name, long (*fn)(long), int jump)
{
    chook_point *p;
    cr_assert_eq(chook_point_find(name, &p), CHOOK_OK, "%s", chook_last_error());
    target_fn = fn;
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) cr_assert_eq(pthread_create(&th[i], NULL, caller, NULL), 0);
    while (atomic_load(&started) < THREADS) sched_yield();

    int n = iterations(jump);
    /* Waiting after every detach would measure the scheduler (5 busy threads on
     * few cores): wait after every 8th, then poison all 8 attachments' data. */
    enum { BATCH = 8 };
    struct token *pending[BATCH];
    int npending = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) {
        struct token *t = malloc(sizeof *t);
        cr_assert_not_null(t);
        atomic_init(&t->valid, 1);
        t->add = 2000 * (1 + i % 7); /* prolog + epilog: 2 * add, a multiple of 4000 */
        int st = chook_point_attach_typed(p, "long (long)", (chook_point_fn)prolog, t);
        cr_assert_eq(st, CHOOK_OK, "attach %d: %s", i, chook_last_error());
        /* Let a call in, for up to 1 ms (yielding would wait for a time slice). */
        long before = atomic_load(&prologs);
        uint64_t until = now_ns() + 1000000;
        while (atomic_load(&prologs) == before && now_ns() < until) {
        }
        cr_assert_eq(chook_point_detach(p), CHOOK_OK, "detach %d: %s", i, chook_last_error());
        pending[npending++] = t;
        if (npending == BATCH || i == n - 1) {
            cr_assert_eq(chook_point_wait(p, 10000), CHOOK_OK, "wait %d: %s", i,
                         chook_last_error());
            for (int k = 0; k < npending; k++) {
                atomic_store(&pending[k]->valid, 0); /* any later use is counted */
                free(pending[k]);
            }
            npending = 0;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    atomic_store(&stop_flag, 1);
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);

    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_log_info("%s: %d attach/detach cycles in %.2f s, %ld calls, %ld of them attached",
                name, n, secs, (long)atomic_load(&calls), (long)atomic_load(&attached_results));
    cr_assert_eq(atomic_load(&stale_uses), 0, "a callback ran after wait");
    cr_assert_eq(atomic_load(&bad_results), 0, "a call mixed two attachments");
    cr_assert_gt(atomic_load(&attached_results), 0, "calls ran while attached");
    cr_assert_gt(atomic_load(&calls), atomic_load(&attached_results),
                 "and while detached");
    cr_assert_eq(fn(21), 42, "detached at the end");
}

Test(point_threads, attach_detach_wait_10000_times_under_4_calling_threads, .timeout = 120)
{
    run("pt_work", pt_work, 0);
}

Test(point_threads, the_same_in_jump_mode, .timeout = 1200) /* long mode: minutes */
{
    run("pt_work_jump", pt_work_jump, 1);
}

/* Replacing one attachment by another while calls run: wait() ends even though
 * the point is never idle, and frees the replaced attachments. */
Test(point_threads, wait_ends_while_the_point_stays_busy_with_a_newer_attachment,
     .timeout = 120)
{
    chook_point *p;
    cr_assert_eq(chook_point_find("pt_work", &p), CHOOK_OK);
    target_fn = pt_work;
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) cr_assert_eq(pthread_create(&th[i], NULL, caller, NULL), 0);
    while (atomic_load(&started) < THREADS) sched_yield();
    struct token *prev = NULL;
    for (int i = 0; i < 200; i++) {
        struct token *t = malloc(sizeof *t);
        cr_assert_not_null(t);
        atomic_init(&t->valid, 1);
        t->add = 4000;
        cr_assert_eq(chook_point_attach_typed(p, "long (long)", (chook_point_fn)prolog, t),
                     CHOOK_OK);
        cr_assert_eq(chook_point_wait(p, 10000), CHOOK_OK, "%s", chook_last_error());
        if (prev) {
            atomic_store(&prev->valid, 0);
            free(prev);
        }
        prev = t;
    }
    cr_assert_eq(chook_point_detach(p), CHOOK_OK);
    cr_assert_eq(chook_point_wait(p, 10000), CHOOK_OK);
    atomic_store(&prev->valid, 0);
    free(prev);
    atomic_store(&stop_flag, 1);
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    cr_assert_eq(atomic_load(&stale_uses), 0);
    cr_assert_eq(atomic_load(&bad_results), 0);
}
