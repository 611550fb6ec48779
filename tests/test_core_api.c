/*
 * The inline-hook API on functions of this executable: install, call the
 * original, uninstall, chains, handles, transactions, probe, and every kind of
 * bad input (each gives its own status and leaves the process as it was).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "chook.h"

/* Targets: big enough to patch, kept out of line. */
__attribute__((noinline)) int target_scale(int x)
{
    int r = 0;
    for (int i = 0; i < x; i++) r += 3;
    __asm__ volatile("" : "+r"(r));
    return r;
}

__attribute__((noinline)) int target_other(int x)
{
    int r = 1;
    for (int i = 0; i < x; i++) r *= 2;
    __asm__ volatile("" : "+r"(r));
    return r;
}

__attribute__((noinline)) int target_third(int x)
{
    int r = 7;
    for (int i = 0; i < x; i++) r ^= i * 5;
    __asm__ volatile("" : "+r"(r));
    return r;
}

static int data_word = 42;
typedef int (*int_fn)(int);

/* Calls through a volatile pointer so the compiler cannot fold the call. */
static int call(int_fn f, int x)
{
    int_fn volatile p = f;
    return p(x);
}

static void snapshot(const void *fn, unsigned char out[32])
{
    memcpy(out, fn, 32);
}

/* ---- a single hook ---------------------------------------------------------- */

static int_fn orig_scale;
static int repl_scale(int x) { return orig_scale(x) + 1000; }

Test(install, replacement_runs_and_original_behaves_like_the_unhooked_function)
{
    unsigned char before[32], after[32];
    snapshot(target_scale, before);
    cr_assert_eq(call(target_scale, 4), 12);
    cr_assert_eq(chook_install(target_scale, repl_scale, (void **)&orig_scale), CHOOK_OK,
                 "%s", chook_last_error());
    cr_assert_not_null(orig_scale);
    cr_assert_eq(call(target_scale, 4), 1012);
    cr_assert_eq(call(orig_scale, 4), 12);
    cr_assert_eq(call(orig_scale, 0), 0);
    cr_assert_neq(memcmp(target_scale, before, 5), 0, "target not patched");
    cr_assert_eq(chook_uninstall(target_scale), CHOOK_OK, "%s", chook_last_error());
    snapshot(target_scale, after);
    cr_assert_arr_eq(before, after, 32, "original bytes not restored exactly");
    cr_assert_eq(call(target_scale, 4), 12);
    /* The trampoline outlives the hook: a late caller still gets the original. */
    cr_assert_eq(call(orig_scale, 5), 15);
}

Test(install, original_may_be_null)
{
    cr_assert_eq(chook_install(target_other, target_third, NULL), CHOOK_OK, "%s",
                 chook_last_error());
    cr_assert_eq(call(target_other, 3), target_third(3));
    cr_assert_eq(chook_uninstall(target_other), CHOOK_OK);
    cr_assert_eq(call(target_other, 3), 8);
}

Test(install, reinstall_many_times_gives_the_same_trampoline)
{
    void *first = NULL;
    for (int i = 0; i < 50; i++) {
        cr_assert_eq(chook_install(target_scale, repl_scale, (void **)&orig_scale), CHOOK_OK);
        if (!first) first = (void *)orig_scale;
        cr_assert_eq((void *)orig_scale, first, "trampoline not reused");
        cr_assert_eq(call(target_scale, 2), 1006);
        cr_assert_eq(chook_uninstall(target_scale), CHOOK_OK);
    }
}

/* ---- chains ------------------------------------------------------------------ */

static char trail[64];
static int_fn orig_a, orig_b, orig_c;
static void mark(char c) { size_t n = strlen(trail); trail[n] = c; trail[n + 1] = 0; }
static int repl_a(int x) { mark('A'); return orig_a(x); }
static int repl_b(int x) { mark('B'); return orig_b(x); }
static int repl_c(int x) { mark('C'); return orig_c(x); }

static const char *run_chain(int x, int expect)
{
    trail[0] = 0;
    cr_assert_eq(call(target_third, x), expect);
    return trail;
}

