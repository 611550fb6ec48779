/*
 * What a commit costs: the latency of chook_transaction_commit() for 1, 100 and
 * 10,000 hooks with 1, 8 and 64 other threads alive, and the pause a running
 * thread sees while commits stop the world (the longest gap between two
 * iterations of a thread that does nothing but read the clock).
 *
 * Of the threads alive, one is that spinning probe and the others sleep in a
 * futex wait, as the idle workers of a server do: each is still signalled, parks
 * and is released at every commit. The probe's longest gap without any commit is
 * reported too, as the scheduler's own noise on this machine.
 */
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"
#include "chook.h"

#define TARGETS 10000
#define MAX_THREADS 64

typedef long (*target_fn)(long);
extern const target_fn bench_commit_table[TARGETS];

static long replacement(long x) { return x; }

/* ---- the threads ---------------------------------------------------------------- */

static atomic_int probe_stop, sleepers_stop;
static atomic_ullong probe_max_gap, probe_iterations;

static void *probe_main(void *arg)
{
    (void)arg;
    uint64_t last = bench_now_ns();
    while (!atomic_load_explicit(&probe_stop, memory_order_relaxed)) {
        uint64_t now = bench_now_ns();
        uint64_t gap = now - last;
        if (gap > atomic_load_explicit(&probe_max_gap, memory_order_relaxed))
            atomic_store_explicit(&probe_max_gap, gap, memory_order_relaxed);
        last = now;
        atomic_fetch_add_explicit(&probe_iterations, 1, memory_order_relaxed);
    }
    return NULL;
}

static void *sleeper_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&sleepers_stop))
        syscall(SYS_futex, &sleepers_stop, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    return NULL;
}

/* Longest gap the probe saw since the last call. */
static double take_max_gap_us(void)
{
    return (double)atomic_exchange(&probe_max_gap, 0) / 1000.0;
}

/* ---- commits ---------------------------------------------------------------------- */

/* One transaction installing (or removing) hooks on the first n targets; returns
 * the time spent in chook_transaction_commit(), or -1 on failure. */
static double commit_us(int n, int install)
{
    if (chook_transaction_begin() != CHOOK_OK) return -1;
    for (int i = 0; i < n; i++) {
        int st = install ? chook_install((void *)bench_commit_table[i], (void *)replacement, NULL)
                         : chook_uninstall((void *)bench_commit_table[i]);
        if (st != CHOOK_OK) {
            fprintf(stderr, "bench_commit: %s\n", chook_last_error());
            chook_transaction_abort();
            return -1;
        }
    }
    uint64_t t0 = bench_now_ns();
    int st = chook_transaction_commit();
    uint64_t t1 = bench_now_ns();
    if (st != CHOOK_OK) {
        fprintf(stderr, "bench_commit: %s\n", chook_last_error());
        return -1;
    }
    return (double)(t1 - t0) / 1000.0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    static const int thread_counts[] = { 1, 8, 64 };
    static const int hook_counts[] = { 1, 100, TARGETS };
    bench_begin(argc, argv, "bench_commit: commit latency and the pause running threads see");

    for (size_t t = 0; t < sizeof thread_counts / sizeof thread_counts[0]; t++) {
        int nthreads = thread_counts[t];
        pthread_t threads[MAX_THREADS];
        atomic_store(&probe_stop, 0);
        atomic_store(&sleepers_stop, 0);
        pthread_create(&threads[0], NULL, probe_main, NULL);
        for (int i = 1; i < nthreads; i++) pthread_create(&threads[i], NULL, sleeper_main, NULL);
        while (atomic_load(&probe_iterations) < 1000) sched_yield();

        char name[96];
        take_max_gap_us();
        usleep(50000);
        snprintf(name, sizeof name, "probe_gap_without_commits_%d_threads", nthreads);
        bench_report(name, take_max_gap_us(), "us");

        for (size_t h = 0; h < sizeof hook_counts / sizeof hook_counts[0]; h++) {
            int nhooks = hook_counts[h];
            enum { MAX_REPS = 20 };
            int reps = nhooks >= TARGETS ? 3 : MAX_REPS;
            double in[MAX_REPS], out[MAX_REPS], pause = 0;
            for (int r = 0; r < reps; r++) {
                take_max_gap_us();
                in[r] = commit_us(nhooks, 1);
                double p = take_max_gap_us();
                out[r] = commit_us(nhooks, 0);
                double q = take_max_gap_us();
                if (in[r] < 0 || out[r] < 0) return 1;
                pause = p > pause ? p : pause;
                pause = q > pause ? q : pause;
            }
            snprintf(name, sizeof name, "commit_install_%d_hooks_%d_threads", nhooks, nthreads);
            bench_report(name, median(in, reps), "us (median)");
            snprintf(name, sizeof name, "commit_uninstall_%d_hooks_%d_threads", nhooks,
                     nthreads);
            bench_report(name, median(out, reps), "us (median)");
            snprintf(name, sizeof name, "probe_pause_%d_hooks_%d_threads", nhooks, nthreads);
            bench_report(name, pause, "us (max)");
        }

        atomic_store(&probe_stop, 1);
        atomic_store(&sleepers_stop, 1);
        syscall(SYS_futex, &sleepers_stop, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
        for (int i = 0; i < nthreads; i++) pthread_join(threads[i], NULL);
    }
    bench_end();
    return 0;
}
