/*
 * Signal etiquette of stopping the world: chook's signal is chosen among the free
 * real-time signals, the application's dispositions are given back bit for bit,
 * its handlers keep working (even for chook's own signal), errno is untouched,
 * and a thread that never answers makes the stop fail after the timeout without
 * leaving anyone parked or anything to kill the process later.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/futex.h>

#include "internal.h"
#include "stop.h"
#include "stop_unparked.h"
#include "stop_impl.h"
#include "live_util.h"

/* The kernel's sigaction record, to compare dispositions exactly. */
struct ksigaction {
    void *handler;
    unsigned long flags;
    void *restorer;
    uint64_t mask;
};

static struct ksigaction kernel_disposition(int sig)
{
    struct ksigaction a;
    memset(&a, 0, sizeof a);
    cr_assert_eq(syscall(SYS_rt_sigaction, sig, NULL, &a, sizeof(uint64_t)), 0);
    return a;
}

static volatile int spin_flag;
static atomic_int started;
static atomic_long progress;

static void *busy_main(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started, 1);
    while (!spin_flag) atomic_fetch_add_explicit(&progress, 1, memory_order_relaxed);
    return NULL;
}

static pthread_t busy;

static void start_busy(void)
{
    spin_flag = 0;
    cr_assert_eq(pthread_create(&busy, NULL, busy_main, NULL), 0);
    cr_assert(live_wait_count(&started, 1));
}

static void end_busy(void)
{
    spin_flag = 1;
    pthread_join(busy, NULL);
}

static int stop_resume(void)
{
    chook__world *w = NULL;
    chook__commit_lock();
    int st = chook__world_stop(&w);
    if (st == CHOOK_OK) chook__world_resume(w);
    chook__commit_unlock();
    return st;
}

static atomic_int usr1_hits, rtmin_hits, late_hits, chook_sig_hits;
static atomic_int forwarded_code, forwarded_value, usr2_blocked_inside;

static void on_usr1(int sig) { (void)sig; atomic_fetch_add(&usr1_hits, 1); }
static void on_rtmin(int sig) { (void)sig; atomic_fetch_add(&rtmin_hits, 1); }
static void on_late(int sig) { (void)sig; atomic_fetch_add(&late_hits, 1); }

static void on_chook_sig(int sig, siginfo_t *info, void *uc)
{
    (void)sig;
    (void)uc;
    sigset_t now;
    pthread_sigmask(SIG_SETMASK, NULL, &now);
    atomic_store(&usr2_blocked_inside, sigismember(&now, SIGUSR2));
    atomic_store(&forwarded_code, info->si_code);
    atomic_store(&forwarded_value, info->si_value.sival_int);
    atomic_fetch_add(&chook_sig_hits, 1);
}

static void install(int sig, void (*fn)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    cr_assert_eq(sigaction(sig, &sa, NULL), 0);
}

/* The signal chook uses, learnt from a first stop. */
static int chook_signal(void)
{
    cr_assert_eq(stop_resume(), CHOOK_OK, "%s", chook_last_error());
    cr_assert_gt(chook__stop_signal(), 0);
    return chook__stop_signal();
}

/* Installs an application handler with the kernel's call, as libc does for the
 * signals it keeps for itself (its sigaction() refuses them). */
static void install_raw(int sig, void *handler, unsigned long flags, uint64_t mask)
{
    struct ksigaction a = { handler, flags | 0x04000000 /* SA_RESTORER */,
                            (void *)chook_arch_sigreturn, mask };
    cr_assert_eq(syscall(SYS_rt_sigaction, sig, &a, NULL, sizeof(uint64_t)), 0);
}

#define SIGBIT(sig) ((uint64_t)1 << ((sig) - 1))

/* Runs fn in a child process, where no helper thread of the test runner blocks
 * signals, and reports the line of the first failed CHILD_CHECK (0: all held). */
static int *child_failed_line;
#define CHILD_CHECK(cond)                                                      \
    do {                                                                       \
        if (!(cond)) {                                                         \
            *child_failed_line = __LINE__;                                     \
            _exit(1);                                                          \
        }                                                                      \
    } while (0)

