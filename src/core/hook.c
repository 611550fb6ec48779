/*
 * The public inline-hook API and transactions.
 *
 * Every call is a transaction: chook_install() outside an explicit transaction
 * opens one, queues itself and commits. Queued operations are checked and their
 * sites prepared at once (under the commit lock), so bad input fails at its call;
 * a transaction in which any operation failed applies nothing at commit.
 *
 * Commit, under the commit lock:
 *   1. Compute each touched site's new chain from its committed chain and the
 *      queued operations, in order; find which sites need code written (patched
 *      when their chain becomes non-empty, restored when it becomes empty), and
 *      sort them by address.
 *   2. Check those sites still hold the bytes we expect (nobody else patched
 *      them), reading afresh once per page; then write the trampolines and entry
 *      stubs of new sites (kept in memory since their operation was queued,
 *      unreachable until now), adjacent ones in one write.
 *   3. Give stubs to new hooks that need one; write each new hook's `original`.
 *   4. If code must be written: stop the other threads (stop.h), move any whose
 *      pc lies inside bytes about to be overwritten to the same instruction in the
 *      trampoline, write the patches and restores, re-reading them; sites that
 *      share a page go in one write, made of bytes read afresh during the stop
 *      (each site checked again in them) with the patches laid over; on a
 *      failure restore what was written. Then update every slot, and resume the threads. A
 *      process whose only thread is this one has nobody to stop or move: the
 *      same writes are done without a stop. Threads that cannot be parked get
 *      the breakpoint-first protocol of trap.h instead, one site at a time.
 *      Without code to write, only slots change (single atomic stores).
 *   5. Record the new chains; removed hooks' records go to their site for reuse.
 * Code read while queueing may come from the page cache of codepage.h, which a
 * commit drops when it ends; every check of step 2 and 4 reads afresh.
 */
#include "codepage.h"
#include "handle.h"
#include "hook.h"
#include "stop.h"

enum op_kind { OP_INSTALL = 1, OP_REMOVE, OP_UNINSTALL };

struct op {
    enum op_kind kind;
    struct site *site;
    struct chook_hook *hook; /* INSTALL, REMOVE */
};

struct txn {
    struct op *ops;
    size_t count, cap;
    int status;           /* first failure, CHOOK_OK if none */
    uint64_t serial;      /* unique per transaction (txn_serial) */
    char message[512];    /* its message */
};

static __thread struct txn *open_txn __attribute__((tls_model("initial-exec")));
/* Set while this thread holds the commit lock. A hook on a function chook itself
 * uses (dladdr, libelf's malloc, ...) whose replacement calls back into chook
 * would otherwise deadlock on the lock: such calls get CHOOK_EBUSY instead. */
static __thread int in_commit __attribute__((tls_model("initial-exec")));

static int lock_commit(void)
{
    if (in_commit)
        return chook__fail(CHOOK_EBUSY, "chook was called from inside its own commit (a "
                           "replacement of a function chook uses calls chook)");
    chook__commit_lock();
    in_commit = 1;
    return CHOOK_OK;
}

static void unlock_commit(void)
{
    in_commit = 0;
    chook__commit_unlock();
}
static uint64_t commit_counter;
static uint64_t txn_serial;

/* ---- queue ---------------------------------------------------------------- */

static int txn_push(struct txn *t, struct op op)
{
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        struct op *ops = chook__alloc(cap * sizeof *ops);
        if (!ops) return chook__fail(CHOOK_ENOMEM, "out of memory queueing an operation");
        if (t->count) chook__memcpy(ops, t->ops, t->count * sizeof *ops);
        chook__free(t->ops, t->cap * sizeof *ops);
        t->ops = ops;
        t->cap = cap;
    }
    t->ops[t->count++] = op;
    return CHOOK_OK;
}

static int txn_record_failure(struct txn *t, int status)
{
    if (t->status == CHOOK_OK) {
        t->status = status;
        const char *m = chook_last_error();
        size_t n = chook__strlen(m);
        if (n >= sizeof t->message) n = sizeof t->message - 1;
        chook__memcpy(t->message, m, n);
        t->message[n] = 0;
    }
    return status;
}