Test(chain, newest_runs_first_and_each_original_leads_to_the_previous)
{
    int expect = target_third(6);
    chook_hook *a, *b, *c;
    cr_assert_eq(chook_install_ex(target_third, repl_a, (void **)&orig_a, &a), CHOOK_OK);
    cr_assert_eq(chook_install_ex(target_third, repl_b, (void **)&orig_b, &b), CHOOK_OK);
    cr_assert_eq(chook_install_ex(target_third, repl_c, (void **)&orig_c, &c), CHOOK_OK);
    cr_assert_str_eq(run_chain(6, expect), "CBA");
    cr_assert(chook_hook_active(b));

    cr_assert_eq(chook_remove(b), CHOOK_OK, "%s", chook_last_error());
    cr_assert_str_eq(run_chain(6, expect), "CA");
    cr_assert_eq(chook_remove(a), CHOOK_OK);
    cr_assert_str_eq(run_chain(6, expect), "C");
    cr_assert_eq(chook_install_ex(target_third, repl_b, (void **)&orig_b, &b), CHOOK_OK);
    cr_assert_str_eq(run_chain(6, expect), "BC");
    cr_assert_eq(chook_remove(c), CHOOK_OK);
    cr_assert_str_eq(run_chain(6, expect), "B");
    cr_assert_eq(chook_remove(b), CHOOK_OK);
    cr_assert_str_eq(run_chain(6, expect), "");
}

Test(chain, uninstall_removes_every_hook_and_restores_the_bytes)
{
    unsigned char before[32], after[32];
    snapshot(target_third, before);
    cr_assert_eq(chook_install(target_third, repl_a, (void **)&orig_a), CHOOK_OK);
    cr_assert_eq(chook_install(target_third, repl_b, (void **)&orig_b), CHOOK_OK);
    cr_assert_str_eq(run_chain(3, target_third(3) /* hooked: computed through the chain */),
                     "BA");
    cr_assert_eq(chook_uninstall(target_third), CHOOK_OK);
    snapshot(target_third, after);
    cr_assert_arr_eq(before, after, 32);
    cr_assert_str_eq(run_chain(3, 7 ^ 0 ^ 5 ^ 10), "");
}

Test(chain, the_same_replacement_twice_is_refused)
{
    cr_assert_eq(chook_install(target_third, repl_a, (void **)&orig_a), CHOOK_OK);
    cr_assert_eq(chook_install(target_third, repl_a, (void **)&orig_a), CHOOK_EEXIST);
    cr_assert(strstr(chook_last_error(), "already installed"), "%s", chook_last_error());
    cr_assert_str_eq(run_chain(2, 7 ^ 0 ^ 5), "A");
}

Test(chain, removed_handle_reports_not_hooked)
{
    chook_hook *h;
    cr_assert_eq(chook_install_ex(target_other, repl_a, (void **)&orig_a, &h), CHOOK_OK);
    cr_assert_eq(chook_remove(h), CHOOK_OK);
    cr_assert_not(chook_hook_active(h));
    cr_assert_eq(chook_remove(h), CHOOK_ENOTHOOKED);
}

/* ---- transactions -------------------------------------------------------------- */

static int repl_const(int x) { return 100 + x; }
static int repl_const2(int x) { return 200 + x; }

