/*
 * Stopping the world: every other thread parks in chook's signal handler, its
 * program counter can be read and moved, and it resumes exactly where (and as) it
 * was. These tests drive stop.c directly, without patching anything.
 *
 * Between chook__world_stop() and chook__world_resume() the tests only record
 * what they see (other threads are parked and may hold libc's locks); they assert
 * after the resume.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "internal.h"
#include "stop.h"
#include "live_util.h"

#define MAX_THREADS 64

static volatile int spin_flag;
static atomic_int started;
static pid_t tids[MAX_THREADS];
static pthread_t threads[MAX_THREADS];
static atomic_long progress[MAX_THREADS];

static void *spin_main(void *arg)
{
    int i = (int)(intptr_t)arg;
    tids[i] = gettid();
    atomic_fetch_add(&started, 1);
    live_spin(&spin_flag);
    return NULL;
}

static void *count_main(void *arg)
{
    int i = (int)(intptr_t)arg;
    tids[i] = gettid();
    atomic_fetch_add(&started, 1);
    while (!spin_flag) atomic_fetch_add_explicit(&progress[i], 1, memory_order_relaxed);
    return NULL;
}

static void start_threads(int n, void *(*fn)(void *))
{
    spin_flag = 0;
    for (int i = 0; i < n; i++)
        cr_assert_eq(pthread_create(&threads[i], NULL, fn, (void *)(intptr_t)i), 0);
    cr_assert(live_wait_count(&started, n), "threads did not start");
}

static void stop_threads(int n)
{
    spin_flag = 1;
    for (int i = 0; i < n; i++) pthread_join(threads[i], NULL);
}

/* What one stop saw, recorded while the world was stopped. */
struct seen {
    int status;
    size_t count;
    pid_t tid[MAX_THREADS + 8];
    uintptr_t pc[MAX_THREADS + 8];
};

static void stop_and_look(struct seen *s)
{
    chook__world *w = NULL;
    chook__commit_lock();
    s->status = chook__world_stop(&w);
    s->count = 0;
    if (s->status == CHOOK_OK) {
        s->count = chook__world_count(w);
        for (size_t i = 0; i < s->count && i < CHOOK_ARRAY_LEN(s->tid); i++) {
            s->tid[i] = chook__world_tid(w, i);
            s->pc[i] = chook__world_pc(w, i);
        }
        chook__world_resume(w);
    }
    chook__commit_unlock();
}

/* The index in s of thread tid, or -1. */
static int find_tid(const struct seen *s, pid_t tid)
{
    for (size_t i = 0; i < s->count; i++)
        if (s->tid[i] == tid) return (int)i;
    return -1;
}

static int in_spin_loop(uintptr_t pc)
{
    return pc >= (uintptr_t)live_spin_loop && pc < (uintptr_t)live_spin_loop_end;
}

/* Stops with n spinning threads and checks each is parked in the fixture loop.
 * A thread that was still on its way into the loop is given another try. */
static void check_parks_in_fixture(int n)
{
    int before = live_count_tasks();
    start_threads(n, spin_main);
    struct seen s;
    int all_in_loop = 0;
    for (int attempt = 0; attempt < 100 && !all_in_loop; attempt++) {
        stop_and_look(&s);
        cr_assert_eq(s.status, CHOOK_OK, "%s", chook_last_error());
        cr_assert_eq(s.count, (size_t)(before - 1 + n), "parked %zu of %d other threads",
                     s.count, before - 1 + n);
        all_in_loop = 1;
        for (int i = 0; i < n; i++) {
            int k = find_tid(&s, tids[i]);
            cr_assert_geq(k, 0, "thread %d was not parked", (int)tids[i]);
            all_in_loop &= in_spin_loop(s.pc[k]);
        }
        if (!all_in_loop) live_sleep_ms(1);
    }
    cr_assert(all_in_loop, "a parked thread's pc is not inside the loop it spins in");
    cr_assert_eq(find_tid(&s, gettid()), -1, "the stopping thread parked itself");
    stop_threads(n);
}