int chook__txn_is_open(void)
{
    return open_txn != NULL;
}

int chook__txn_fail(int status)
{
    if (status != CHOOK_OK && open_txn) txn_record_failure(open_txn, status);
    return status;
}

int chook__txn_failed(void)
{
    return open_txn && open_txn->status != CHOOK_OK;
}

int chook__txn_fail_again(int status, int failed_before)
{
    if (status != CHOOK_OK && open_txn && !failed_before) {
        open_txn->status = CHOOK_OK;
        txn_record_failure(open_txn, status);
    }
    return status;
}

static void txn_free(struct txn *t)
{
    chook__free(t->ops, t->cap * sizeof *t->ops);
    chook__free(t, sizeof *t);
}

/* A hook record leaves use: its handle goes stale, the record goes back to its
 * site for reuse. Under the commit lock. */
static void hook_retire(struct chook_hook *h, enum hook_state state)
{
    h->state = state;
    if (h->handle) chook__handle_release(h->handle);
    h->handle = 0;
    chook__hook_recycle(h);
}

/* Pending hooks that never took effect. Under the commit lock. */
static void txn_discard_pending(struct txn *t)
{
    for (size_t i = 0; i < t->count; i++) {
        struct op *op = &t->ops[i];
        if (op->kind == OP_INSTALL && op->hook->state == HOOK_PENDING)
            hook_retire(op->hook, HOOK_DISCARDED);
    }
}

/* ---- commit ----------------------------------------------------------------- */

static int chain_reserve(struct site *s, size_t n)
{
    if (n <= s->next_cap) return CHOOK_OK;
    size_t cap = s->next_cap ? s->next_cap * 2 : 8;
    while (cap < n) cap *= 2;
    struct chook_hook **c = chook__alloc(cap * sizeof *c);
    if (!c) return chook__fail(CHOOK_ENOMEM, "out of memory");
    if (s->next_count) chook__memcpy(c, s->next_chain, s->next_count * sizeof *c);
    chook__free(s->next_chain, s->next_cap * sizeof *c);
    s->next_chain = c;
    s->next_cap = cap;
    return CHOOK_OK;
}

/* Step 1 for one site: start from the committed chain. */
static int chain_start(struct site *s, uint64_t mark)
{
    if (s->txn_mark == mark) return CHOOK_OK;
    s->txn_mark = mark;
    s->next_count = 0;
    size_t n = 0;
    for (struct chook_hook *h = s->hooks; h; h = h->older) n++;
    CHOOK_CHECK(chain_reserve(s, n + 1));
    for (struct chook_hook *h = s->hooks; h; h = h->older) s->next_chain[s->next_count++] = h;
    return CHOOK_OK;
}

static int chain_apply(struct op *op)
{
    struct site *s = op->site;
    switch (op->kind) {
    case OP_INSTALL:
        for (size_t i = 0; i < s->next_count; i++)
            if (s->next_chain[i]->replacement == op->hook->replacement)
                return chook__fail(CHOOK_EEXIST, "target 0x%lx: replacement %p is already "
                                   "installed there", (unsigned long)s->target,
                                   op->hook->replacement);
        CHOOK_CHECK(chain_reserve(s, s->next_count + 1));
        for (size_t i = s->next_count; i > 0; i--) s->next_chain[i] = s->next_chain[i - 1];
        s->next_chain[0] = op->hook;
        s->next_count++;
        return CHOOK_OK;
    case OP_REMOVE:
        for (size_t i = 0; i < s->next_count; i++) {
            if (s->next_chain[i] == op->hook) {
                for (; i + 1 < s->next_count; i++) s->next_chain[i] = s->next_chain[i + 1];
                s->next_count--;
                return CHOOK_OK;
            }
        }
        return chook__fail(CHOOK_ENOTHOOKED, "target 0x%lx: that hook is not installed",
                           (unsigned long)s->target);
    case OP_UNINSTALL: {
        /* Every replacement goes; chook's own hooks (listeners) stay. */
        size_t kept = 0, removed = 0;
        for (size_t i = 0; i < s->next_count; i++) {
            if (s->next_chain[i]->internal) s->next_chain[kept++] = s->next_chain[i];
            else removed++;
        }
        s->next_count = kept;
        if (!removed)
            return chook__fail(CHOOK_ENOTHOOKED, "target 0x%lx is not hooked",
                               (unsigned long)s->target);
        return CHOOK_OK;
    }
    }
    return chook__fail(CHOOK_EINTERNAL, "unknown operation");
}

