/*
 * Breakpoint-first patching (trap.h): a thread that runs into a breakpoint chook
 * placed continues where chook said; traps that are not chook's reach the
 * application's own SIGTRAP handler; and a commit with a thread that blocks
 * chook's stop signal while asleep goes through breakpoint first and hooks it.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/futex.h>

#include "chook.h"
#include "internal.h"
#include "stop.h"
#include "trap.h"

__attribute__((noinline)) int trap_from(int x)
{
    int r = x;
    for (int i = 0; i < 3; i++) r += i;
    __asm__ volatile("" : "+r"(r));
    return r;
}

__attribute__((noinline)) int trap_to(int x)
{
    __asm__ volatile("");
    return x + 1000;
}

Test(trap, a_thread_on_chooks_breakpoint_continues_where_chook_said)
{
    int (*volatile f)(int) = trap_from;
    cr_assert_eq(f(1), 4);
    uint8_t saved, bp[8];
    size_t bl = chook_arch_write_breakpoint(bp);
    cr_assert_eq(bl, 1);
    memcpy(&saved, (void *)trap_from, 1);
    cr_assert_eq(chook__trap_prepare(1), CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(chook__trap_install_handler(), 0);
    chook__trap_set((uintptr_t)trap_from, (uintptr_t)trap_to);
    cr_assert_eq(chook__code_write((uintptr_t)trap_from, bp, bl), CHOOK_OK);
    int r = f(1);
    cr_assert_eq(chook__code_write((uintptr_t)trap_from, &saved, 1), CHOOK_OK);
    cr_assert_eq(r, 1001, "the breakpoint did not send the thread to its destination");
    cr_assert_eq(f(1), 4);
}

static volatile sig_atomic_t app_traps;
static void app_trap_handler(int sig) { (void)sig; app_traps++; }

Test(trap, traps_that_are_not_chooks_reach_the_application_handler)
{
    struct sigaction sa = { 0 };
    sa.sa_handler = app_trap_handler;
    cr_assert_eq(sigaction(SIGTRAP, &sa, NULL), 0);
    /* chook installs its handler over the application's, and keeps it to forward. */
    cr_assert_eq(chook__trap_prepare(1), CHOOK_OK);
    cr_assert_eq(chook__trap_install_handler(), 0);
    raise(SIGTRAP);
    cr_assert_eq(app_traps, 1);
    __asm__ volatile("int3"); /* a breakpoint of the application's own */
    cr_assert_eq(app_traps, 2);
}

static int plain_target(int x)
{
    int r = x;
    for (int i = 0; i < 4; i++) r ^= i;
    __asm__ volatile("" : "+r"(r));
    return r;
}

static int plain_replacement(int x) { return x; }

Test(trap, commits_that_need_no_breakpoint_leave_sigtrap_alone)
{
    struct sigaction before, after;
    cr_assert_eq(sigaction(SIGTRAP, NULL, &before), 0);
    cr_assert_eq(chook_install((void *)plain_target, (void *)plain_replacement, NULL), CHOOK_OK,
                 "%s", chook_last_error());
    cr_assert_eq(chook_uninstall((void *)plain_target), CHOOK_OK);
    cr_assert_eq(sigaction(SIGTRAP, NULL, &after), 0);
    cr_assert_eq((void *)after.sa_handler, (void *)before.sa_handler,
                 "chook changed the SIGTRAP disposition without needing to");
}

/* ---- end to end: a commit with an unparked thread ------------------------------ */

static int sleeper_word;
static atomic_int sleeper_ready;
static atomic_int sleeper_result;
static pid_t sleeper_tid;
static int stop_signal;

__attribute__((noinline)) int bp_target(int x)
{
    int r = 0;
    for (int i = 0; i < x; i++) r += 2;
    __asm__ volatile("" : "+r"(r));
    return r;
}

static int bp_replacement(int x) { return -x; }

static void *sleeper(void *arg)
{
    (void)arg;
    /* Block chook's stop signal (as a raw system call would, so the C library
     * cannot filter it), keep SIGTRAP, and sleep in the kernel. */
    uint64_t mask = (uint64_t)1 << (stop_signal - 1);
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, &mask, NULL, sizeof mask);
    sleeper_tid = (pid_t)syscall(SYS_gettid);
    atomic_store(&sleeper_ready, 1);
    while (!__atomic_load_n(&sleeper_word, __ATOMIC_ACQUIRE))
        syscall(SYS_futex, &sleeper_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    int (*volatile f)(int) = bp_target;
    atomic_store(&sleeper_result, f(5));
    return NULL;
}

Test(trap, a_commit_with_a_thread_that_blocks_the_stop_signal_goes_breakpoint_first)
{
    pthread_t th;
    /* chook's default stop signal: the one the C library never lets a thread
     * block through its own functions (the test runner's helper thread parks
     * with it). The sleeper blocks it with a raw system call. */
    sigset_t all;
    sigfillset(&all);
    for (int s = SIGRTMIN - 1; s > 31 && !stop_signal; s--)
        if (!sigismember(&all, s)) stop_signal = s;
    cr_assert_neq(stop_signal, 0);
    chook_config cfg = { .stop_timeout_ms = 200 };
    cr_assert_eq(chook_configure(&cfg), CHOOK_OK);
    cr_assert_eq(pthread_create(&th, NULL, sleeper, NULL), 0);
    while (!atomic_load(&sleeper_ready)) usleep(1000);
    usleep(20000);
    /* Without breakpoint-first writes this commit would fail: the sleeper never
     * parks. */

    cr_assert_eq(chook_install((void *)bp_target, (void *)bp_replacement, NULL), CHOOK_OK,
                 "%s", chook_last_error());
    __atomic_store_n(&sleeper_word, 1, __ATOMIC_RELEASE);
    syscall(SYS_futex, &sleeper_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    pthread_join(th, NULL);
    cr_assert_eq(atomic_load(&sleeper_result), -5, "the unparked thread missed the hook");
    cr_assert_eq(chook_uninstall((void *)bp_target), CHOOK_OK);
    int (*volatile f)(int) = bp_target;
    cr_assert_eq(f(5), 10);
}