Test(stop, with_no_other_thread_parks_nobody)
{
    int before = live_count_tasks();
    struct seen s;
    stop_and_look(&s);
    cr_assert_eq(s.status, CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(s.count, (size_t)(before - 1));
}

Test(stop, parks_one_busy_thread_where_it_runs)
{
    check_parks_in_fixture(1);
}

Test(stop, parks_sixteen_busy_threads_where_they_run)
{
    check_parks_in_fixture(16);
}

Test(stop, parked_threads_make_no_progress_until_resumed)
{
    enum { N = 8 };
    start_threads(N, count_main);
    long a[N], b[N];
    chook__world *w = NULL;
    chook__commit_lock();
    int st = chook__world_stop(&w);
    if (st == CHOOK_OK) {
        for (int i = 0; i < N; i++) a[i] = atomic_load(&progress[i]);
        chook__sys_nanosleep_ns(20000000);
        for (int i = 0; i < N; i++) b[i] = atomic_load(&progress[i]);
        chook__world_resume(w);
    }
    chook__commit_unlock();
    cr_assert_eq(st, CHOOK_OK, "%s", chook_last_error());
    for (int i = 0; i < N; i++)
        cr_assert_eq(a[i], b[i], "thread %d ran while the world was stopped", i);
    for (int i = 0; i < N; i++) {
        uint64_t end = live_now_ns() + 5000000000ull;
        while (atomic_load(&progress[i]) == b[i] && live_now_ns() < end) sched_yield();
        cr_assert_neq(atomic_load(&progress[i]), b[i], "thread %d did not resume", i);
    }
    stop_threads(N);
}

static atomic_int forever_result;
static pid_t forever_tid;

static void *forever_main(void *arg)
{
    (void)arg;
    forever_tid = gettid();
    atomic_store(&started, 1);
    atomic_store(&forever_result, live_spin_forever());
    return NULL;
}

Test(stop, set_pc_moves_a_parked_thread)
{
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, forever_main, NULL), 0);
    cr_assert(live_wait_count(&started, 1));
    int moved = 0, status = CHOOK_OK;
    uintptr_t seen_pc = 0;
    for (int attempt = 0; attempt < 100 && !moved && status == CHOOK_OK; attempt++) {
        chook__world *w = NULL;
        chook__commit_lock();
        status = chook__world_stop(&w);
        if (status == CHOOK_OK) {
            for (size_t i = 0; i < chook__world_count(w); i++) {
                if (chook__world_tid(w, i) != forever_tid) continue;
                seen_pc = chook__world_pc(w, i);
                if (seen_pc >= (uintptr_t)live_spin_forever_loop &&
                    seen_pc < (uintptr_t)live_spin_forever_loop_end) {
                    chook__world_set_pc(w, i, (uintptr_t)live_spin_forever_exit);
                    moved = chook__world_pc(w, i) == (uintptr_t)live_spin_forever_exit;
                }
            }
            chook__world_resume(w);
        }
        chook__commit_unlock();
        if (!moved) live_sleep_ms(1);
    }
    cr_assert_eq(status, CHOOK_OK, "%s", chook_last_error());
    cr_assert(moved, "the thread was never seen in its loop (last pc %#lx)",
              (unsigned long)seen_pc);
    struct timespec limit;
    clock_gettime(CLOCK_REALTIME, &limit);
    limit.tv_sec += 5;
    cr_assert_eq(pthread_timedjoin_np(th, NULL, &limit), 0,
                 "the moved thread still spins: the new pc was not used");
    cr_assert_eq(atomic_load(&forever_result), 42);
}

static atomic_long errno_checks, errno_mismatches;

static void *errno_main(void *arg)
{
    int mine = 1000 + (int)(intptr_t)arg;
    atomic_fetch_add(&started, 1);
    while (!spin_flag) {
        /* A failing system call right before the check: a handler that let a
         * failing call of its own set errno would show here. */
        errno = 0;
        close(-1);
        if (errno != EBADF) atomic_fetch_add(&errno_mismatches, 1);
        errno = mine;
        for (int k = 0; k < 100; k++) __asm__ volatile("" ::: "memory");
        if (errno != mine) atomic_fetch_add(&errno_mismatches, 1);
        atomic_fetch_add(&errno_checks, 1);
    }
    return NULL;
}

Test(stop, parked_threads_keep_their_errno)
{
    enum { N = 4, STOPS = 60 };
    start_threads(N, errno_main);
    for (int i = 0; i < STOPS; i++) {
        struct seen s;
        stop_and_look(&s);
        cr_assert_eq(s.status, CHOOK_OK, "%s", chook_last_error());
    }
    stop_threads(N);
    cr_assert_gt(atomic_load(&errno_checks), 0);
    cr_assert_eq(atomic_load(&errno_mismatches), 0, "errno changed in %ld checks",
                 atomic_load(&errno_mismatches));
}

/* Thread churn: a spawner keeps making short-lived threads while the main thread
 * stops the world again and again. */
static atomic_long activity;

static void *short_lived_main(void *arg)
{
    (void)arg;
    for (int k = 0; k < 2000; k++) atomic_fetch_add(&activity, 1);
    return NULL;
}