static int commit_locked(struct txn *t)
{
    struct commit c = { 0 };
    uint64_t mark = ++commit_counter;
    int st = CHOOK_OK;
    size_t cap = t->count ? t->count : 1;
    c.sites = chook__alloc(cap * sizeof *c.sites);
    c.code = chook__alloc(cap * sizeof *c.code);
    if (!c.sites || !c.code) st = chook__fail(CHOOK_ENOMEM, "out of memory committing");

    /* 1. New chains. */
    for (size_t i = 0; st == CHOOK_OK && i < t->count; i++) {
        struct site *s = t->ops[i].site;
        if (s->txn_mark != mark) {
            st = chain_start(s, mark);
            if (st == CHOOK_OK) c.sites[c.nsites++] = s;
        }
        if (st == CHOOK_OK) st = chain_apply(&t->ops[i]);
    }
    for (size_t k = 0; st == CHOOK_OK && k < c.nsites; k++) {
        struct site *s = c.sites[k];
        if (s->next_count) chook__site_plan_patch(s);
        if (!s->patched != !s->next_count ||
            (s->next_count && chook__memcmp(s->patch, s->next_patch, s->plan.patch_len)))
            c.code[c.ncode++] = s;
    }
    /* 2. The bytes are still what we expect: read afresh, once per page (in
     * address order, which is also the order of the writes). */
    if (st == CHOOK_OK) chook__sites_sort_by_patch(c.code, c.ncode);
    size_t differs = st == CHOOK_OK ? chook__sites_check(c.code, c.ncode, chook__site_old_bytes) : 0;
    if (st == CHOOK_OK && differs < c.ncode) {
        struct site *s = c.code[differs];
        st = chook__fail(CHOOK_EPATCH, "target 0x%lx: its code was changed by someone "
                         "else since chook %s it; nothing written",
                         (unsigned long)s->target, s->patched ? "patched" : "read");
    }
    for (size_t k = 0; st == CHOOK_OK && k < c.ncode; k++) {
        struct site *s = c.code[k], *prev = k ? c.code[k - 1] : NULL;
        if (!s->patched) st = chook__site_check_overlap(s);
        /* Two sites of this commit must not overlap either (sorted: neighbours). */
        if (st == CHOOK_OK && prev && s->patch_at < prev->patch_at + prev->plan.patch_len)
            st = chook__fail(CHOOK_EPATCH, "target 0x%lx: its patch would overlap the "
                             "one for 0x%lx in the same transaction",
                             (unsigned long)s->target, (unsigned long)prev->target);
    }
    /* Trampolines and entry stubs of new sites, before anything can lead to them
     * (step 3 publishes originals). */
    if (st == CHOOK_OK) st = chook__sites_write_blocks(c.sites, c.nsites);
    /* 3. Stubs and originals. */
    for (size_t k = 0; st == CHOOK_OK && k < c.nsites; k++) {
        struct site *s = c.sites[k];
        for (size_t i = 0; st == CHOOK_OK && i < s->next_count; i++) {
            struct chook_hook *h = s->next_chain[i];
            if (h->state != HOOK_PENDING) continue;
            if (i + 1 == s->next_count) {
                h->original = s->tramp; /* the oldest: nothing can go below it */
            } else {
                st = chook__hook_give_stub(h);
                h->original = h->stub;
                if (st == CHOOK_OK)
                    __atomic_store_n(h->stub_slot, chook__chain_below(s, i), __ATOMIC_RELEASE);
            }
        }
    }
    if (st == CHOOK_OK) {
        for (size_t i = 0; i < t->count; i++) {
            struct chook_hook *h = t->ops[i].hook;
            if (t->ops[i].kind != OP_INSTALL || !h->original_out) continue;
            h->original_saved = *h->original_out;
            __atomic_store_n(h->original_out, (void *)h->original, __ATOMIC_RELEASE);
        }
    }
    /* 4. Code and slots (commit_code.c). */
    if (st == CHOOK_OK && c.ncode) st = chook__commit_code(&c);
    else if (st == CHOOK_OK) chook__commit_update_slots(&c);
    if (st != CHOOK_OK) {
        /* Undo step 3: originals back as they were. Stubs stay with their records. */
        for (size_t i = 0; i < t->count; i++) {
            struct chook_hook *h = t->ops[i].hook;
            if (t->ops[i].kind == OP_INSTALL && h->original_out && h->original)
                *h->original_out = h->original_saved;
        }
    } else {
        /* 5. Record. */
        for (size_t k = 0; k < c.nsites; k++) {
            struct site *s = c.sites[k];
            for (struct chook_hook *h = s->hooks, *older; h; h = older) {
                older = h->older;
                int kept = 0;
                for (size_t i = 0; i < s->next_count && !kept; i++) kept = s->next_chain[i] == h;
                if (!kept) {
                    /* Late callers of its original still reach what was below it. */
                    hook_retire(h, HOOK_REMOVED);
                }
            }
            s->hooks = NULL;
            for (size_t i = s->next_count; i > 0; i--) {
                struct chook_hook *h = s->next_chain[i - 1];
                h->older = s->hooks;
                h->state = HOOK_ACTIVE;
                s->hooks = h;
            }
            s->patched = s->next_count != 0;
            if (s->patched) chook__memcpy(s->patch, s->next_patch, s->plan.patch_len);
        }
        /* Installed and removed within this transaction: never took effect. */
        for (size_t i = 0; i < t->count; i++) {
            struct chook_hook *h = t->ops[i].hook;
            if (t->ops[i].kind == OP_INSTALL && h->state == HOOK_PENDING)
                hook_retire(h, HOOK_REMOVED);
        }
    }
    if (c.sites) chook__free(c.sites, cap * sizeof *c.sites);
    if (c.code) chook__free(c.code, cap * sizeof *c.code);
    /* Cached code lives for one transaction at most. */
    chook__code_cache_drop();
    return st;
}

