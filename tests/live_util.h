/*
 * Helpers shared by the live-patching tests (test_stop.c, test_live_*.c).
 */
#ifndef CHOOK_TESTS_LIVE_UTIL_H
#define CHOOK_TESTS_LIVE_UTIL_H

#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Fixtures of tests/fixtures/live_fixtures.S. */
int live_spin(const volatile int *flag);
extern const char live_spin_loop[], live_spin_loop_end[];
int live_spin_forever(void);
extern const char live_spin_forever_loop[], live_spin_forever_loop_end[];
extern const char live_spin_forever_exit[];

/* CHOOK_STRESS=long selects the long variants. */
static inline int live_long_mode(void)
{
    const char *v = getenv("CHOOK_STRESS");
    return v && strcmp(v, "long") == 0;
}

static inline uint64_t live_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void live_sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Threads of this process as /proc lists them. */
static inline int live_count_tasks(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

/* Waits until *counter reaches n (threads announcing they started); 0 on
 * timeout after 10 s. */
static inline int live_wait_count(atomic_int *counter, int n)
{
    uint64_t end = live_now_ns() + 10000000000ull;
    while (atomic_load(counter) < n) {
        if (live_now_ns() > end) return 0;
        sched_yield();
    }
    return 1;
}

#endif /* CHOOK_TESTS_LIVE_UTIL_H */
