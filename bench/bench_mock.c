/*
 * Mocks (chook_mock.h): what a mocked call costs, and what installing and ending
 * a mock around each test case costs.
 *
 * Per call: a trivial target mocked by a replacement of the same body, against a
 * direct call of that replacement in the same round (the added time is the
 * mock's own). Variants: a replacement mock of every thread (atomic count), of
 * one thread (plain count; other threads pass through), a replacement calling
 * the real function through chook_mock_original(), a sequence mock (of every
 * thread and of one thread), and a bare chook_install() of the same replacement for reference. Target:
 * under 10 ns added per mocked call. Each round times every variant (best of a
 * few short batches); min, median and max over the rounds.
 *
 * Per test case: chook_mock_begin() + chook_mock_end() (and the same for a
 * sequence mock), with no other thread and with 8 and 32 other threads alive
 * (each install and each end stops them all once).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <chook_mock.h>

#include "bench.h"

#define ROUNDS 41
#define BATCHES 5
#define CALLS 200000L
#define CASES 200

__attribute__((noinline)) long bench_mock_target(long x)
{
    __asm__ volatile("");
    return x * 3 + 1;
}

__attribute__((noinline)) long bench_mock_fake(long x)
{
    __asm__ volatile("");
    return x * 3 + 1;
}

static long bench_mock_via_original(long x)
{
    long (*orig)(long) = (long (*)(long))chook_mock_original(chook_mock_current());
    return orig(x);
}

/* ns per call: the best of a few short batches, so that a batch the scheduler
 * interrupted (the machine is shared) does not count. */
static double time_calls(long (*volatile f)(long), long n)
{
    double best = 1e9;
    for (int b = 0; b < BATCHES; b++) {
        long acc = 0;
        uint64_t t0 = bench_now_ns();
        for (long i = 0; i < n; i++) acc += f(i);
        uint64_t t1 = bench_now_ns();
        BENCH_KEEP(acc);
        double t = (double)(t1 - t0) / (double)n;
        if (t < best) best = t;
    }
    return best;
}

static void die(const char *what)
{
    fprintf(stderr, "%s failed: %s\n", what, chook_last_error());
    exit(1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Reports NAME_min, NAME_median and NAME_max of v[0..n). */
static void report_spread(const char *name, double *v, int n, const char *unit)
{
    char key[112];
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    snprintf(key, sizeof key, "%s_min", name);
    bench_report(key, v[0], unit);
    snprintf(key, sizeof key, "%s_median", name);
    bench_report(key, v[n / 2], unit);
    snprintf(key, sizeof key, "%s_max", name);
    bench_report(key, v[n - 1], unit);
}

/* ---- per call ------------------------------------------------------------------ */

enum variant { V_ALL, V_THREAD, V_ORIGINAL, V_SEQUENCE, V_SEQUENCE_THREAD, V_INSTALL, V_COUNT };

static const char *const names[V_COUNT] = {
    "mock_replacement_every_thread_added_ns", "mock_replacement_this_thread_added_ns",
    "mock_replacement_calling_original_added_ns", "mock_sequence_every_thread_added_ns",
    "mock_sequence_this_thread_added_ns",
    "reference_chook_install_added_ns",
};

static const char *const units[V_COUNT] = {
    "ns (target < 10)", "ns (target < 10)", "ns", "ns", "ns", "ns",
};

static chook_mock *start(enum variant v)
{
    void *target = (void *)bench_mock_target;
    chook_mock *m = NULL;
    chook_mock_opts one = { .flags = CHOOK_MOCK_THIS_THREAD };
    chook_mock_step step = CHOOK_MOCK_RETURN_ALWAYS(7);
    int st = CHOOK_OK;
    switch (v) {
    case V_ALL: st = chook_mock_begin(target, (void *)bench_mock_fake, NULL, &m); break;
    case V_THREAD: st = chook_mock_begin(target, (void *)bench_mock_fake, &one, &m); break;
    case V_ORIGINAL: st = chook_mock_begin(target, (void *)bench_mock_via_original, NULL, &m); break;
    case V_SEQUENCE: st = chook_mock_returns(target, &step, 1, NULL, &m); break;
    case V_SEQUENCE_THREAD: st = chook_mock_returns(target, &step, 1, &one, &m); break;
    case V_INSTALL: st = chook_install(target, (void *)bench_mock_fake, NULL); break;
    case V_COUNT: break;
    }
    if (st != CHOOK_OK) die(names[v]);
    return m;
}

static void stop(enum variant v, chook_mock *m)
{
    int st = v == V_INSTALL ? chook_uninstall((void *)bench_mock_target) : chook_mock_end(m);
    if (st != CHOOK_OK) die("end");
}

/* ---- per test case ---------------------------------------------------------------- */

static volatile int sleepers_stop;

static void *sleeper(void *arg)
{
    (void)arg;
    while (!sleepers_stop) usleep(1000);
    return NULL;
}

static void per_case(const char *name, int sequence)
{
    double us[CASES];
    chook_mock_step step = CHOOK_MOCK_RETURN_ALWAYS(7);
    for (int i = 0; i < CASES; i++) {
        chook_mock *m;
        uint64_t t0 = bench_now_ns();
        int st = sequence ? chook_mock_returns((void *)bench_mock_target, &step, 1, NULL, &m)
                          : chook_mock_begin((void *)bench_mock_target, (void *)bench_mock_fake,
                                             NULL, &m);
        if (st != CHOOK_OK) die("begin");
        if (chook_mock_end(m) != CHOOK_OK) die("end");
        us[i] = (double)(bench_now_ns() - t0) / 1000.0;
    }
    report_spread(name, us, CASES, "us");
}

int main(int argc, char **argv)
{
    bench_begin(argc, argv, "bench_mock: mocked call cost, mock install + end per test case");
    double added[V_COUNT][ROUNDS], direct[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        direct[r] = time_calls(bench_mock_fake, CALLS);
        for (int v = 0; v < V_COUNT; v++) {
            chook_mock *m = start((enum variant)v);
            added[v][r] = time_calls(bench_mock_target, CALLS) - direct[r];
            stop((enum variant)v, m);
        }
    }
    report_spread("direct_call_ns", direct, ROUNDS, "ns");
    for (int v = 0; v < V_COUNT; v++) report_spread(names[v], added[v], ROUNDS, units[v]);

    per_case("mock_begin_end_0_threads_us", 0);
    per_case("mock_sequence_begin_end_0_threads_us", 1);
    enum { SLEEPERS = 32 };
    pthread_t t[SLEEPERS];
    sleepers_stop = 0;
    for (int i = 0; i < 8; i++) pthread_create(&t[i], NULL, sleeper, NULL);
    per_case("mock_begin_end_8_threads_us", 0);
    per_case("mock_sequence_begin_end_8_threads_us", 1);
    for (int i = 8; i < SLEEPERS; i++) pthread_create(&t[i], NULL, sleeper, NULL);
    per_case("mock_begin_end_32_threads_us", 0);
    sleepers_stop = 1;
    for (int i = 0; i < SLEEPERS; i++) pthread_join(t[i], NULL);
    bench_end();
    return 0;
}
