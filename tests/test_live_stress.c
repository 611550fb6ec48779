/*
 * Live patching under load: threads call hooked functions in tight loops while
 * hooks are installed and removed, one at a time and in transactions of 1,000,
 * and while the process forks. Every call must return the right value, every call
 * is counted on the path it took (the replacement, or the original directly), and
 * the totals must match the calls made.
 *
 * Short by default; CHOOK_STRESS=long runs the full counts of the issue (20,000
 * install/uninstall cycles, 1,000 transaction toggles, 2,000 forks).
 */
#include <criterion/criterion.h>
#include <sys/wait.h>

#include "chook.h"
#include "live_util.h"
#include "live_targets.h"

#define CALLERS 4

static volatile int callers_stop;
static atomic_int started;
static atomic_long calls_made, wrong_results;
static pthread_t callers[CALLERS];

static void join_callers(void)
{
    callers_stop = 1;
    for (int i = 0; i < CALLERS; i++) pthread_join(callers[i], NULL);
}

static void start_callers(void *(*fn)(void *))
{
    callers_stop = 0;
    for (int i = 0; i < CALLERS; i++)
        cr_assert_eq(pthread_create(&callers[i], NULL, fn, (void *)(intptr_t)i), 0);
    cr_assert(live_wait_count(&started, CALLERS));
}

/* ---- one hook, installed and removed -------------------------------------------- */

static long (*original_target)(long);
static atomic_long replacement_hits;

static long replacement_target(long x)
{
    atomic_fetch_add_explicit(&replacement_hits, 1, memory_order_relaxed);
    return original_target(x);
}

static void *target_caller(void *arg)
{
    long x = (long)(intptr_t)arg * 1000003;
    long made = 0, wrong = 0;
    atomic_fetch_add(&started, 1);
    while (!callers_stop) {
        for (int k = 0; k < 64; k++, x++) {
            wrong += live_target(x) != 2 * x + 1;
            made++;
        }
    }
    atomic_fetch_add(&calls_made, made);
    atomic_fetch_add(&wrong_results, wrong);
    return NULL;
}

Test(live_stress, install_and_uninstall_while_four_threads_call_the_target)
{
    int cycles = live_long_mode() ? 20000 : 2000;
    start_callers(target_caller);
    int failures = 0;
    for (int i = 0; i < cycles; i++) {
        int a = chook_install((void *)live_target, (void *)replacement_target,
                              (void **)&original_target);
        int b = chook_uninstall((void *)live_target);
        if (a != CHOOK_OK || b != CHOOK_OK) {
            if (!failures) cr_log_error("cycle %d: %d %d: %s", i, a, b, chook_last_error());
            failures++;
        }
    }
    join_callers();
    long made = atomic_load(&calls_made), hits = atomic_load(&replacement_hits);
    cr_assert_eq(failures, 0, "%d of %d cycles failed", failures, cycles);
    cr_assert_eq(atomic_load(&wrong_results), 0, "%ld calls returned a wrong value",
                 atomic_load(&wrong_results));
    cr_assert_eq(__atomic_load_n(&live_target_calls, __ATOMIC_SEQ_CST), made,
                 "the original ran %ld times for %ld calls", live_target_calls, made);
    cr_assert_gt(hits, 0, "no call ever took the replacement");
    cr_assert_lt(hits, made, "no call ever took the original directly");
    cr_log_info("%d cycles, %ld calls: %ld through the replacement, %ld direct", cycles,
                made, hits, made - hits);
}

/* ---- 1,000 hooks in one transaction ---------------------------------------------- */

static void *many_caller(void *arg)
{
    uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)((intptr_t)arg + 1);
    long made = 0, wrong = 0;
    atomic_fetch_add(&started, 1);
    while (!callers_stop) {
        for (int k = 0; k < 64; k++) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            unsigned n = (unsigned)(seed % LIVE_MANY);
            long x = (long)(seed >> 40);
            wrong += live_many_table[n](x) != x + (long)n;
            made++;
        }
    }
    atomic_fetch_add(&calls_made, made);
    atomic_fetch_add(&wrong_results, wrong);
    return NULL;
}

