/*
 * Where hooks may be installed from: inside a replacement (while other threads
 * call the same target), from several threads at once, and from a constructor
 * that runs before main.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "chook.h"
#include "live_util.h"
#include "live_targets.h"

/* ---- from a constructor -------------------------------------------------------- */

static int ctor_status = -1000;
static long ctor_result_hooked = -1;

__attribute__((constructor)) static void install_before_main(void)
{
    ctor_status = chook_install((void *)live_many_table[7], live_many_repl_table[7],
                                &live_many_orig[7]);
    if (ctor_status == CHOOK_OK) ctor_result_hooked = live_many_table[7](1);
}

Test(live_reentry, a_hook_installed_by_a_constructor_before_main_works)
{
    cr_assert_eq(ctor_status, CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(ctor_result_hooked, 8);
    long hits = __atomic_load_n(&live_many_repl_hits, __ATOMIC_SEQ_CST);
    cr_assert_eq(live_many_table[7](2), 9);
    cr_assert_eq(__atomic_load_n(&live_many_repl_hits, __ATOMIC_SEQ_CST), hits + 1,
                 "the call did not go through the replacement");
    cr_assert_eq(chook_uninstall((void *)live_many_table[7]), CHOOK_OK, "%s",
                 chook_last_error());
    cr_assert_eq(live_many_table[7](2), 9);
    cr_assert_eq(__atomic_load_n(&live_many_repl_hits, __ATOMIC_SEQ_CST), hits + 1);
}

/* ---- from inside a replacement ------------------------------------------------- */

static long (*orig_target)(long);
static atomic_int inner_status = CHOOK_OK;
static atomic_long outer_calls, wrong;
static __thread int my_target = -1; /* a target of live_many_table per caller */

/* Every call of the hooked live_target installs a hook on the caller's own
 * target, checks it, and removes it again: from inside the replacement, while
 * the other caller runs the same replacement. */
static long replacement(long x)
{
    atomic_fetch_add(&outer_calls, 1);
    int n = my_target;
    int st = chook_install((void *)live_many_table[n], live_many_repl_table[n],
                           &live_many_orig[n]);
    long hits = __atomic_load_n(&live_many_repl_hits, __ATOMIC_SEQ_CST);
    if (st == CHOOK_OK && (live_many_table[n](x) != x + n ||
                           __atomic_load_n(&live_many_repl_hits, __ATOMIC_SEQ_CST) == hits))
        st = -1000; /* wrong value, or the new hook did not run */
    if (st == CHOOK_OK) st = chook_uninstall((void *)live_many_table[n]);
    if (st != CHOOK_OK) atomic_store(&inner_status, st);
    return orig_target(x);
}

static atomic_int started;

static void *caller_main(void *arg)
{
    my_target = 3 + (int)(intptr_t)arg;
    atomic_fetch_add(&started, 1);
    int calls = live_long_mode() ? 2000 : 50;
    for (long x = 0; x < calls; x++) {
        if (live_target(x) != 2 * x + 1) atomic_fetch_add(&wrong, 1);
        if (live_many_table[my_target](x) != x + my_target) atomic_fetch_add(&wrong, 1);
    }
    return NULL;
}

Test(live_reentry, a_replacement_can_install_and_remove_hooks)
{
    pthread_t th[2];
    cr_assert_eq(chook_install((void *)live_target, (void *)replacement, (void **)&orig_target),
                 CHOOK_OK, "%s", chook_last_error());
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, caller_main, (void *)(intptr_t)i), 0);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    cr_assert_eq(chook_uninstall((void *)live_target), CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(atomic_load(&outer_calls), 2 * (live_long_mode() ? 2000 : 50));
    cr_assert_eq(atomic_load(&inner_status), CHOOK_OK,
                 "an install from a replacement failed: %d", atomic_load(&inner_status));
    cr_assert_eq(atomic_load(&wrong), 0);
}

/* ---- from several threads at once --------------------------------------------- */

#define INSTALLERS 4
#define PER_THREAD 50

static atomic_int installer_failures;
static char installer_error[256];

static void *installer_main(void *arg)
{
    int base = 100 + (int)(intptr_t)arg * PER_THREAD;
    int rounds = live_long_mode() ? 200 : 10;
    atomic_fetch_add(&started, 1);
    while (atomic_load(&started) < INSTALLERS) sched_yield(); /* start together */
    for (int r = 0; r < rounds; r++) {
        for (int n = base; n < base + PER_THREAD; n++) {
            int st = chook_install((void *)live_many_table[n], live_many_repl_table[n],
                                   &live_many_orig[n]);
            if (st == CHOOK_OK && live_many_table[n](n) != 2 * n) st = -1000;
            if (st == CHOOK_OK) st = chook_uninstall((void *)live_many_table[n]);
            if (st != CHOOK_OK && atomic_fetch_add(&installer_failures, 1) == 0)
                snprintf(installer_error, sizeof installer_error, "live_many_%d: %d %s", n,
                         st, chook_last_error());
        }
    }
    return NULL;
}

Test(live_reentry, several_threads_install_and_uninstall_at_once)
{
    pthread_t th[INSTALLERS];
    for (int i = 0; i < INSTALLERS; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, installer_main, (void *)(intptr_t)i), 0);
    for (int i = 0; i < INSTALLERS; i++) pthread_join(th[i], NULL);
    cr_assert_eq(atomic_load(&installer_failures), 0, "%s", installer_error);
    for (int n = 100; n < 100 + INSTALLERS * PER_THREAD; n++)
        cr_assert_eq(live_many_table[n](1), 1 + n);
}
