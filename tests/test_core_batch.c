/*
 * Batched code I/O of the inline-hook core: the page cache of code reads, the
 * trampolines written at commit (many in one write), the patches of one page
 * written together with the bytes between them, and exact block sizes. Each
 * mechanism must be invisible: the same bytes, the same failures, nothing
 * reachable before its commit succeeds.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chook.h"
#include "codepage.h"
#include "hook.h"
#include "stop.h"

extern char batch_targets_begin[], batch_targets_end[];
#define STRIDE 16
#define NTARGETS 64

typedef int (*int_fn)(void);

static char *target(size_t i) { return batch_targets_begin + i * STRIDE; }

static int call(size_t i)
{
    int_fn volatile f = (int_fn)(void *)target(i);
    return f();
}

static int repl_a(void) { return 1; }
static int repl_b(void) { return 2; }

/* ---- the page cache ---------------------------------------------------------- */

Test(code_cache, never_returns_bytes_older_than_a_write_by_chook)
{
    uintptr_t code = chook__code_alloc(0, 64);
    cr_assert_neq(code, 0);
    uint8_t a[16], b[16], got[16];
    memset(a, 0xaa, sizeof a);
    memset(b, 0xbb, sizeof b);
    chook__commit_lock();
    cr_assert_eq(chook__code_write(code, a, sizeof a), CHOOK_OK);
    cr_assert_eq(chook__code_read_cached(code, got, sizeof got), (long)sizeof got);
    cr_assert_arr_eq(got, a, sizeof a);
    cr_assert_eq(chook__code_write(code, b, sizeof b), CHOOK_OK);
    cr_assert_eq(chook__code_read_cached(code, got, sizeof got), (long)sizeof got);
    cr_assert_arr_eq(got, b, sizeof b, "the page cached before the write was served again");
    chook__commit_unlock();
}

Test(code_cache, a_drop_forgets_what_others_wrote_since)
{
    /* A page written behind chook's back (mprotect + store), as another
     * patching library would: after a drop the new bytes are seen. */
    uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(page, MAP_FAILED);
    memset(page, 0x11, 4096);
    uint8_t got[8];
    chook__commit_lock();
    cr_assert_eq(chook__code_read_cached((uintptr_t)page + 8, got, sizeof got), 8);
    cr_assert_eq(got[0], 0x11);
    memset(page, 0x22, 4096);
    chook__code_cache_drop();
    cr_assert_eq(chook__code_read_cached((uintptr_t)page + 8, got, sizeof got), 8);
    cr_assert_eq(got[0], 0x22, "a dropped page was served");
    chook__commit_unlock();
    munmap(page, 4096);
}

Test(code_cache, the_end_of_a_commit_drops_it)
{
    uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(page, MAP_FAILED);
    memset(page, 0x11, 4096);
    uint8_t got[8];
    chook__commit_lock();
    cr_assert_eq(chook__code_read_cached((uintptr_t)page, got, sizeof got), 8);
    chook__commit_unlock();
    memset(page, 0x33, 4096);
    /* A commit with nothing in it still ends a transaction. */
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    cr_assert_eq(chook_transaction_commit(), CHOOK_OK);
    chook__commit_lock();
    cr_assert_eq(chook__code_read_cached((uintptr_t)page, got, sizeof got), 8);
    chook__commit_unlock();
    cr_assert_eq(got[0], 0x33, "bytes cached by an earlier transaction were served");
    munmap(page, 4096);
}

Test(code_cache, unmapped_addresses_fail_as_uncached_reads_do)
{
    uint8_t *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(page, MAP_FAILED);
    memset(page, 0x44, 8192);
    uint8_t got[32];
    chook__commit_lock();
    /* chook's own first-use mappings must not land in the hole made below. */
    cr_assert_eq(chook__code_read_cached((uintptr_t)page, got, 8), 8);
    munmap(page + 4096, 4096);
    cr_assert_lt(chook__code_read_cached((uintptr_t)page + 4096, got, 8), 0);
    /* A read running into the hole is short, exactly like chook__code_read. */
    long n = chook__code_read_cached((uintptr_t)page + 4096 - 16, got, sizeof got);
    long m = chook__code_read((uintptr_t)page + 4096 - 16, got, sizeof got);
    chook__commit_unlock();
    cr_assert_eq(n, 16);
    cr_assert_eq(n, m);
    munmap(page, 4096);
}

/* ---- patches written together ------------------------------------------------ */

static uint8_t page_before[NTARGETS * STRIDE];