static int toggle_all(int install)
{
    int st = chook_transaction_begin();
    for (int n = 0; st == CHOOK_OK && n < LIVE_MANY; n++)
        st = install ? chook_install((void *)live_many_table[n], live_many_repl_table[n],
                                     &live_many_orig[n])
                     : chook_uninstall((void *)live_many_table[n]);
    if (st != CHOOK_OK) {
        chook_transaction_abort();
        return st;
    }
    return chook_transaction_commit();
}

Test(live_stress, a_transaction_of_1000_hooks_toggled_while_threads_call_them)
{
    int toggles = live_long_mode() ? 1000 : 100;
    start_callers(many_caller);
    int failures = 0;
    for (int i = 0; i < toggles; i++) {
        int a = toggle_all(1);
        int b = toggle_all(0);
        if (a != CHOOK_OK || b != CHOOK_OK) {
            if (!failures) cr_log_error("toggle %d: %d %d: %s", i, a, b, chook_last_error());
            failures++;
        }
    }
    join_callers();
    long made = atomic_load(&calls_made);
    long hits = __atomic_load_n(&live_many_repl_hits, __ATOMIC_SEQ_CST);
    cr_assert_eq(failures, 0, "%d of %d toggles failed", failures, toggles);
    cr_assert_eq(atomic_load(&wrong_results), 0, "%ld calls returned a wrong value",
                 atomic_load(&wrong_results));
    cr_assert_eq(__atomic_load_n(&live_many_calls, __ATOMIC_SEQ_CST), made,
                 "the originals ran %ld times for %ld calls", live_many_calls, made);
    cr_assert_gt(hits, 0, "no call ever took a replacement");
    cr_assert_lt(hits, made, "no call ever took an original directly");
    /* Every original is back. */
    for (int n = 0; n < LIVE_MANY; n++) {
        chook_probe_info info;
        cr_assert_eq(chook_probe((void *)live_many_table[n], &info), CHOOK_OK);
        cr_assert_eq(info.hooked, 0, "live_many_%d is still hooked", n);
    }
}

/* ---- fork while hooks change --------------------------------------------------- */

static atomic_int toggler_failures;
static long (*child_original)(long);
static atomic_int child_hits;

static long child_replacement(long x)
{
    atomic_fetch_add(&child_hits, 1);
    return child_original(x);
}

static void *toggler_main(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started, 1);
    while (!callers_stop) {
        if (chook_install((void *)live_target, (void *)replacement_target,
                          (void **)&original_target) != CHOOK_OK ||
            chook_uninstall((void *)live_target) != CHOOK_OK)
            atomic_fetch_add(&toggler_failures, 1);
    }
    return NULL;
}

Test(live_stress, fork_while_another_thread_installs_and_uninstalls)
{
    int forks = live_long_mode() ? 2000 : 100;
    pthread_t toggler;
    callers_stop = 0;
    cr_assert_eq(pthread_create(&toggler, NULL, toggler_main, NULL), 0);
    cr_assert(live_wait_count(&started, 1));
    int bad = 0, first_status = 0;
    for (int i = 0; i < forks; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            alarm(10); /* a child that inherited a held lock would hang */
            if (live_target(20) != 41) _exit(1);
            /* The child can hook too: its commit state is clean. The parent's hook
             * may be installed at the fork; this one chains on top of it. */
            if (chook_install((void *)live_target, (void *)child_replacement,
                              (void **)&child_original) != CHOOK_OK)
                _exit(2);
            if (live_target(20) != 41 || atomic_load(&child_hits) != 1) _exit(3);
            if (chook_uninstall((void *)live_target) != CHOOK_OK) _exit(4);
            if (live_target(20) != 41 || atomic_load(&child_hits) != 1) _exit(5);
            _exit(0);
        }
        cr_assert_gt(pid, 0);
        int status = 0;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            if (!bad) first_status = status;
            bad++;
            break; /* one is enough to fail; do not wait for more hung children */
        }
    }
    callers_stop = 1;
    pthread_join(toggler, NULL);
    cr_assert_eq(bad, 0, "a child failed (status %#x: exit code = failed step, signal 14 "
                 "= it hung)", first_status);
    cr_assert_eq(atomic_load(&toggler_failures), 0, "%s", chook_last_error());
}