Test(transaction, applies_all_operations_at_commit)
{
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    cr_assert_eq(chook_install(target_scale, repl_const, NULL), CHOOK_OK);
    cr_assert_eq(chook_install(target_other, repl_const2, NULL), CHOOK_OK);
    cr_assert_eq(call(target_scale, 1), 3, "applied before commit");
    cr_assert_eq(chook_transaction_commit(), CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(call(target_scale, 1), 101);
    cr_assert_eq(call(target_other, 1), 201);

    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    cr_assert_eq(chook_uninstall(target_scale), CHOOK_OK);
    cr_assert_eq(chook_uninstall(target_other), CHOOK_OK);
    cr_assert_eq(chook_transaction_commit(), CHOOK_OK);
    cr_assert_eq(call(target_scale, 1), 3);
    cr_assert_eq(call(target_other, 1), 2);
}

Test(transaction, one_bad_operation_applies_nothing_and_names_the_target)
{
    unsigned char before[32], after[32];
    snapshot(target_scale, before);
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    cr_assert_eq(chook_install(target_scale, repl_const, NULL), CHOOK_OK);
    cr_assert_eq(chook_install((void *)&data_word, repl_const, NULL), CHOOK_ENOTEXEC);
    cr_assert_eq(chook_transaction_commit(), CHOOK_ENOTEXEC);
    char expect[64];
    snprintf(expect, sizeof expect, "%p", (void *)&data_word);
    cr_assert(strstr(chook_last_error(), expect + 2), "message does not name the target: %s",
              chook_last_error());
    snapshot(target_scale, after);
    cr_assert_arr_eq(before, after, 32, "a failed transaction patched something");
    cr_assert_eq(call(target_scale, 1), 3);
}

Test(transaction, abort_discards_everything)
{
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    cr_assert_eq(chook_install(target_scale, repl_const, NULL), CHOOK_OK);
    cr_assert_eq(chook_transaction_abort(), CHOOK_OK);
    cr_assert_eq(call(target_scale, 1), 3);
    cr_assert_eq(chook_uninstall(target_scale), CHOOK_ENOTHOOKED);
}

Test(transaction, misuse_is_reported)
{
    cr_assert_eq(chook_transaction_commit(), CHOOK_ETXN);
    cr_assert_eq(chook_transaction_abort(), CHOOK_ETXN);
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    cr_assert_eq(chook_transaction_begin(), CHOOK_ETXN);
    /* A nested begin is a failing call inside the open transaction: its commit
     * fails with it (and closes it). */
    cr_assert_eq(chook_transaction_commit(), CHOOK_ETXN);
    cr_assert(strstr(chook_last_error(), "do not nest"), "%s", chook_last_error());
    cr_assert_eq(chook_transaction_commit(), CHOOK_ETXN);
}

Test(transaction, install_and_remove_in_one_transaction_leaves_nothing)
{
    chook_hook *h;
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    cr_assert_eq(chook_install_ex(target_scale, repl_const, NULL, &h), CHOOK_OK);
    cr_assert_eq(chook_remove(h), CHOOK_OK);
    cr_assert_eq(chook_transaction_commit(), CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(call(target_scale, 1), 3);
    cr_assert_eq(chook_uninstall(target_scale), CHOOK_ENOTHOOKED);
}

/* ---- bad input ------------------------------------------------------------------ */

Test(bad_input, null_target_or_replacement)
{
    cr_assert_eq(chook_install(NULL, repl_const, NULL), CHOOK_EINVAL);
    cr_assert(strstr(chook_last_error(), "target is NULL"));
    cr_assert_eq(chook_install(target_scale, NULL, NULL), CHOOK_EINVAL);
    cr_assert(strstr(chook_last_error(), "replacement is NULL"));
    cr_assert_eq(chook_uninstall(NULL), CHOOK_EINVAL);
    cr_assert_eq(chook_remove(NULL), CHOOK_EINVAL);
}

Test(bad_input, replacement_equal_to_target)
{
    cr_assert_eq(chook_install(target_scale, target_scale, NULL), CHOOK_ESELF);
    cr_assert_eq(call(target_scale, 2), 6);
}

Test(bad_input, unmapped_target_and_replacement)
{
    cr_assert_eq(chook_install((void *)0x10, repl_const, NULL), CHOOK_EUNMAPPED);
    cr_assert(strstr(chook_last_error(), "0x10 is not mapped"), "%s", chook_last_error());
    cr_assert_eq(chook_install(target_scale, (void *)0x20, NULL), CHOOK_EUNMAPPED);
    cr_assert(strstr(chook_last_error(), "replacement"), "%s", chook_last_error());
    cr_assert_eq(call(target_scale, 2), 6);
}

Test(bad_input, data_addresses_are_not_executable)
{
    int on_stack = 1;
    cr_assert_eq(chook_install(&data_word, repl_const, NULL), CHOOK_ENOTEXEC);
    cr_assert(strstr(chook_last_error(), "is not executable"), "%s", chook_last_error());
    cr_assert_eq(chook_install(&on_stack, repl_const, NULL), CHOOK_ENOTEXEC);
    cr_assert_eq(chook_install(target_scale, &data_word, NULL), CHOOK_ENOTEXEC);
    cr_assert_eq(data_word, 42);
}

Test(bad_input, uninstall_of_a_target_never_hooked)
{
    cr_assert_eq(chook_uninstall(target_other), CHOOK_ENOTHOOKED);
    cr_assert(strstr(chook_last_error(), "is not hooked"), "%s", chook_last_error());
}

Test(status, every_code_has_a_name)
{
    for (int s = CHOOK_OK; s >= CHOOK_EINTERNAL; s--)
        cr_assert(strncmp(chook_strerror(s), "CHOOK_", 6) == 0, "status %d", s);
    cr_assert_str_eq(chook_strerror(1), "unknown status");
    cr_assert_str_eq(chook_strerror(-1000), "unknown status");
}

/* ---- probe ------------------------------------------------------------------------- */

Test(probe, describes_a_hookable_function_without_changing_it)
{
    unsigned char before[32], after[32];
    chook_probe_info info;
    snapshot(target_scale, before);
    cr_assert_eq(chook_probe(target_scale, &info), CHOOK_OK);
    cr_assert_eq(info.status, CHOOK_OK, "%s", info.reason);
    cr_assert_geq(info.patch_size, 5);
    cr_assert_eq(info.jump, CHOOK_JUMP_REL32);
    cr_assert_eq(info.hooked, 0);
    cr_assert_geq(info.instructions, 1);
    cr_assert_gt(info.trampoline_size, 0);
    cr_assert_eq(info.patch_address, (char *)target_scale + info.skipped);
    snapshot(target_scale, after);
    cr_assert_arr_eq(before, after, 32);

    cr_assert_eq(chook_install(target_scale, repl_const, NULL), CHOOK_OK);
    cr_assert_eq(chook_probe(target_scale, &info), CHOOK_OK);
    cr_assert_eq(info.hooked, 1);
}

Test(probe, says_why_not)
{
    chook_probe_info info;
    cr_assert_eq(chook_probe((void *)0x10, &info), CHOOK_OK);
    cr_assert_eq(info.status, CHOOK_EUNMAPPED);
    cr_assert(strstr(info.reason, "not mapped"), "%s", info.reason);
    cr_assert_eq(info.jump, CHOOK_JUMP_NONE);
    cr_assert_eq(chook_probe(&data_word, &info), CHOOK_OK);
    cr_assert_eq(info.status, CHOOK_ENOTEXEC);
    cr_assert_eq(chook_probe(target_scale, NULL), CHOOK_EINVAL);
}

/* ---- no memory near the target ---------------------------------------------- */

#include "internal.h"

/* Long enough for the 14-byte absolute jump: straight-line code. */
__attribute__((noinline)) long target_long_prologue(long a, long b)
{
    long r = a * 3;
    r ^= b << 2;
    r += a - b;
    r *= 7;
    __asm__ volatile("" : "+r"(r));
    return r + 11;
}

static long (*orig_long)(long, long);
static long repl_long(long a, long b) { return orig_long(a, b) + 1; }

Test(far, without_memory_near_the_target_an_absolute_jump_is_used)
{
    long (*volatile f)(long, long) = target_long_prologue;
    long expect = f(5, 9);
    unsigned char before[32], after[32];
    snapshot(target_long_prologue, before);
    chook__nearmem_refuse_near((uintptr_t)target_long_prologue);
    int st = chook_install((void *)target_long_prologue, (void *)repl_long, (void **)&orig_long);
    chook__nearmem_refuse_near(0);
    cr_assert_eq(st, CHOOK_OK, "%s", chook_last_error());
    chook_probe_info info;
    cr_assert_eq(chook_probe((void *)target_long_prologue, &info), CHOOK_OK);
    cr_assert_eq(info.jump, CHOOK_JUMP_ABS64);
    cr_assert_geq(info.patch_size, 14);
    cr_assert_eq(f(5, 9), expect + 1);
    cr_assert_eq(orig_long(5, 9), expect);
    cr_assert_eq(chook_uninstall((void *)target_long_prologue), CHOOK_OK);
    snapshot(target_long_prologue, after);
    cr_assert_arr_eq(before, after, 32);
    cr_assert_eq(f(5, 9), expect);
}
