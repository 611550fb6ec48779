/*
 * Internal state of inline hooks (hook.c, site.c, txn.c).
 *
 * A site is one patched (or once-patched) target. It owns the trampoline (the
 * relocated prologue and the jump back) and the entry stub, an indirect jump
 * through entry_slot, which holds the newest replacement. The target's patch is a
 * jump to the entry stub, so adding or removing hooks on a patched site only
 * changes slots; code is written only when a site goes from unhooked to hooked or
 * back. Sites are never freed: a thread may run a trampoline at any time, and
 * reinstalling on the same target reuses it.
 *
 * When the newest replacement is within reach of a near jump from the target,
 * the patch jumps straight to it (one jump less on every hooked call); changing
 * the newest hook then rewrites the patch. Otherwise it jumps to the entry stub.
 *
 * The hooks of a site form a chain, newest first. Each hook's `original` leads to
 * the next older replacement, the oldest's to the trampoline. A hook that was the
 * oldest when installed uses the trampoline directly; the others call through a
 * stub of their own (an indirect jump through stub_slot), so removing a hook in
 * the middle is one slot store.
 */
#ifndef CHOOK_HOOK_H
#define CHOOK_HOOK_H

#include "internal.h"

enum hook_state { HOOK_PENDING = 1, HOOK_ACTIVE, HOOK_REMOVED, HOOK_DISCARDED };

#define HOOK_MAGIC 0x6b6f6f68u /* "hook" */

struct site;

struct chook_hook {
    uint32_t magic;
    enum hook_state state;
    int internal;          /* installed by chook itself (listener dispatch, ...):
                              chook_uninstall(target) leaves it in place */
    struct site *site;
    void *replacement;
    void **original_out;   /* where to write `original` at commit (may be NULL) */
    void *original_saved;  /* *original_out before commit, for rollback */
    uintptr_t stub;        /* this hook's own indirect jump, 0 when it uses the trampoline */
    uintptr_t *stub_slot;
    uintptr_t original;    /* what *original_out receives */
    struct chook_hook *older; /* committed chain: next older hook */
    struct chook_hook *free_next; /* site's list of reusable hook records */
    uintptr_t handle;      /* the user's handle (handle.h) while pending or active, else 0 */
    uint64_t removing;     /* serial of the transaction that queued its removal */
};

struct site {
    uintptr_t target;     /* function entry (or a point inside a function) */
    size_t func_offset;   /* target - start of the function symbol holding it; 0
                             at an entry or when no symbol is known */
    uintptr_t patch_at;   /* target + plan.skip */
    chook_arch_plan plan;
    enum chook_arch_jump jump;
    uint8_t original[CHOOK_ARCH_MAX_PATCH]; /* bytes at patch_at, plan.patch_len */
    uint8_t patch[CHOOK_ARCH_MAX_PATCH];    /* the bytes written there (when patched) */
    uint8_t next_patch[CHOOK_ARCH_MAX_PATCH]; /* what a commit will write there */
    uint8_t prologue[CHOOK_ARCH_MAX_PATCH + 8]; /* target..patch_at+patch_len, as relocated */
    size_t prologue_len;
    uintptr_t code;       /* code block: entry stub then trampoline */
    size_t code_size;
    uintptr_t entry;      /* entry stub */
    uintptr_t tramp;      /* trampoline */
    uint16_t tramp_off[CHOOK_ARCH_MAX_INSNS + 1];
    size_t tramp_len;
    uintptr_t *entry_slot;
    uint8_t *block;       /* code_size bytes still to be written at `code` (the
                             entry stub and trampoline of a site prepared but not
                             yet committed), NULL once written */
    int patched;          /* committed: the target holds our jump */
    struct chook_hook *hooks;      /* committed chain, newest first */
    struct chook_hook *free_hooks; /* removed hook records with their stubs */
    struct site *hash_next;
    struct site *cell_next; /* site.c's index by the target's 64-byte cell */
    /* Scratch used by one commit (under the commit lock). */
    uint64_t txn_mark;
    struct chook_hook **next_chain;
    size_t next_count, next_cap;
};

/* site.c — all under the commit lock */
struct site *chook__site_find(uintptr_t target);
/* Finds or makes the site for target, checking the target and preparing the
 * trampoline; an unpatched site whose code changed since is prepared again.
 * Returns a status with a message naming the target. */
int chook__site_prepare(uintptr_t target, struct site **out);
/* Looks at target without changing anything (chook_probe). */
int chook__site_examine(uintptr_t target, chook_probe_info *info);
/* Checks that a patched range does not overlap another site's. */
int chook__site_check_overlap(const struct site *s);
/* Current bytes at the site equal `expect` (plan.patch_len bytes)? */
int chook__site_bytes_are(const struct site *s, const uint8_t *expect);
/* A hook record for site s, reused from its free list when possible, with a stub
 * when needs_stub. NULL on out of memory. */