/* ---- public API ----------------------------------------------------------- */

int chook_transaction_begin(void)
{
    chook__clear_error();
    /* A nested begin is a mistake in the caller's bookkeeping (its inner commit
     * would apply the outer operations): the open transaction fails too. */
    if (open_txn)
        return chook__txn_fail(chook__fail(CHOOK_ETXN, "this thread already has an open "
                                           "transaction (transactions do not nest)"));
    struct txn *t = chook__alloc(sizeof *t);
    if (!t) return chook__fail(CHOOK_ENOMEM, "out of memory opening a transaction");
    t->serial = __atomic_add_fetch(&txn_serial, 1, __ATOMIC_RELAXED);
    open_txn = t;
    return CHOOK_OK;
}

int chook_transaction_abort(void)
{
    chook__clear_error();
    struct txn *t = open_txn;
    if (!t) return chook__fail(CHOOK_ETXN, "no open transaction on this thread");
    CHOOK_CHECK(lock_commit());
    open_txn = NULL;
    txn_discard_pending(t);
    chook__code_cache_drop();
    unlock_commit();
    txn_free(t);
    chook__icpt_txn_finish(0);
    return CHOOK_OK;
}


int chook_transaction_commit(void)
{
    chook__clear_error();
    struct txn *t = open_txn;
    if (!t) return chook__fail(CHOOK_ETXN, "no open transaction on this thread");
    int st;
    if (in_commit) return lock_commit(); /* refused, with its message */
    /* Listeners of the transaction: their sets are built before the commit lock
     * is taken (the registry lock ranks before it). */
    st = chook__icpt_txn_prepare();
    if (st != CHOOK_OK) txn_record_failure(t, st);
    CHOOK_CHECK(lock_commit());
    open_txn = NULL;
    if (t->status != CHOOK_OK) {
        chook__code_cache_drop(); /* commit_locked() drops it otherwise */
        st = chook__fail(t->status, "%s", t->message);
    } else {
        st = commit_locked(t);
    }
    if (st != CHOOK_OK) txn_discard_pending(t);
    unlock_commit();
    txn_free(t);
    chook__icpt_txn_finish(st == CHOOK_OK); /* sets no error */
    return st;
}