static void *spawner_main(void *arg)
{
    (void)arg;
    atomic_store(&started, 1);
    while (!spin_flag) {
        pthread_t batch[6];
        int made = 0;
        for (int i = 0; i < 6; i++)
            if (pthread_create(&batch[made], NULL, short_lived_main, NULL) == 0) made++;
        for (int i = 0; i < made; i++) pthread_join(batch[i], NULL);
        atomic_fetch_add(&activity, 1);
    }
    return NULL;
}

Test(stop, threads_created_and_exiting_during_stops_are_handled)
{
    int stops = live_long_mode() ? 5000 : 300;
    pthread_t spawner;
    spin_flag = 0;
    cr_assert_eq(pthread_create(&spawner, NULL, spawner_main, NULL), 0);
    cr_assert(live_wait_count(&started, 1));
    int failures = 0, ran_while_stopped = 0, duplicates = 0;
    size_t most = 0;
    for (int i = 0; i < stops; i++) {
        chook__world *w = NULL;
        chook__commit_lock();
        int st = chook__world_stop(&w);
        if (st == CHOOK_OK) {
            long a = atomic_load(&activity);
            chook__sys_nanosleep_ns(100000);
            long b = atomic_load(&activity);
            size_t n = chook__world_count(w);
            for (size_t x = 0; x < n; x++)
                for (size_t y = x + 1; y < n; y++)
                    duplicates += chook__world_tid(w, x) == chook__world_tid(w, y);
            ran_while_stopped += a != b;
            most = n > most ? n : most;
            chook__world_resume(w);
        }
        chook__commit_unlock();
        failures += st != CHOOK_OK;
        if (st != CHOOK_OK) cr_log_error("stop %d: %s", i, chook_last_error());
    }
    spin_flag = 1;
    pthread_join(spawner, NULL);
    cr_assert_eq(failures, 0, "%d of %d stops failed", failures, stops);
    cr_assert_eq(ran_while_stopped, 0, "threads ran during %d stops", ran_while_stopped);
    cr_assert_eq(duplicates, 0, "a thread was listed twice");
    cr_assert_geq(most, 2, "never caught the spawner with a child alive");
}

/* fork: the child of a process whose commit lock is taken must not inherit it. */
static atomic_int lock_held;
static atomic_ullong unlocked_at;

static void *holder_main(void *arg)
{
    (void)arg;
    chook__commit_lock();
    atomic_store(&lock_held, 1);
    live_sleep_ms(200);
    atomic_store(&unlocked_at, live_now_ns());
    chook__commit_unlock();
    return NULL;
}

Test(stop, fork_waits_for_a_commit_and_the_child_starts_unlocked)
{
    pthread_t holder;
    cr_assert_eq(pthread_create(&holder, NULL, holder_main, NULL), 0);
    while (!atomic_load(&lock_held)) sched_yield();
    pid_t pid = fork();
    if (pid == 0) {
        alarm(5); /* a child that inherited the lock would hang here */
        chook__world *w = NULL;
        chook__commit_lock();
        int st = chook__world_stop(&w);
        if (st == CHOOK_OK) chook__world_resume(w);
        chook__commit_unlock();
        _exit(st == CHOOK_OK ? 0 : 3);
    }
    uint64_t forked_at = live_now_ns();
    cr_assert_gt(pid, 0);
    cr_assert_geq(forked_at, atomic_load(&unlocked_at),
                  "fork() returned while a commit held the lock");
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the child could not commit (status %#x)", status);
    pthread_join(holder, NULL);
}

/* ---- chook_configure() --------------------------------------------------------- */

Test(configure, rejects_null)
{
    cr_assert_eq(chook_configure(NULL), CHOOK_EINVAL);
    cr_assert_str_neq(chook_last_error(), "");
}

Test(configure, rejects_a_signal_that_is_not_real_time)
{
    chook_config c = { .signal = SIGUSR1 };
    cr_assert_eq(chook_configure(&c), CHOOK_EINVAL);
    cr_assert(strstr(chook_last_error(), "signal 10"), "%s", chook_last_error());
    c.signal = SIGRTMAX + 1;
    cr_assert_eq(chook_configure(&c), CHOOK_EINVAL);
}

Test(configure, fields_left_zero_keep_their_value)
{
    cr_assert_eq(chook__config_stop_timeout_ms(), 1000, "the default timeout is 1000 ms");
    cr_assert_eq(chook__config_signal(), 0, "by default chook picks the signal");
    chook_config c = { .stop_timeout_ms = 250 };
    cr_assert_eq(chook_configure(&c), CHOOK_OK);
    chook_config d = { .signal = SIGRTMIN + 2 };
    cr_assert_eq(chook_configure(&d), CHOOK_OK);
    cr_assert_eq(chook__config_stop_timeout_ms(), 250);
    cr_assert_eq(chook__config_signal(), SIGRTMIN + 2);
}