static int run_in_child(void (*fn)(void))
{
    child_failed_line = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(child_failed_line, MAP_FAILED);
    *child_failed_line = -1;
    pid_t pid = fork();
    if (pid == 0) {
        alarm(20);
        fn();
        *child_failed_line = 0;
        _exit(0);
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "the child died (status %#x)", status);
    return *child_failed_line;
}

/* A worker thread of the common "block everything, one thread in sigwait" design. */
static void *masked_main(void *arg)
{
    (void)arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    atomic_fetch_add(&started, 1);
    while (!spin_flag) atomic_fetch_add_explicit(&progress, 1, memory_order_relaxed);
    return NULL;
}

Test(stop_signals, threads_that_block_every_signal_through_libc_still_park)
{
    spin_flag = 0;
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, masked_main, NULL), 0);
    cr_assert(live_wait_count(&started, 1));
    int before = live_count_tasks();
    chook__world *w = NULL;
    chook__commit_lock();
    int st = chook__world_stop(&w);
    size_t n = chook__world_count(w);
    if (st == CHOOK_OK) chook__world_resume(w);
    chook__commit_unlock();
    cr_assert_eq(st, CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(n, (size_t)before - 1);
    sigset_t all;
    sigfillset(&all);
    cr_assert_eq(sigismember(&all, chook__stop_signal()), 0,
                 "signal %d can be blocked with sigfillset()", chook__stop_signal());
    spin_flag = 1;
    pthread_join(th, NULL);
}

Test(stop_signals, application_handlers_installed_before_and_after_keep_working)
{
    install(SIGUSR1, on_usr1);
    install(SIGRTMIN, on_rtmin);
    start_busy();
    for (int i = 0; i < 20; i++) cr_assert_eq(stop_resume(), CHOOK_OK, "%s", chook_last_error());
    raise(SIGUSR1);
    raise(SIGRTMIN);
    cr_assert_eq(atomic_load(&usr1_hits), 1);
    cr_assert_eq(atomic_load(&rtmin_hits), 1);

    install(SIGUSR1, on_late);
    install(SIGRTMIN, on_late);
    for (int i = 0; i < 20; i++) cr_assert_eq(stop_resume(), CHOOK_OK, "%s", chook_last_error());
    raise(SIGUSR1);
    raise(SIGRTMIN);
    cr_assert_eq(atomic_load(&late_hits), 2);
    cr_assert_eq(atomic_load(&usr1_hits), 1);
    end_busy();
}

Test(stop_signals, the_disposition_of_chooks_signal_is_given_back_exactly)
{
    start_busy();
    int sig = chook_signal();
    /* An application (or libc) handler on that very signal, with unusual flags
     * and mask. */
    install_raw(sig, (void *)on_chook_sig, SA_SIGINFO | SA_NODEFER | SA_ONSTACK,
                SIGBIT(SIGUSR2) | SIGBIT(SIGHUP));
    struct ksigaction before = kernel_disposition(sig);
    for (int i = 0; i < 10; i++) cr_assert_eq(stop_resume(), CHOOK_OK, "%s", chook_last_error());
    struct ksigaction after = kernel_disposition(sig);
    cr_assert_eq(memcmp(&before, &after, sizeof before), 0,
                 "handler %p flags %#lx mask %#lx became %p %#lx %#lx", before.handler,
                 before.flags, (unsigned long)before.mask, after.handler, after.flags,
                 (unsigned long)after.mask);
    cr_assert_eq(atomic_load(&chook_sig_hits), 0, "a stop signal reached the application");
    syscall(SYS_tgkill, getpid(), gettid(), sig);
    cr_assert_eq(atomic_load(&chook_sig_hits), 1, "the application's handler did not run");

    install_raw(sig, (void *)SIG_IGN, 0, 0);
    before = kernel_disposition(sig);
    cr_assert_eq(stop_resume(), CHOOK_OK, "%s", chook_last_error());
    after = kernel_disposition(sig);
    cr_assert_eq(memcmp(&before, &after, sizeof before), 0);
    end_busy();
}

