/*
 * The base layer's services (src/base/): the runtime page size.
 */
#include <criterion/criterion.h>
#include <unistd.h>

#include "internal.h"

Test(base, page_size_is_the_kernels)
{
    long ps = sysconf(_SC_PAGESIZE);
    cr_assert_gt(ps, 0);
    cr_assert_eq(chook__page_size(), (size_t)ps);
    cr_assert_eq(chook__page_size() & (chook__page_size() - 1), 0, "a power of two");
}

/* ---- lock ranks (lockrank.h) ------------------------------------------------------ */

#include "chook.h"
#include "lockrank.h"

Test(lockrank, wrong_order_is_counted_in_debug_builds)
{
    static chook__mutex outer, inner; /* zero: unlocked, unranked */
    outer.rank = CHOOK_RANK_MODULES;
    inner.rank = CHOOK_RANK_MAPS;
    unsigned long before = chook__lockrank_violations();

    /* The right order: no violation. */
    chook__mutex_lock(&outer);
    chook__mutex_lock(&inner);
    chook__mutex_unlock(&inner);
    chook__mutex_unlock(&outer);
    cr_assert_eq(chook__lockrank_violations(), before);

    /* The wrong order: taking MODULES while MAPS is held. */
    chook__mutex_lock(&inner);
    chook__mutex_lock(&outer);
    chook__mutex_unlock(&outer);
    chook__mutex_unlock(&inner);
    if (chook__lockrank_checked()) {
        cr_assert_eq(chook__lockrank_violations(), before + 1);
        int held, taken;
        chook__lockrank_last(&held, &taken);
        cr_assert_eq(held, CHOOK_RANK_MAPS);
        cr_assert_eq(taken, CHOOK_RANK_MODULES);
    } else {
        /* Release build: nothing is tracked, at no cost. */
        cr_assert_eq(chook__lockrank_violations(), 0);
    }

    /* The same rank twice is a violation too (the mutex is not recursive). */
    chook__mutex_lock(&inner);
    static chook__mutex twin;
    twin.rank = CHOOK_RANK_MAPS;
    chook__mutex_lock(&twin);
    chook__mutex_unlock(&twin);
    chook__mutex_unlock(&inner);
    if (chook__lockrank_checked()) cr_assert_eq(chook__lockrank_violations(), before + 2);
}

__attribute__((noinline)) static int lr_target(int x)
{
    volatile int acc = x;
    for (int i = 0; i < 3; i++) acc += i;
    return acc * 3 + 1;
}
static int lr_repl(int x) { return x; }

Test(lockrank, library_paths_keep_the_order)
{
    /* Install and remove through the commit, stop, memory and handle locks; in
     * a debug build the order check sees each lock taken. */
    unsigned long before = chook__lockrank_violations();
    int (*volatile t)(int) = lr_target;
    void *orig = NULL;
    cr_assert_eq(chook_install((void *)t, (void *)lr_repl, &orig), CHOOK_OK, "%s",
                 chook_last_error());
    cr_assert_eq(t(5), 5);
    cr_assert_eq(((int (*)(int))orig)(5), 25);
    cr_assert_eq(chook_uninstall((void *)t), CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(t(5), 25);
    cr_assert_eq(chook__lockrank_violations(), before, "lock order violations");
}