/* Runs one queued operation: in the open transaction, or in one of its own. */
typedef int (*queue_fn)(struct txn *t, void *arg);

static int run_queued(queue_fn fn, void *arg)
{
    struct txn *t = open_txn;
    if (t) {
        CHOOK_CHECK(chook__txn_fail(lock_commit()));
        int st = fn(t, arg);
        unlock_commit();
        return st == CHOOK_OK ? st : txn_record_failure(t, st);
    }
    struct txn local = { .serial = __atomic_add_fetch(&txn_serial, 1, __ATOMIC_RELAXED) };
    CHOOK_CHECK(lock_commit());
    int st = fn(&local, arg);
    if (st == CHOOK_OK) st = commit_locked(&local);
    else chook__code_cache_drop(); /* commit_locked() drops it otherwise */
    if (st != CHOOK_OK) txn_discard_pending(&local);
    unlock_commit();
    chook__free(local.ops, local.cap * sizeof *local.ops);
    return st;
}

struct install_args {
    uintptr_t target, replacement;
    void **original;
    chook_hook **hook;
    int internal;
};

static int queue_install(struct txn *t, void *arg)
{
    struct install_args *a = arg;
    struct site *s = NULL;
    CHOOK_CHECK(chook__site_prepare(a->target, &s));
    /* Listeners read a call's arguments and return address: a point inside a
     * function has neither. */
    if (a->internal && s->func_offset)
        return chook__fail(CHOOK_EINVAL, "target 0x%lx is %zu bytes inside a function, not "
                           "at its entry: listeners need a function's entry",
                           (unsigned long)a->target, s->func_offset);
    struct chook_hook *h = chook__hook_new(s);
    if (!h) return chook__fail(CHOOK_ENOMEM, "out of memory");
    h->replacement = (void *)a->replacement;
    h->original_out = a->original;
    h->internal = a->internal;
    h->handle = chook__handle_new(CHOOK__H_HOOK, h);
    int st = h->handle ? txn_push(t, (struct op){ OP_INSTALL, s, h })
                       : chook__fail(CHOOK_ENOMEM, "out of memory for a hook handle");
    if (st != CHOOK_OK) {
        hook_retire(h, HOOK_DISCARDED);
        return st;
    }
    if (a->hook) *a->hook = (chook_hook *)h->handle;
    return CHOOK_OK;
}

static int install(void *target, void *replacement, void **original, chook_hook **hook,
                   int internal)
{
    chook__clear_error();
    if (hook) *hook = NULL;
    /* Every early return fails an open transaction (chook__txn_fail). */
    if (!target) return chook__txn_fail(chook__fail(CHOOK_EINVAL, "target is NULL"));
    if (!replacement) return chook__txn_fail(chook__fail(CHOOK_EINVAL, "replacement is NULL"));
    if (replacement == target)
        return chook__txn_fail(chook__fail(CHOOK_ESELF, "replacement %p is the target itself",
                                           replacement));
    /* A transaction usually installs one replacement on many targets: it is
     * checked once per transaction (each check reads the clock and takes the
     * maps lock). */
    struct txn *t = open_txn;
    struct chook_hook *last = t && t->count ? t->ops[t->count - 1].hook : NULL;
    if (!last || t->ops[t->count - 1].kind != OP_INSTALL ||
        last->replacement != replacement) {
        int st = chook__check_code_address((uintptr_t)replacement, "replacement");
        if (st != CHOOK_OK) {
            if (t) txn_record_failure(t, st);
            return st;
        }
    }
    struct install_args a = { (uintptr_t)target, (uintptr_t)replacement, original, hook,
                              internal };
    return run_queued(queue_install, &a);
}

int chook_install_ex(void *target, void *replacement, void **original, chook_hook **hook)
{
    return install(target, replacement, original, hook, 0);
}

int chook__install_internal(void *target, void *replacement, void **original,
                            chook_hook **hook)
{
    return install(target, replacement, original, hook, 1);
}