static void hook_every_other(void *repl)
{
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    for (size_t i = 0; i < NTARGETS; i += 2)
        cr_assert_eq(chook_install(target(i), repl, NULL), CHOOK_OK);
    cr_assert_eq(chook_transaction_commit(), CHOOK_OK, "%s", chook_last_error());
}

static void unhook_every_other(void)
{
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    for (size_t i = 0; i < NTARGETS; i += 2) cr_assert_eq(chook_uninstall(target(i)), CHOOK_OK);
    cr_assert_eq(chook_transaction_commit(), CHOOK_OK, "%s", chook_last_error());
}

static void check_gaps_kept(void)
{
    for (size_t i = 0; i < NTARGETS; i++) {
        struct site *s = i % 2 ? NULL : chook__site_find((uintptr_t)target(i));
        size_t from = s ? s->plan.skip + s->plan.patch_len : 0;
        cr_assert_arr_eq(target(i) + from, page_before + i * STRIDE + from, STRIDE - from,
                         "bytes of target %zu outside its patch changed", i);
    }
}

static void hook_page_and_check(void)
{
    memcpy(page_before, batch_targets_begin, sizeof page_before);
    hook_every_other((void *)repl_a);
    check_gaps_kept();
    for (size_t i = 0; i < NTARGETS; i++)
        cr_assert_eq(call(i), i % 2 ? 1000 + (int)i : 1, "target %zu", i);
    unhook_every_other();
    cr_assert_arr_eq(batch_targets_begin, page_before, sizeof page_before,
                     "the page differs after every hook was removed");
    for (size_t i = 0; i < NTARGETS; i++) cr_assert_eq(call(i), 1000 + (int)i);
}

Test(coalesced_patches, leave_the_bytes_between_them_as_they_were)
{
    hook_page_and_check();
}

static int parked_go;
static void *sleeper(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&parked_go, __ATOMIC_ACQUIRE)) usleep(1000);
    return NULL;
}

Test(coalesced_patches, leave_the_bytes_between_them_as_they_were_with_threads_parked)
{
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, sleeper, NULL), 0);
    hook_page_and_check();
    __atomic_store_n(&parked_go, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
}

Test(coalesced_patches, a_target_changed_since_the_check_is_refused_and_nothing_is_written)
{
    memcpy(page_before, batch_targets_begin, sizeof page_before);
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    for (size_t i = 0; i < 8; i++)
        cr_assert_eq(chook_install(target(i), (void *)repl_a, NULL), CHOOK_OK);
    /* Someone else patches target 5 after chook read it (bytes 1..5 become
     * mov eax, 99; it is put back before anything calls it). */
    uint8_t foreign[5] = { 0xb8, 99, 0, 0, 0 }; /* mov eax, 99 */
    uint8_t saved[5];
    memcpy(saved, target(5) + 1, sizeof saved);
    cr_assert_eq(chook__code_write((uintptr_t)target(5) + 1, foreign, sizeof foreign), CHOOK_OK);
    int st = chook_transaction_commit();
    cr_assert_eq(st, CHOOK_EPATCH);
    char want[64];
    snprintf(want, sizeof want, "%p", (void *)target(5));
    cr_assert(strstr(chook_last_error(), want + 2) != NULL, "message: %s", chook_last_error());
    cr_assert_eq(chook__code_write((uintptr_t)target(5) + 1, saved, sizeof saved), CHOOK_OK);
    cr_assert_arr_eq(batch_targets_begin, page_before, sizeof page_before,
                     "a failed commit wrote into the page");
    struct site *s = chook__site_find((uintptr_t)target(0));
    cr_assert(s && s->block, "a commit that failed its checks wrote a trampoline");
    for (size_t i = 0; i < NTARGETS; i++) cr_assert_eq(call(i), 1000 + (int)i);
}

/* ---- trampolines written at commit -------------------------------------------- */

