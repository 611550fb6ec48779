/*
 * The program-counter fix-up: a thread whose pc lies inside the bytes a hook
 * overwrites is moved to the same instruction in the trampoline, and completes
 * its call correctly.
 *
 * The fixture blocks in a futex wait whose syscall instruction sits inside the
 * target's first five bytes (tests/fixtures/live_targets.S). While it waits, the
 * kernel reports its user pc in /proc/self/task/<tid>/syscall, which proves the
 * precondition; after the install the thread is woken and must return through
 * the trampoline. Without the fix-up it would resume in the middle of the jump
 * chook wrote, and crash.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <linux/futex.h>

#include "chook.h"
#include "live_util.h"

long live_prologue_wait(int *word, int val);
long live_in_prologue(void);
extern const char live_in_prologue_syscall[];

static atomic_int started;
static int futex_word;
static atomic_int waiter_done;
static atomic_long waiter_result;
static pid_t waiter_tid;
static atomic_long replacement_calls;

static void *waiter_main(void *arg)
{
    (void)arg;
    waiter_tid = gettid();
    atomic_fetch_add(&started, 1);
    long r;
    do {
        r = live_prologue_wait(&futex_word, 0);
    } while (r == -EINTR || (r == 0 && __atomic_load_n(&futex_word, __ATOMIC_ACQUIRE) == 0));
    atomic_store(&waiter_result, r);
    atomic_store(&waiter_done, 1);
    return NULL;
}

static long replacement(void)
{
    atomic_fetch_add(&replacement_calls, 1);
    return 777;
}

/* The user pc of thread tid while it is blocked in a system call, or 0. */
static uintptr_t blocked_pc(pid_t tid, long *nr)
{
    char path[64], text[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    unsigned long v[9];
    if (sscanf(text, "%ld %lx %lx %lx %lx %lx %lx %lx %lx", nr, &v[0], &v[1], &v[2], &v[3],
               &v[4], &v[5], &v[6], &v[7]) != 9)
        return 0;
    return v[7];
}

Test(live_fixup, a_thread_parked_inside_the_patched_bytes_completes_through_the_trampoline)
{
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, waiter_main, NULL), 0);
    cr_assert(live_wait_count(&started, 1));

    /* Precondition: the thread is blocked on the syscall inside the target. */
    uintptr_t after_syscall = (uintptr_t)live_in_prologue_syscall + 2;
    uintptr_t pc = 0;
    long nr = -1;
    for (int i = 0; i < 2000 && pc != after_syscall; i++) {
        live_sleep_ms(1);
        pc = blocked_pc(waiter_tid, &nr);
    }
    cr_assert_eq(pc, after_syscall, "the waiter is not blocked inside the prologue "
                 "(syscall %ld at pc %#lx)", nr, (unsigned long)pc);
    chook_probe_info info;
    cr_assert_eq(chook_probe((void *)live_in_prologue, &info), CHOOK_OK);
    cr_assert_eq(info.status, CHOOK_OK, "%s", info.reason);
    cr_assert_gt(pc, (uintptr_t)info.patch_address);
    cr_assert_lt(pc, (uintptr_t)info.patch_address + info.patch_size,
                 "the syscall is not inside the patched bytes");

    long (*original)(void) = NULL;
    cr_assert_eq(chook_install((void *)live_in_prologue, (void *)replacement,
                               (void **)&original), CHOOK_OK, "%s", chook_last_error());

    /* Release it: it restarts its futex wait, returns, and leaves the function. */
    __atomic_store_n(&futex_word, 1, __ATOMIC_RELEASE);
    syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    struct timespec limit;
    clock_gettime(CLOCK_REALTIME, &limit);
    limit.tv_sec += 5;
    cr_assert_eq(pthread_timedjoin_np(th, NULL, &limit), 0, "the waiter never returned");
    cr_assert_eq(atomic_load(&waiter_done), 1);
    long r = atomic_load(&waiter_result);
    cr_assert(r == 0 || r == -EAGAIN, "the futex call returned %ld", r);
    cr_assert_eq(atomic_load(&replacement_calls), 0,
                 "the thread already inside the target was sent to the replacement");

    /* New calls take the hook; the trampoline alone still runs the original. */
    cr_assert_eq(live_prologue_wait(&futex_word, 0), 777);
    cr_assert_eq(atomic_load(&replacement_calls), 1);
    cr_assert_eq(chook_uninstall((void *)live_in_prologue), CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(live_prologue_wait(&futex_word, 0), -EAGAIN, "the original is not back");
}