int chook_install(void *target, void *replacement, void **original)
{
    return chook_install_ex(target, replacement, original, NULL);
}

static int queue_remove(struct txn *t, void *arg)
{
    struct chook_hook *h;
    /* Looked up under the commit lock, which also serialises its release. */
    CHOOK_CHECK(chook__handle_get((uintptr_t)arg, CHOOK__H_HOOK, "hook", (void **)&h));
    if (h->state != HOOK_ACTIVE && h->state != HOOK_PENDING)
        return chook__fail(CHOOK_ENOTHOOKED, "hook %p is not installed", arg);
    if (h->removing == t->serial)
        return chook__fail(CHOOK_ENOTHOOKED, "hook %p is removed already in this "
                           "transaction", arg);
    CHOOK_CHECK(txn_push(t, (struct op){ OP_REMOVE, h->site, h }));
    h->removing = t->serial;
    return CHOOK_OK;
}

int chook_remove(chook_hook *hook)
{
    chook__clear_error();
    if (!hook) return chook__txn_fail(chook__fail(CHOOK_EINVAL, "hook handle is NULL"));
    return run_queued(queue_remove, hook);
}

static int queue_uninstall(struct txn *t, void *arg)
{
    uintptr_t target = (uintptr_t)arg;
    struct site *s = chook__site_find(target);
    int replacements = 0;
    for (struct chook_hook *h = s ? s->hooks : NULL; h && !replacements; h = h->older)
        replacements = !h->internal;
    for (size_t i = 0; s && !replacements && i < t->count; i++)
        replacements = t->ops[i].site == s && t->ops[i].kind == OP_INSTALL &&
                       !t->ops[i].hook->internal;
    if (!s || !replacements)
        return chook__fail(CHOOK_ENOTHOOKED, "target %p is not hooked", (void *)target);
    return txn_push(t, (struct op){ OP_UNINSTALL, s, NULL });
}

int chook_uninstall(void *target)
{
    chook__clear_error();
    if (!target) return chook__txn_fail(chook__fail(CHOOK_EINVAL, "target is NULL"));
    return run_queued(queue_uninstall, target);
}

int chook_hook_active(const chook_hook *hook)
{
    /* Lock-free: records are never freed, and a handle released while its
     * record's state was read (the record may already serve a newer hook) is no
     * longer current afterwards. */
    const struct chook_hook *h = chook__handle_peek((uintptr_t)hook, CHOOK__H_HOOK);
    if (!h) return 0;
    int active = __atomic_load_n(&h->state, __ATOMIC_ACQUIRE) == HOOK_ACTIVE;
    return active && chook__handle_current((uintptr_t)hook);
}

int chook_probe(const void *target, chook_probe_info *info)
{
    if (!info) return chook__fail(CHOOK_EINVAL, "info is NULL");
    /* Fields after `size` are written only when the caller's size covers them
     * (0: the layout `size` came with). Filled in full here, then copied. */
    size_t v0 = offsetof(chook_probe_info, size) + sizeof info->size;
    size_t cap = info->size == 0 || info->size < v0 ? v0
                 : info->size < sizeof *info ? info->size : sizeof *info;
    chook_probe_info *out = info, full;
    info = &full;
    chook__memset(info, 0, sizeof *info);
    if (!target) {
        info->status = chook__fail(CHOOK_EINVAL, "target is NULL");
    } else {
        info->status = lock_commit();
        if (info->status == CHOOK_OK) {
            chook__site_examine((uintptr_t)target, info);
            /* Pages cached outside a transaction are not kept for later ones. */
            if (!open_txn) chook__code_cache_drop();
            unlock_commit();
        }
    }
    if (info->status != CHOOK_OK) {
        const char *m = chook_last_error();
        size_t n = chook__strlen(m);
        if (n >= sizeof info->reason) n = sizeof info->reason - 1;
        chook__memcpy(info->reason, m, n);
        info->reason[n] = 0;
        info->jump = CHOOK_JUMP_NONE;
    }
    info->size = cap;
    chook__memcpy(out, info, cap);
    /* The verdict is in info: the call itself succeeded. */
    chook__clear_error();
    return CHOOK_OK;
}