Test(stop_signals, other_instances_of_chooks_signal_reach_the_application_during_a_stop)
{
    start_busy();
    int sig = chook_signal();
    install_raw(sig, (void *)on_chook_sig, SA_SIGINFO, SIGBIT(SIGUSR2));

    /* Sent to this thread while chook's handler stands in: it must pass them on,
     * with the mask the application asked for. */
    chook__world *w = NULL;
    chook__commit_lock();
    int st = chook__world_stop(&w);
    int hits_tkill = -1, code_tkill = 0, hits_queue = -1, value_queue = 0, usr2 = -1;
    if (st == CHOOK_OK) {
        chook_arch_syscall(SYS_tgkill, getpid(), gettid(), sig, 0, 0, 0);
        hits_tkill = atomic_load(&chook_sig_hits);
        code_tkill = atomic_load(&forwarded_code);
        usr2 = atomic_load(&usr2_blocked_inside);
        siginfo_t si;
        memset(&si, 0, sizeof si);
        si.si_signo = sig;
        si.si_code = SI_QUEUE;
        si.si_pid = getpid();
        si.si_value.sival_int = 4321;
        chook_arch_syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), sig, (long)&si, 0, 0);
        hits_queue = atomic_load(&chook_sig_hits);
        value_queue = atomic_load(&forwarded_value);
        chook__world_resume(w);
    }
    chook__commit_unlock();
    cr_assert_eq(st, CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(hits_tkill, 1, "a tgkill'd instance was not passed on");
    cr_assert_eq(code_tkill, SI_TKILL);
    cr_assert_eq(usr2, 1, "the application's sa_mask was not applied");
    cr_assert_eq(hits_queue, 2, "a queued instance was not passed on");
    cr_assert_eq(value_queue, 4321);
    end_busy();
}

Test(stop_signals, stops_when_the_application_handles_every_real_time_signal)
{
    for (int s = SIGRTMIN; s <= SIGRTMAX; s++) install(s, on_late);
    struct ksigaction before = kernel_disposition(SIGRTMAX);
    start_busy();
    for (int i = 0; i < 10; i++) cr_assert_eq(stop_resume(), CHOOK_OK, "%s", chook_last_error());
    struct ksigaction after = kernel_disposition(SIGRTMAX);
    cr_assert_eq(memcmp(&before, &after, sizeof before), 0);
    cr_assert_eq(atomic_load(&late_hits), 0, "a stop signal reached the application");
    end_busy();
}

/* ---- a thread that never answers ------------------------------------------------ */

static volatile int blocker_release;
static atomic_int blocker_survived;
static pid_t blocker_tid;

/* Blocks every signal with the raw system call, which (unlike libc's functions)
 * also blocks the signals libc keeps for itself. */
static void block_everything(void)
{
    uint64_t all = ~(uint64_t)0;
    cr_assert_eq(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, NULL, sizeof all), 0);
}

static void *blocker_main(void *arg)
{
    (void)arg;
    uint64_t old;
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &old, sizeof old);
    block_everything();
    blocker_tid = gettid();
    atomic_fetch_add(&started, 1);
    while (!blocker_release) sched_yield();
    /* The signal of the failed stop is delivered here: it must be harmless. */
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof old);
    atomic_store(&blocker_survived, 1);
    return NULL;
}

