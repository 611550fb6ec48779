/*
 * Hooking the functions chook itself could depend on: libc's allocator, memory
 * mapping, file, pthread and signal functions. With pass-through hooks on all of
 * them, chook must still install and remove hooks and commit with threads alive
 * (threads that call those very functions all the time, so they are often parked
 * holding libc's locks), without recursing or deadlocking, and its commits must
 * not call any of them.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>

#include "chook.h"
#include "stop.h"
#include "live_util.h"
#include "live_targets.h"

/* Calls made to each hooked function by the thread that has `watching` set while
 * the other threads were parked (each hook counts its own), and the calls made
 * outside that window (allowed: no thread is parked then). */
static __thread int watching;
static atomic_long calls_outside;

#define PASS_THROUGH(ret, name, params, args)                                   \
    static ret(*orig_##name) params;                                            \
    static atomic_long calls_##name;                                            \
    static ret hook_##name params                                               \
    {                                                                           \
        if (watching && chook__world_stopped())                                 \
            atomic_fetch_add(&calls_##name, 1);                                 \
        else if (watching)                                                      \
            atomic_fetch_add(&calls_outside, 1);                                \
        return orig_##name args;                                                \
    }

PASS_THROUGH(void *, malloc, (size_t n), (n))
PASS_THROUGH(void *, calloc, (size_t a, size_t b), (a, b))
PASS_THROUGH(void *, realloc, (void *p, size_t n), (p, n))
PASS_THROUGH(void, free, (void *p), (p))
PASS_THROUGH(void *, mmap, (void *a, size_t l, int p, int f, int fd, off_t o), (a, l, p, f, fd, o))
PASS_THROUGH(int, munmap, (void *a, size_t l), (a, l))
PASS_THROUGH(int, mprotect, (void *a, size_t l, int p), (a, l, p))
PASS_THROUGH(int, open, (const char *p, int f, mode_t m), (p, f, m))
PASS_THROUGH(int, openat, (int d, const char *p, int f, mode_t m), (d, p, f, m))
PASS_THROUGH(ssize_t, read, (int fd, void *b, size_t n), (fd, b, n))
PASS_THROUGH(ssize_t, pread, (int fd, void *b, size_t n, off_t o), (fd, b, n, o))
PASS_THROUGH(ssize_t, pwrite, (int fd, const void *b, size_t n, off_t o), (fd, b, n, o))
PASS_THROUGH(int, close, (int fd), (fd))
PASS_THROUGH(int, pthread_mutex_lock, (pthread_mutex_t *m), (m))
PASS_THROUGH(int, pthread_mutex_unlock, (pthread_mutex_t *m), (m))
PASS_THROUGH(int, sigaction, (int s, const struct sigaction *a, struct sigaction *o), (s, a, o))
PASS_THROUGH(int, sigprocmask, (int h, const sigset_t *s, sigset_t *o), (h, s, o))
PASS_THROUGH(int, pthread_sigmask, (int h, const sigset_t *s, sigset_t *o), (h, s, o))
PASS_THROUGH(int, sigfillset, (sigset_t *s), (s))

struct dep {
    const char *name;
    void *target, *replacement, **original;
    atomic_long *calls;
};

#define DEP(name) { #name, (void *)name, (void *)hook_##name, (void **)&orig_##name, &calls_##name }

static struct dep deps[] = {
    DEP(malloc), DEP(calloc), DEP(realloc), DEP(free), DEP(mmap), DEP(munmap),
    DEP(mprotect), DEP(open), DEP(openat), DEP(read), DEP(pread), DEP(pwrite), DEP(close),
    DEP(pthread_mutex_lock), DEP(pthread_mutex_unlock), DEP(sigaction), DEP(sigprocmask),
    DEP(pthread_sigmask), DEP(sigfillset),
};
#define NDEPS (sizeof deps / sizeof deps[0])

static long watched_calls(char *which, size_t len)
{
    long total = 0;
    which[0] = 0;
    for (size_t i = 0; i < NDEPS; i++) {
        long c = atomic_load(deps[i].calls);
        total += c;
        if (c && strlen(which) + strlen(deps[i].name) + 16 < len)
            snprintf(which + strlen(which), len - strlen(which), "%s %s=%ld",
                     which[0] ? "," : "", deps[i].name, c);
    }
    return total;
}

static void reset_counts(void)
{
    for (size_t i = 0; i < NDEPS; i++) atomic_store(deps[i].calls, 0);
}

/* Threads that live in those functions. */
static volatile int workers_stop;
static atomic_int started;
static atomic_long worker_rounds;
static pthread_mutex_t worker_mutex = PTHREAD_MUTEX_INITIALIZER;

static void *worker_main(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started, 1);
    while (!workers_stop) {
        void *p = malloc(64 + (size_t)(atomic_load(&worker_rounds) % 512));
        p = realloc(p, 1024);
        free(p);
        pthread_mutex_lock(&worker_mutex);
        pthread_mutex_unlock(&worker_mutex);
        int fd = open("/proc/self/stat", O_RDONLY);
        if (fd >= 0) {
            char buf[64];
            if (read(fd, buf, sizeof buf) < 0) atomic_fetch_add(&worker_rounds, 0);
            close(fd);
        }
        atomic_fetch_add(&worker_rounds, 1);
    }
    return NULL;
}

static long (*orig_target)(long);
static long repl_target(long x) { return orig_target(x) + 1000; }

Test(live_selfhook, chook_works_with_its_possible_dependencies_hooked)
{
    enum { WORKERS = 3 };
    pthread_t workers[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        cr_assert_eq(pthread_create(&workers[i], NULL, worker_main, NULL), 0);
    cr_assert(live_wait_count(&started, WORKERS));

    /* Hook them all, one commit each, while the workers run through them. */
    for (size_t i = 0; i < NDEPS; i++)
        cr_assert_eq(chook_install(deps[i].target, deps[i].replacement, deps[i].original),
                     CHOOK_OK, "%s: %s", deps[i].name, chook_last_error());

    /* More hooks, removed again, single and in a transaction, with nothing of the
     * above called by the committing thread. */
    int rounds = live_long_mode() ? 2000 : 100;
    char which[512];
    /* The counting works: a call made while the world is stopped is seen (with a
     * function that takes no lock a parked thread could hold). */
    watching = 1;
    chook__world *w = NULL;
    chook__commit_lock();
    int st = chook__world_stop(&w);
    if (st == CHOOK_OK) {
        sigset_t set;
        sigfillset(&set);
        chook__world_resume(w);
    }
    chook__commit_unlock();
    cr_assert_eq(st, CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(atomic_load(&calls_sigfillset), 1);

    reset_counts();
    int failures = 0, wrong = 0;
    for (int r = 0; r < rounds; r++) {
        failures += chook_install((void *)live_target, (void *)repl_target,
                                  (void **)&orig_target) != CHOOK_OK;
        wrong += live_target(1) != 1003;
        failures += chook_uninstall((void *)live_target) != CHOOK_OK;
        wrong += live_target(1) != 3;
        failures += chook_transaction_begin() != CHOOK_OK;
        for (int n = 0; n < 16; n++)
            failures += chook_install((void *)live_many_table[n], live_many_repl_table[n],
                                      &live_many_orig[n]) != CHOOK_OK;
        failures += chook_transaction_commit() != CHOOK_OK;
        failures += chook_transaction_begin() != CHOOK_OK;
        for (int n = 0; n < 16; n++)
            failures += chook_uninstall((void *)live_many_table[n]) != CHOOK_OK;
        failures += chook_transaction_commit() != CHOOK_OK;
    }
    watching = 0;
    long during = watched_calls(which, sizeof which);

    long before = atomic_load(&worker_rounds);
    uint64_t end = live_now_ns() + 5000000000ull;
    while (atomic_load(&worker_rounds) == before && live_now_ns() < end) sched_yield();
    long after = atomic_load(&worker_rounds);

    /* Unhook them all; the workers run on through the originals. */
    for (size_t i = 0; i < NDEPS; i++)
        cr_assert_eq(chook_uninstall(deps[i].target), CHOOK_OK, "%s: %s", deps[i].name,
                     chook_last_error());
    workers_stop = 1;
    for (int i = 0; i < WORKERS; i++) pthread_join(workers[i], NULL);

    cr_assert_eq(failures, 0, "%d operations failed; last: %s", failures, chook_last_error());
    cr_assert_eq(wrong, 0, "%d calls of the hooked target returned a wrong value", wrong);
    cr_assert_neq(after, before, "the workers stopped making progress");
    cr_log_info("%ld calls of hooked functions by chook outside the stopped window",
                atomic_load(&calls_outside));
    cr_assert_eq(during, 0, "chook called hooked functions while threads were parked:%s",
                 which);
}