struct chook_hook *chook__hook_new(struct site *s);
int chook__hook_give_stub(struct chook_hook *h);
void chook__hook_recycle(struct chook_hook *h);
/* chook_install_ex for chook's own features (interception's dispatch thunk, the
 * dynamic linker watch): the hook is removed only through its handle, never by a
 * user's chook_uninstall(target). */
int chook__install_internal(void *target, void *replacement, void **original,
                            chook_hook **hook);

/* Transactions and listeners (hook.c, intercept.c). */
/* Listeners attached or detached in the calling thread's transaction: prepare
 * (before the commit lock; on success the registry lock stays held until
 * finish) and apply or discard them once the core's commit is done. */
int chook__icpt_txn_prepare(void);
void chook__icpt_txn_finish(int committed);

/* Forgets a site's pending block (written, or never to be). */
void chook__site_drop_block(struct site *s);

/* patchio.c — commit-time code I/O, under the commit lock. */
/* Sorts sites by patch address. No libc. */
void chook__sites_sort_by_patch(struct site **v, size_t n);
/* Writes the pending blocks of the n sites (site.block), sorted by address and
 * adjacent blocks in one write. Before anything can reach them; formats messages. */
int chook__sites_write_blocks(struct site **v, size_t n);
/* Reads the patched bytes of n sites sorted by patch address afresh, once per
 * page, and compares each with expect(site). Returns the index of the first
 * site that differs (or could not be read), n when all match. No libc. */
size_t chook__sites_check(struct site *const *v, size_t n,
                          const uint8_t *(*expect)(const struct site *));
/* Writes new(site) over the n sites sorted by patch address, sites that share a
 * page in one write whose gaps hold the bytes read afresh just before, and
 * verifies by reading back; first checks each site still holds old(site).
 * Only while every other thread is parked (the gaps are rewritten). Returns
 * CHOOK_OK, or CHOOK_EPATCH with *bad the first site not known to be untouched
 * (sites before it were written: the caller restores them and the site itself)
 * and *changed set when a site held foreign bytes (nothing of it written). No libc. */
int chook__sites_write_patches(struct site *const *v, size_t n,
                               const uint8_t *(*old)(const struct site *),
                               const uint8_t *(*new_)(const struct site *), size_t *bad,
                               int *changed);

/* Copies into buf (the code at [addr, addr + len) as read now) the original
 * bytes of every site chook has patched there: code as it was before chook. */
void chook__sites_overlay_original(uintptr_t addr, uint8_t *buf, size_t len);

/* branchindex.c — under the commit lock */
/* Looks in the index of direct branches of the module that maps lo (built on
 * first use) for a branch from outside [lo, hi) to an address strictly inside
 * (lo, hi). Returns 1 with the first such branch in *from and *to, 0 when there is
 * none or no module maps lo, or CHOOK_ENOMEM with a message. */
int chook__branch_index_find(uintptr_t lo, uintptr_t hi, uintptr_t *from, uintptr_t *to);
/* The size of the index of the module that maps addr (building it if needed):
 * branches kept, bytes swept, and the time its build took. For tests and
 * benchmarks. */
int chook__branch_index_stats(uintptr_t addr, size_t *branches, size_t *bytes,
                              uint64_t *build_ns);
/* Names a code address for messages: "memmove+0x3 in libc.so.6", else
 * "libfoo.so+0x1234" or "0x...". Keeps chook_last_error(). */
void chook__describe_code(uintptr_t addr, char *out, size_t len);

/* Checks an address is mapped and executable; `what` names it in messages. */
int chook__check_code_address(uintptr_t addr, const char *what);

/* One commit's working set (hook.c builds it, commit_code.c writes it). */
struct commit {
    struct site **sites;   /* touched sites, each once */
    size_t nsites;
    struct site **code;    /* sites whose code changes */
    size_t ncode;
};

/* What hook i of a site's new chain calls as its original. */
uintptr_t chook__chain_below(const struct site *s, size_t i);
/* The bytes a site holds now. */
const uint8_t *chook__site_old_bytes(const struct site *s);
/* Computes s->next_patch for the site's new chain. */
void chook__site_plan_patch(struct site *s);
/* Every hook's stub slot and every site's entry slot, for the new chains. */
void chook__commit_update_slots(struct commit *c);
/* Step 4 with code to write; returns a status with its message. */
int chook__commit_code(struct commit *c);

#endif /* CHOOK_HOOK_H */