Test(stop_signals, a_thread_blocking_all_signals_fails_the_stop_after_the_timeout)
{
    chook_config c = { .stop_timeout_ms = 200 };
    cr_assert_eq(chook_configure(&c), CHOOK_OK);
    start_busy();
    pthread_t blocker;
    cr_assert_eq(pthread_create(&blocker, NULL, blocker_main, NULL), 0);
    cr_assert(live_wait_count(&started, 2));

    uint64_t t0 = live_now_ns();
    int st = stop_resume();
    uint64_t ms = (live_now_ns() - t0) / 1000000u;
    cr_assert_eq(st, CHOOK_ETHREADS);
    cr_assert_geq(ms, 200, "gave up after %lu ms, before the timeout", (unsigned long)ms);
    cr_assert_lt(ms, 2000, "took %lu ms for a 200 ms timeout", (unsigned long)ms);
    char want[64];
    snprintf(want, sizeof want, "thread %d did not stop within 200 ms", (int)blocker_tid);
    cr_assert(strstr(chook_last_error(), want), "%s", chook_last_error());
    snprintf(want, sizeof want, "signal %d", chook__stop_signal());
    cr_assert(strstr(chook_last_error(), want), "%s", chook_last_error());
    cr_assert(strstr(chook_last_error(), "blocks the signal"), "%s", chook_last_error());

    /* Nobody was left parked: the busy thread runs on. */
    long p = atomic_load(&progress);
    uint64_t end = live_now_ns() + 5000000000ull;
    while (atomic_load(&progress) == p && live_now_ns() < end) sched_yield();
    cr_assert_neq(atomic_load(&progress), p, "the busy thread stayed parked");

    blocker_release = 1;
    pthread_join(blocker, NULL);
    cr_assert_eq(atomic_load(&blocker_survived), 1);
    end_busy();
}

Test(stop_signals, the_signal_of_a_failed_stop_arriving_later_is_harmless)
{
    chook_config c = { .stop_timeout_ms = 100 };
    cr_assert_eq(chook_configure(&c), CHOOK_OK);
    start_busy();
    int sig = chook_signal();
    struct ksigaction before = kernel_disposition(sig);
    pthread_t blocker;
    cr_assert_eq(pthread_create(&blocker, NULL, blocker_main, NULL), 0);
    cr_assert(live_wait_count(&started, 2));
    cr_assert_eq(stop_resume(), CHOOK_ETHREADS);
    cr_assert_eq(stop_resume(), CHOOK_ETHREADS, "a second stop must fail the same way");
    /* Its signal is still pending on the blocker: chook's handler must stay, or
     * the disposition given back (perhaps the default action, which ends the
     * process) would receive it when the thread unblocks. */
    cr_assert_neq(kernel_disposition(sig).handler, before.handler);

    blocker_release = 1; /* unblocks: two stale signals are delivered now */
    pthread_join(blocker, NULL);
    cr_assert_eq(atomic_load(&blocker_survived), 1);

    /* Once nothing is pending any more, the next stop gives the disposition back. */
    cr_assert_eq(stop_resume(), CHOOK_OK, "%s", chook_last_error());
    struct ksigaction after = kernel_disposition(sig);
    cr_assert_eq(memcmp(&before, &after, sizeof before), 0);
    end_busy();
}

/* A thread that blocks every signal and sleeps in a futex wait (the helper
 * threads of many libraries look like this). */
static int sleeper_word;

static int sleeper_keeps_sigtrap;

/* Instances of chook's stop signal queued for the calling thread, which blocks it:
 * each is taken off the queue (rt_sigtimedwait, which dequeues one instance of a
 * real-time signal at a time, from this thread's own queue before the process's),
 * counted, and the first is queued again unchanged, so unblocking still delivers
 * the stale signal to chook's handler. Only this thread's queue is read: the count
 * does not depend on other processes or test workers (SigQ in /proc/self/status
 * counts every signal queued by the user). */
static _Atomic int sleeper_counts_queued, sleeper_queued = -1;

static void count_and_requeue_stop_signals(void)
{
    int sig = chook__stop_signal();
    uint64_t set = (uint64_t)1 << (sig - 1);
    struct timespec zero = { 0, 0 };
    siginfo_t first, si;
    int n = 0;
    while (syscall(SYS_rt_sigtimedwait, &set, n ? &si : &first, &zero, sizeof set) == sig) n++;
    if (n) syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), sig, &first);
    atomic_store(&sleeper_queued, n);
}

