/*
 * The handle table (src/handle.c) and handles under concurrency: generations make
 * every released handle stale for good, values chook never gave out are garbage,
 * and a stale handle never reaches the newer object that reuses its record, also
 * while other threads install and remove hooks at the same time.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "chook.h"
#include "handle.h"

TestSuite(handles, .timeout = 120);

Test(handles, a_released_handle_is_stale_and_its_entry_serves_a_new_generation)
{
    int a, b;
    uintptr_t h1 = chook__handle_new(CHOOK__H_HOOK, &a);
    cr_assert_neq(h1, 0);
    void *obj = NULL;
    cr_expect_eq(chook__handle_get(h1, CHOOK__H_HOOK, "hook", &obj), CHOOK_OK);
    cr_expect_eq(obj, &a);
    cr_expect_eq(chook__handle_peek(h1, CHOOK__H_HOOK), &a);
    cr_expect_null(chook__handle_peek(h1, CHOOK__H_LISTENER), "another kind is not it");
    chook__handle_release(h1);
    cr_expect_eq(chook__handle_get(h1, CHOOK__H_HOOK, "hook", &obj), CHOOK_ENOTHOOKED);
    cr_expect(strstr(chook_last_error(), "stale"), "%s", chook_last_error());
    uintptr_t h2 = chook__handle_new(CHOOK__H_HOOK, &b);
    cr_expect_neq(h2, h1, "a new generation");
    cr_expect_eq(chook__handle_peek(h2, CHOOK__H_HOOK), &b);
    cr_expect_null(chook__handle_peek(h1, CHOOK__H_HOOK), "the old handle stays stale");
    cr_expect_eq(chook__handle_current(h1), 0);
    cr_expect_eq(chook__handle_current(h2), 1);
    chook__handle_release(h2);
    chook__handle_release(h2); /* releasing a stale handle changes nothing */
    cr_expect_eq(chook__handle_current(h2), 0);
}

Test(handles, values_chook_never_gave_out_are_garbage)
{
    int a;
    uintptr_t h = chook__handle_new(CHOOK__H_LISTENER, &a);
    void *obj;
    uintptr_t bad[] = { 1, 16, (uintptr_t)&a, (uintptr_t)-1, h + ((uintptr_t)1 << 32),
                        (h & ~(uintptr_t)15) | CHOOK__H_HOOK, h + (1u << 24) * 16 };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_expect_eq(chook__handle_get(bad[i], CHOOK__H_LISTENER, "listener", &obj),
                     CHOOK_EINVAL, "value %#lx", (unsigned long)bad[i]);
        cr_expect(strstr(chook_last_error(), "not a valid listener handle"), "%s",
                  chook_last_error());
    }
    cr_expect_eq(chook__handle_get(0, CHOOK__H_LISTENER, "listener", &obj), CHOOK_EINVAL);
    chook__handle_release(h);
}

Test(handles, many_handles_span_several_chunks)
{
    enum { N = 10000 }; /* more than one chunk of 4096 entries */
    static uintptr_t h[N];
    static int objs[N];
    for (int i = 0; i < N; i++) {
        h[i] = chook__handle_new(CHOOK__H_SLOT, &objs[i]);
        cr_assert_neq(h[i], 0);
    }
    for (int i = 0; i < N; i++) cr_assert_eq(chook__handle_peek(h[i], CHOOK__H_SLOT), &objs[i]);
    for (int i = 0; i < N; i += 2) chook__handle_release(h[i]);
    for (int i = 0; i < N; i++)
        cr_assert_eq(chook__handle_peek(h[i], CHOOK__H_SLOT), i % 2 ? (void *)&objs[i] : NULL);
    for (int i = 1; i < N; i += 2) chook__handle_release(h[i]);
}

/* ---- concurrency ------------------------------------------------------------- */

__attribute__((noipa)) int hc_target(int x)
{
    volatile int k = x;
    return k * 7 + 3;
}
__attribute__((noipa)) int hc_repl(int x) { return x + 100; }
__attribute__((noipa)) int hc_repl2(int x) { return x + 200; }

static chook_hook *stale[64];
static volatile int nstale, stop;
static int wrong_active, wrong_remove;

static void *poke_stale(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
        int n = __atomic_load_n(&nstale, __ATOMIC_ACQUIRE);
        for (int i = 0; i < n; i++) {
            if (chook_hook_active(stale[i])) __atomic_add_fetch(&wrong_active, 1, __ATOMIC_RELAXED);
            if (chook_remove(stale[i]) != CHOOK_ENOTHOOKED)
                __atomic_add_fetch(&wrong_remove, 1, __ATOMIC_RELAXED);
        }
    }
    return NULL;
}

Test(handles, stale_handles_never_reach_newer_hooks_while_threads_race)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++) cr_assert_eq(pthread_create(&t[i], NULL, poke_stale, NULL), 0);
    for (int round = 0; round < 200; round++) {
        chook_hook *h, *keep;
        void *repl = round % 2 ? (void *)hc_repl : (void *)hc_repl2;
        cr_assert_eq(chook_install_ex((void *)hc_target, repl, NULL, &keep), CHOOK_OK, "%s",
                     chook_last_error());
        cr_assert_eq(chook_install_ex((void *)hc_target, round % 2 ? (void *)hc_repl2
                                                                    : (void *)hc_repl,
                                      NULL, &h), CHOOK_OK, "%s", chook_last_error());
        cr_assert_eq(chook_remove(h), CHOOK_OK, "%s", chook_last_error());
        if (nstale < 64) {
            stale[nstale] = h;
            __atomic_store_n(&nstale, nstale + 1, __ATOMIC_RELEASE);
        }
        cr_assert_eq(chook_hook_active(keep), 1, "round %d: the live hook is untouched", round);
        cr_assert_eq(hc_target(1), round % 2 ? 101 : 201, "round %d", round);
        cr_assert_eq(chook_remove(keep), CHOOK_OK, "%s", chook_last_error());
        if (nstale < 64) {
            stale[nstale] = keep;
            __atomic_store_n(&nstale, nstale + 1, __ATOMIC_RELEASE);
        }
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    cr_expect_eq(wrong_active, 0, "a stale handle was reported active");
    cr_expect_eq(wrong_remove, 0, "a stale handle was not refused");
    cr_expect_eq(hc_target(1), 10);
}