Test(deferred_blocks, a_failed_commit_leaves_them_unwritten_and_nothing_reachable)
{
    memcpy(page_before, batch_targets_begin, sizeof page_before);
    int_fn orig = NULL;
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    cr_assert_eq(chook_install(target(10), (void *)repl_a, (void **)&orig), CHOOK_OK);
    cr_assert_eq(chook_install(target(11), (void *)repl_a, NULL), CHOOK_OK);
    struct site *s = chook__site_find((uintptr_t)target(10));
    cr_assert_not_null(s);
    cr_assert_not_null(s->block, "the trampoline was written before the commit");
    /* An operation that fails makes the whole transaction fail. */
    cr_assert_eq(chook_uninstall(target(40)), CHOOK_ENOTHOOKED);
    cr_assert_eq(chook_transaction_commit(), CHOOK_ENOTHOOKED);
    cr_assert_null(orig, "an original was published by a failed commit");
    cr_assert_arr_eq(batch_targets_begin, page_before, sizeof page_before);
    cr_assert_not_null(s->block, "a failed commit wrote a trampoline");
    uint8_t now[64];
    cr_assert_eq(chook__code_read(s->code, now, s->code_size), (long)s->code_size);
    cr_assert(memcmp(now, s->block, s->code_size) != 0, "the block is in place already");
    /* The prepared site is used by the next commit, which writes it. */
    cr_assert_eq(chook_install(target(10), (void *)repl_b, (void **)&orig), CHOOK_OK);
    cr_assert_null(s->block);
    cr_assert_eq(call(10), 2);
    cr_assert_eq(orig(), 1010);
    cr_assert_eq(chook_uninstall(target(10)), CHOOK_OK);
    cr_assert_eq(call(10), 1010);
}

Test(deferred_blocks, are_in_place_when_the_original_is_published)
{
    int_fn orig[8] = { 0 };
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    for (size_t i = 0; i < 8; i++)
        cr_assert_eq(chook_install(target(20 + i), (void *)repl_b, (void **)&orig[i]), CHOOK_OK);
    cr_assert_eq(chook_transaction_commit(), CHOOK_OK, "%s", chook_last_error());
    for (size_t i = 0; i < 8; i++) {
        struct site *s = chook__site_find((uintptr_t)target(20 + i));
        cr_assert_null(s->block);
        cr_assert_eq(call(20 + i), 2);
        cr_assert_eq(orig[i](), 1020 + (int)i, "trampoline %zu", i);
    }
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    for (size_t i = 0; i < 8; i++) cr_assert_eq(chook_uninstall(target(20 + i)), CHOOK_OK);
    cr_assert_eq(chook_transaction_commit(), CHOOK_OK);
}

/* ---- executable memory -------------------------------------------------------- */

Test(block_size, is_the_entry_stub_and_trampoline_without_slack)
{
    cr_assert_eq(chook_install(target(30), (void *)repl_a, NULL), CHOOK_OK);
    struct site *s = chook__site_find((uintptr_t)target(30));
    cr_assert_not_null(s);
    cr_assert_eq(s->code_size, (s->tramp - s->code + s->tramp_len + 15) & ~(size_t)15,
                 "block of %zu bytes for a %zu-byte trampoline", s->code_size, s->tramp_len);
    cr_assert_leq(s->code_size, 64);
    cr_assert_eq(chook_uninstall(target(30)), CHOOK_OK);
}

/* ---- the descriptor of /proc/self/mem across fork ------------------------------ */

Test(fork_child, hooks_its_own_code_not_its_parents)
{
    /* The parent has used /proc/self/mem already: the child must not write
     * through the inherited descriptor. */
    cr_assert_eq(chook_install(target(50), (void *)repl_a, NULL), CHOOK_OK);
    cr_assert_eq(chook_uninstall(target(50)), CHOOK_OK);
    memcpy(page_before, batch_targets_begin, sizeof page_before);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int ok = chook_install(target(51), (void *)repl_b, NULL) == CHOOK_OK && call(51) == 2;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child could not hook");
    cr_assert_arr_eq(batch_targets_begin, page_before, sizeof page_before,
                     "the child's hook landed in the parent");
    cr_assert_eq(call(51), 1051);
}

/* ---- overlapping patches in one commit ---------------------------------------- */

Test(coalesced_patches, two_overlapping_patches_in_one_transaction_are_refused)
{
    memcpy(page_before, batch_targets_begin, sizeof page_before);
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    cr_assert_eq(chook_install(target(60), (void *)repl_a, NULL), CHOOK_OK);
    /* Its second instruction: a patch there covers most of the first one's. */
    cr_assert_eq(chook_install(target(60) + 1, (void *)repl_b, NULL), CHOOK_OK, "%s",
                 chook_last_error());
    cr_assert_eq(chook_transaction_commit(), CHOOK_EPATCH);
    cr_assert(strstr(chook_last_error(), "overlap") != NULL, "%s", chook_last_error());
    cr_assert_arr_eq(batch_targets_begin, page_before, sizeof page_before);
    cr_assert_eq(call(60), 1060);
}