static void *sleeper_main(void *arg)
{
    (void)arg;
    uint64_t old;
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &old, sizeof old);
    block_everything();
    if (sleeper_keeps_sigtrap) {
        /* Breakpoint-first writes need SIGTRAP deliverable on unparked threads. */
        uint64_t trap = (uint64_t)1 << (SIGTRAP - 1);
        syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &trap, NULL, sizeof trap);
    }
    blocker_tid = gettid();
    atomic_fetch_add(&started, 1);
    while (!__atomic_load_n(&sleeper_word, __ATOMIC_ACQUIRE))
        syscall(SYS_futex, &sleeper_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    if (sleeper_counts_queued) count_and_requeue_stop_signals();
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof old);
    atomic_store(&blocker_survived, 1);
    return NULL;
}

Test(stop_signals, a_thread_blocking_the_signal_asleep_in_the_kernel_is_listed_as_unparked)
{
    pthread_t th;
    sleeper_keeps_sigtrap = 1;
    sleeper_counts_queued = 1;
    cr_assert_eq(pthread_create(&th, NULL, sleeper_main, NULL), 0);
    cr_assert(live_wait_count(&started, 1));
    live_sleep_ms(20);
    int listed = 0, failures = 0;
    for (int i = 0; i < 20; i++) {
        chook__world *w = NULL;
        chook__commit_lock();
        int st = chook__world_stop(&w);
        if (st == CHOOK_OK) {
            for (size_t k = 0; k < chook__world_unparked(w); k++)
                listed += chook__world_unparked_tid(w, k) == blocker_tid;
            chook__world_resume(w);
        }
        chook__commit_unlock();
        failures += st != CHOOK_OK;
    }
    __atomic_store_n(&sleeper_word, 1, __ATOMIC_RELEASE);
    syscall(SYS_futex, &sleeper_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    pthread_join(th, NULL);
    cr_assert_eq(failures, 0, "%s", chook_last_error());
    cr_assert_eq(listed, 20, "listed as unparked in %d of 20 stops", listed);
    /* The first stop queued the one signal the thread holds blocked; the 19 others
     * found it still pending and queued none. */
    cr_assert_eq(atomic_load(&sleeper_queued), 1,
                 "%d instances of the stop signal were queued for the thread after 20 stops",
                 atomic_load(&sleeper_queued));
    cr_assert_eq(atomic_load(&blocker_survived), 1, "the stale signal was not harmless");
    cr_assert_eq(stop_resume(), CHOOK_OK, "%s", chook_last_error());
}

/* A thread waiting for its vfork child is in an uninterruptible (killable only)
 * sleep: it cannot take a signal until the child exits. */
static void *vforker_main(void *arg)
{
    (void)arg;
    blocker_tid = gettid();
    atomic_fetch_add(&started, 1);
    pid_t pid = vfork();
    if (pid == 0) {
        struct timespec ts = { 0, 600000000 };
        syscall(SYS_nanosleep, &ts, NULL);
        _exit(0);
    }
    atomic_store(&blocker_survived, pid > 0);
    return NULL;
}

Test(stop_signals, a_thread_asleep_uninterruptibly_is_listed_as_unparked)
{
    chook_config c = { .stop_timeout_ms = 500 };
    cr_assert_eq(chook_configure(&c), CHOOK_OK);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, vforker_main, NULL), 0);
    cr_assert(live_wait_count(&started, 1));
    /* Wait until it sleeps in vfork() (state D). */
    char state = 0;
    for (int i = 0; i < 500 && state != 'D'; i++) {
        live_sleep_ms(1);
        chook__thread_status ts;
        state = chook__thread_status_read(blocker_tid, &ts) == 0 ? ts.state : 0;
    }
    cr_assert_eq(state, 'D', "the thread never slept in vfork() (state %c)", state);

    chook__world *w = NULL;
    chook__commit_lock();
    uint64_t t0 = live_now_ns();
    int st = chook__world_stop(&w);
    uint64_t ms = (live_now_ns() - t0) / 1000000u;
    size_t unparked = 0;
    int listed = 0, parked = 0;
    uintptr_t pc = 0;
    if (st == CHOOK_OK) {
        unparked = chook__world_unparked(w);
        for (size_t i = 0; i < unparked; i++)
            if (chook__world_unparked_tid(w, i) == blocker_tid) {
                listed = 1;
                pc = chook__world_unparked_pc(w, i);
            }
        for (size_t i = 0; i < chook__world_count(w); i++)
            parked |= chook__world_tid(w, i) == blocker_tid;
        chook__world_resume(w);
    }
    chook__commit_unlock();
    cr_assert_eq(st, CHOOK_OK, "%s", chook_last_error());
    cr_assert(listed, "the thread waiting for its vfork child is not listed as unparked");
    cr_assert_eq(parked, 0);
    cr_assert_neq(pc, 0, "no user pc for the sleeping thread");
    cr_assert_lt(ms, 400, "waited %lu ms instead of looking at the sleeping thread",
                 (unsigned long)ms);

    pthread_join(th, NULL); /* it takes the stale signal as it wakes */
    cr_assert_eq(atomic_load(&blocker_survived), 1);
    cr_assert_eq(stop_resume(), CHOOK_OK, "%s", chook_last_error());
}

/* ---- a configured signal ------------------------------------------------------- */

static void configured_signal_child(void)
{
    chook_config c = { .signal = SIGRTMIN + 4, .stop_timeout_ms = 100 };
    CHILD_CHECK(chook_configure(&c) == CHOOK_OK);
    spin_flag = 0;
    pthread_t th;
    CHILD_CHECK(pthread_create(&th, NULL, busy_main, NULL) == 0);
    while (atomic_load(&started) < 1) sched_yield();
    CHILD_CHECK(stop_resume() == CHOOK_OK);
    CHILD_CHECK(chook__stop_signal() == SIGRTMIN + 4);
    CHILD_CHECK(kernel_disposition(SIGRTMIN + 4).handler == (void *)SIG_DFL);

    /* Unlike libc's reserved signals, a real-time signal can be blocked. */
    pthread_t masked;
    CHILD_CHECK(pthread_create(&masked, NULL, masked_main, NULL) == 0);
    while (atomic_load(&started) < 2) sched_yield();
    CHILD_CHECK(stop_resume() == CHOOK_ETHREADS);
    CHILD_CHECK(strstr(chook_last_error(), "blocks the signal") != NULL);
    CHILD_CHECK(strstr(chook_last_error(), "signal 38") != NULL || SIGRTMIN + 4 != 38);
    spin_flag = 1;
    pthread_join(th, NULL);
    pthread_join(masked, NULL);
    CHILD_CHECK(stop_resume() == CHOOK_OK);
}

Test(stop_signals, a_configured_real_time_signal_is_used_and_can_be_blocked)
{
    int line = run_in_child(configured_signal_child);
    cr_assert_eq(line, 0, "the check at line %d failed in the child", line);
}

Test(stop_signals, a_thread_blocking_every_signal_even_sigtrap_fails_the_stop)
{
    /* Asleep, but it could not take the trap of a breakpoint-first write (with
     * SIGTRAP blocked the kernel kills the process): the stop must fail instead. */
    pthread_t th;
    sleeper_keeps_sigtrap = 0;
    cr_assert_eq(pthread_create(&th, NULL, sleeper_main, NULL), 0);
    cr_assert(live_wait_count(&started, 1));
    live_sleep_ms(20);
    chook_config cfg = { .stop_timeout_ms = 100 };
    cr_assert_eq(chook_configure(&cfg), CHOOK_OK);
    chook__world *w = NULL;
    chook__commit_lock();
    int st = chook__world_stop(&w);
    if (st == CHOOK_OK) chook__world_resume(w);
    chook__commit_unlock();
    __atomic_store_n(&sleeper_word, 1, __ATOMIC_RELEASE);
    syscall(SYS_futex, &sleeper_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    pthread_join(th, NULL);
    cr_assert_eq(st, CHOOK_ETHREADS);
    cr_assert(strstr(chook_last_error(), "blocks the signal"), "%s", chook_last_error());
    cr_assert_eq(atomic_load(&blocker_survived), 1);
}
