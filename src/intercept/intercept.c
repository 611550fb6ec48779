/*
 * Listeners: attach, detach, waiting for detached callbacks, and the two halves
 * of the dispatch the assembly dispatcher calls (see intercept.h for the steps).
 *
 * Concurrency. Attach and detach serialise on one registry lock and publish a new
 * immutable listener set (chain) per change; dispatch takes no lock: it loads the
 * set once per call, inside its thread's "window" (which also covers the enter
 * callbacks), and a call that owes a leave step records the set as in flight on
 * its thread before the window closes. A replaced set is "retired" with the
 * epoch of its retirement and freed once every thread has been seen outside its
 * window since, and no record names it (see "who still uses a retired set").
 * Detach marks the listener before publishing, and waits for the windows open
 * at that moment, so no enter callback that could still see the listener as
 * attached runs after it returns.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "handle.h"
#include "hook.h"
#include "stop.h"
#include "intercept.h"

#define RETIRED_SCAN_SLEEP_NS 100000u /* between checks while waiting */

static chook__mutex reg_lock;                  /* attach, detach, reclaim */
static struct chook__ictx *contexts;           /* every target ever intercepted */
static struct chook__ichain *retired;          /* retired sets not yet freed */
static uint64_t epoch = 1;                     /* advanced at each retirement */
static chook_listener *reapable;               /* detached, in no set: freed by a wait */

#define barrier() __asm__ volatile("" ::: "memory")

/* ---- dispatch ---------------------------------------------------------------- */

static inline void window_open(struct chook__ithread *t)
{
    t->win++;
    barrier();
    if (CHOOK_UNLIKELY(chook__icpt_reader_fence)) __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static inline void window_close(struct chook__ithread *t)
{
    barrier();
    /* A signal handler's window nests inside an interrupted one: only the
     * outermost close counts as "left its window". */
    if (--t->win == 0) t->wgen++;
}

/* Is the thread running on its alternate signal stack? There, frame addresses
 * say nothing about the interrupted stack's calls: none may be dropped. Asked
 * only when a record looks abandoned, which is rare. */
static int on_signal_stack(void)
{
    stack_t ss;
    return chook_arch_syscall(SYS_sigaltstack, 0, (long)&ss, 0, 0, 0, 0) == 0 &&
           (ss.ss_flags & SS_ONSTACK);
}

/* Records the call of frame f as in flight on thread t with set c (inside the
 * window), and f->depth. Records of frames at or below f belong to calls that
 * were left by longjmp or an exception: they are dropped. */
static inline void inflight_push(struct chook__ithread *t, struct chook__iframe *f,
                                 const struct chook__ichain *c)
{
    uintptr_t here = (uintptr_t)f;
    uint32_t d = t->depth;
    if (CHOOK_UNLIKELY(d > 0 && d <= CHOOK__ICPT_INFLIGHT && t->inflight[d - 1].frame <= here) &&
        !on_signal_stack())
        while (d > 0 && t->inflight[d - 1].frame <= here) d--;
    /* Signal-safe push: a handler's call may run between any two of these
     * stores. Counting ours first makes it record above ours; if it ran before
     * our entry was written it may have dropped that index and lowered depth, so
     * depth is stored again once the entry is in place. A waiter reading the
     * records meanwhile sees at worst an old entry (it waits longer); it never
     * needs this one before our window closes (see grace()). */
    t->depth = d + 1;
    barrier();
    if (d < CHOOK__ICPT_INFLIGHT) {
        t->inflight[d].chain = c;
        t->inflight[d].frame = here;
    }
    barrier();
    t->depth = d + 1;
    f->depth = d;
}

/* The dispatcher's single-listener fast path records its call itself, except
 * when a record may have been abandoned or the records are full: then here
 * (f->thread and f->chain are set; the window is open). */
void chook__icpt_record(struct chook__iframe *f)
{
    inflight_push(f->thread, f, f->chain);
}

uint64_t chook__icpt_enter(struct chook__iframe *f)
{
    const struct chook__ictx *ctx = (const struct chook__ictx *)(uintptr_t)f->regs.ctx;
    if (chook__tls.busy | chook__tls.ignore) return CHOOK__ICPT_JUMP;
    struct chook__ithread *t = chook__ithread_self();
    if (CHOOK_UNLIKELY(!t)) return CHOOK__ICPT_JUMP;

    window_open(t);
    const struct chook__ichain *c = __atomic_load_n(&ctx->chain, __ATOMIC_ACQUIRE);
    if (!c) {
        window_close(t);
        return CHOOK__ICPT_JUMP;
    }

    /* Only what callbacks may read that the frame does not already hold. The
     * return registers are left as they are until the original (or a skipping
     * callback, chook_skip()) sets them. */
    chook_call *call = &f->call;
    call->flags = CHOOK__CALL_FRAME; /* the rest is read through the frame */

    /* Listeners beyond the slots the dispatcher reserved were attached after this
     * call started: they do not see it. */
    uint32_t n = c->n, cap = (uint32_t)(f->slot_bytes / sizeof(struct chook__islot));
    if (n > cap) n = cap;
    struct chook__islot *s = chook__iframe_slots(f);
    int owe_leave = 0, skipped = 0;
    uint32_t i = 0;
    /* The window stays open through the enter callbacks: a detach waits for them
     * (see grace()), so once it returns no on_enter of its listener runs on
     * another thread. Each listener is checked right before its callback. */
    for (; i < n; i++) {
        const chook_listener *l = c->l[i];
        int live = !__atomic_load_n(&l->detached, __ATOMIC_RELAXED);
        s[i] = (struct chook__islot){ 0, (uint64_t)live };
        if (!live) continue;
        owe_leave |= l->on_leave != NULL;
        if (!l->on_enter) continue;
        call->data = &s[i].data;
        call->sig = l->sig;
        chook__tls.busy++;
        barrier();
        int r = l->on_enter(call, l->data);
        barrier();
        chook__tls.busy--;
        if (r == CHOOK_SKIP) {
            call->flags = CHOOK__CALL_FRAME | CHOOK__CALL_SKIPPED;
            skipped = 1;
            i++;
            break;
        }
        call->flags = CHOOK__CALL_FRAME;
    }
    if (!owe_leave && !skipped) {
        /* Nothing after the call: the window covered all this call did with
         * the set. */
        window_close(t);
        return CHOOK__ICPT_JUMP;
    }

    /* The leave step will use the set: record the call as in flight on this
     * thread before the window closes. */
    f->chain = c;
    f->thread = t;
    inflight_push(t, f, c);
    f->n = i;
    window_close(t);
    if (skipped) return CHOOK__ICPT_SKIP;
    uint32_t bytes = c->stack_bytes;
    if (bytes == CHOOK__ICPT_STACK_CALLER) bytes = chook__icpt_caller_bytes(f->entry);
    return (uint64_t)bytes | CHOOK__ICPT_CALL;
}

void chook__icpt_leave(struct chook__iframe *f)
{
    struct chook__ithread *t = f->thread;
    const struct chook__ichain *c = f->chain;
    chook_call *call = &f->call;
    struct chook__islot *s = chook__iframe_slots(f);
    for (uint32_t i = f->n; i-- > 0;) {
        const chook_listener *l = c->l[i];
        if (!s[i].entered || !l->on_leave) continue;
        call->data = &s[i].data;
        call->sig = l->sig;
        chook__tls.busy++;
        barrier();
        l->on_leave(call, l->data);
        barrier();
        chook__tls.busy--;
    }
    barrier();
    t->depth = f->depth;
}

/* ---- sets of listeners (registry lock held) ------------------------------------ */

static struct chook__ichain *chain_new(uint32_t n)
{
    struct chook__ichain *c = chook__alloc(sizeof *c + n * sizeof c->l[0]);
    if (c) c->n = n;
    return c;
}

static size_t chain_size(const struct chook__ichain *c)
{
    return sizeof *c + c->n * sizeof c->l[0];
}

static void listener_free(chook_listener *l)
{
    if (l->sig) chook__free(l->sig, sizeof *l->sig);
    l->magic = 0;
    chook__free(l, sizeof *l);
}

/* Fills in what the dispatcher needs from a new set's listeners. */
static void chain_seal(struct chook__ichain *c)
{
    c->stack_bytes = 0;
    for (uint32_t i = 0; i < c->n; i++) {
        c->l[i]->chains++;
        /* CHOOK__ICPT_STACK_CALLER (the whole caller frame) covers any size. */
        if (c->l[i]->on_leave && c->l[i]->stack_bytes > c->stack_bytes)
            c->stack_bytes = c->l[i]->stack_bytes;
    }
}

static void chain_free(struct chook__ichain *c)
{
    for (uint32_t i = 0; i < c->n; i++) {
        chook_listener *l = c->l[i];
        if (--l->chains == 0 && l->detached) {
            /* Freed by chook_detach_wait() only, so that a handle stays a valid
             * (detached) handle until the user declares it done. */
            l->reap_next = reapable;
            reapable = l;
        }
    }
    chook__free(c, chain_size(c));
}

/* Makes `next` the current set of ctx and retires the old one. The dispatcher
 * reserves ctx->slot_bytes of per-listener slots on the stack before it loads
 * the set: they grow before a bigger set is visible and shrink after a smaller
 * one is, so a call never finds fewer slots than the set it loaded needs, except
 * for listeners attached after it read the size (they do not see that call). */
static void chain_publish(struct chook__ictx *ctx, struct chook__ichain *next)
{
    struct chook__ichain *old = (struct chook__ichain *)ctx->chain;
    uint64_t need = next ? (uint64_t)next->n * sizeof(struct chook__islot) : 0;
    if (need > ctx->slot_bytes) __atomic_store_n(&ctx->slot_bytes, need, __ATOMIC_RELEASE);
    __atomic_store_n(&ctx->chain, next, __ATOMIC_RELEASE);
    if (need < ctx->slot_bytes) __atomic_store_n(&ctx->slot_bytes, need, __ATOMIC_RELEASE);
    /* The thunk's entry follows: a call that took the one-listener entry and
     * finds another set goes the common way, and the reverse works too. */
    uintptr_t entry = next && next->n == 1 ? (uintptr_t)chook_arch_icpt_dispatch1
                                           : (uintptr_t)chook_arch_icpt_dispatch;
    __atomic_store_n(&ctx->entry, entry, __ATOMIC_RELEASE);
    if (old) {
        old->retired = __atomic_add_fetch(&epoch, 1, __ATOMIC_SEQ_CST);
        old->retired_next = retired;
        retired = old;
    }
}

/* ---- who still uses a retired set ---------------------------------------------- */

/*
 * Freeing a retired set, in three steps:
 *   1. It is retired (no longer reachable from its context) at epoch E, under
 *      the registry lock.
 *   2. Grace: after a barrier, every other thread is seen outside its window at
 *      least once (win == 0, or its window generation moved on). From then on no
 *      thread can pick up a set retired at or before E without recording it:
 *      windows opened later only load current sets, and a window open before
 *      recorded what it keeps (calls owing a leave step) before closing.
 *   3. Under the lock, every thread's in-flight records are read and the sets
 *      retired at or before E that no record names are freed. Records may change
 *      meanwhile, but only at or above a thread's live depth and only with
 *      current sets: a record being written can only add a false "still used".
 * A thread attaching or detaching from inside an enter callback is not waited
 * for in step 2 (it would wait for us in turn); the set its call is using is not
 * recorded, so while one such thread exists nothing is freed.
 */

/* Marks the retired sets that thread t records as in flight (with `who`, unless
 * already marked); with live_above, only records of frames above that address
 * count (the caller's own live calls). Pointers are only compared with the
 * retired list, never followed. */
static void mark_thread(const struct chook__ithread *t, int who, uintptr_t live_above)
{
    uint32_t d = __atomic_load_n(&t->depth, __ATOMIC_RELAXED);
    if (d > CHOOK__ICPT_INFLIGHT) {
        /* Calls past the recorded depth: assume they use every set. */
        for (struct chook__ichain *r = retired; r; r = r->retired_next)
            if (!r->marked) r->marked = who;
        return;
    }
    for (uint32_t i = 0; i < d; i++) {
        if (live_above && __atomic_load_n(&t->inflight[i].frame, __ATOMIC_RELAXED) <= live_above)
            continue;
        const struct chook__ichain *c = __atomic_load_n(&t->inflight[i].chain, __ATOMIC_RELAXED);
        for (struct chook__ichain *r = retired; r; r = r->retired_next)
            if (r == c) {
                if (!r->marked) r->marked = who;
                break;
            }
    }
}

static int holds_detached(const struct chook__ichain *c)
{
    for (uint32_t i = 0; i < c->n; i++)
        if (__atomic_load_n(&c->l[i]->detached, __ATOMIC_RELAXED)) return 1;
    return 0;
}

#define MARK_SELF (-1)

/* Step 2 (registry lock not held): waits until every other thread has been seen
 * outside its window, or until `deadline` (ns, 0 = none). Returns 0, or the tid
 * of a thread still inside the same window at the deadline. */
static int grace(uint64_t deadline)
{
    const struct chook__ithread *me = chook__ithread_tls;
    chook__ithread_barrier();
    for (const struct chook__ithread *t = chook__ithread_first(); t; t = t->next) {
        if (t == me) continue;
        uint32_t gen = __atomic_load_n(&t->wgen, __ATOMIC_RELAXED);
        for (;;) {
            int owner = __atomic_load_n(&t->owner, __ATOMIC_ACQUIRE);
            if (!owner || !__atomic_load_n(&t->win, __ATOMIC_RELAXED) ||
                __atomic_load_n(&t->wgen, __ATOMIC_RELAXED) != gen ||
                __atomic_load_n(&t->in_registry, __ATOMIC_RELAXED))
                break;
            if (deadline && chook__now_ns() >= deadline) return owner;
            chook__sys_nanosleep_ns(1000);
        }
    }
    return 0;
}

/* Step 3 (registry lock held, after a grace that began after epoch `upto`):
 * frees the sets retired at or before `upto` that no thread uses, and reports
 * whether one of those that holds a detached listener is still in use — by
 * another thread (*blocker = its tid) or by the caller's own calls
 * (*self_blocked). */
static void reclaim(uint64_t upto, int *blocker, int *self_blocked)
{
    *blocker = 0;
    *self_blocked = 0;
    if (!retired) return;
    const struct chook__ithread *me = chook__ithread_tls;
    int frozen = 0;
    if (me && me->win) {
        /* Called from an enter callback: this call's set is not recorded. */
        frozen = 1;
        for (struct chook__ichain *r = retired; r; r = r->retired_next)
            if (r->retired <= upto && holds_detached(r)) *self_blocked = 1;
    }
    for (struct chook__ichain *r = retired; r; r = r->retired_next) r->marked = 0;
    if (me && me->owner) mark_thread(me, MARK_SELF, (uintptr_t)__builtin_frame_address(0));
    for (const struct chook__ithread *t = chook__ithread_first(); t; t = t->next) {
        int owner = __atomic_load_n(&t->owner, __ATOMIC_ACQUIRE);
        if (t == me || !owner) continue;
        if (__atomic_load_n(&t->in_registry, __ATOMIC_RELAXED) &&
            __atomic_load_n(&t->win, __ATOMIC_RELAXED)) {
            /* Skipped by the grace, inside an enter callback: its call's set is
             * not recorded. */
            frozen = 1;
            if (!*blocker) *blocker = owner;
        }
        mark_thread(t, owner, 0);
    }
    struct chook__ichain **pp = &retired;
    while (*pp) {
        struct chook__ichain *c = *pp;
        if (c->retired > upto) {
            pp = &c->retired_next;
            continue;
        }
        if (!c->marked && !frozen) {
            *pp = c->retired_next;
            chain_free(c);
            continue;
        }
        if (c->marked && holds_detached(c)) {
            /* The caller's own call of exit() (it runs the atexit handlers)
             * never comes back for its leave step: not worth waiting for. The
             * set is kept all the same. */
            if (c->marked == MARK_SELF) *self_blocked |= !(c->n && c->l[0]->ctx->noreturn);
            else if (!*blocker) *blocker = c->marked;
        }
        pp = &c->retired_next;
    }
}

/* Grace, then reclaim: frees what can be freed of the sets retired up to now.
 * Called from inside a callback, the thread marks itself so that threads doing
 * the same from their callbacks do not wait for each other. */
static void collect(void)
{
    uint64_t upto = __atomic_load_n(&epoch, __ATOMIC_SEQ_CST);
    struct chook__ithread *me = chook__tls.busy ? chook__ithread_tls : NULL;
    if (me) __atomic_store_n(&me->in_registry, 1, __ATOMIC_SEQ_CST);
    grace(0);
    int blocker, self_blocked;
    chook__mutex_lock(&reg_lock);
    reclaim(upto, &blocker, &self_blocked);
    chook__mutex_unlock(&reg_lock);
    if (me) __atomic_store_n(&me->in_registry, 0, __ATOMIC_RELEASE);
}

size_t chook__icpt_retired_count(void)
{
    size_t n = 0;
    chook__mutex_lock(&reg_lock);
    for (const struct chook__ichain *r = retired; r; r = r->retired_next) n++;
    chook__mutex_unlock(&reg_lock);
    return n;
}

/* ---- registry -------------------------------------------------------------------- */

/* Is the listeners' hook of ctx still in the core's chain? It is an internal
 * hook, which chook_uninstall() of the target leaves alone, but stay defensive. */
static int ctx_hooked(struct chook__ictx *x)
{
    /* Claimed by this thread's transaction: its hook may be pending there. */
    if (x->txn_owner) return x->hook != NULL;
    /* x->hook is a handle: a removed hook's handle is stale even when its record
     * serves another hook now. */
    if (x->hook && !chook_hook_active(x->hook)) x->hook = NULL;
    return x->hook != NULL;
}

static struct chook__ictx *ctx_find(uintptr_t target)
{
    for (struct chook__ictx *x = contexts; x; x = x->next)
        if (x->target == target) return x;
    return NULL;
}

/* Functions that never return: a call of one owes a leave step that never
 * comes (chook_detach_wait() from an atexit handler runs inside exit()). */
static int never_returns(uintptr_t target)
{
    return target == (uintptr_t)exit || target == (uintptr_t)quick_exit ||
           target == (uintptr_t)_exit || target == (uintptr_t)_Exit ||
           target == (uintptr_t)abort || target == (uintptr_t)pthread_exit;
}

static int ctx_get(uintptr_t target, int hook_now, struct chook__ictx **out)
{
    struct chook__ictx *x = ctx_find(target);
    if (!x) {
        x = chook__alloc(sizeof *x);
        if (!x) return chook__fail(CHOOK_ENOMEM, "out of memory intercepting 0x%lx",
                                   (unsigned long)target);
        x->target = target;
        x->thunk = chook__code_alloc(target, CHOOK_ARCH_ICPT_THUNK_MAX);
        if (!x->thunk) x->thunk = chook__code_alloc(0, CHOOK_ARCH_ICPT_THUNK_MAX);
        uint8_t code[CHOOK_ARCH_ICPT_THUNK_MAX];
        x->entry = (uintptr_t)chook_arch_icpt_dispatch;
        size_t len = x->thunk ? chook_arch_write_icpt_thunk(code, (uintptr_t)x) : 0;
        int st = len ? chook__code_write(x->thunk, code, len)
                     : chook__fail(CHOOK_ENOMEM, "no code memory for the thunk of 0x%lx",
                                   (unsigned long)target);
        if (st != CHOOK_OK) {
            if (x->thunk) chook__code_free(x->thunk, CHOOK_ARCH_ICPT_THUNK_MAX);
            chook__free(x, sizeof *x);
            return st;
        }
        x->noreturn = never_returns(target);
        /* Contexts are never freed: a thread may be in the thunk at any time. */
        x->next = contexts;
        contexts = x;
    }
    if (hook_now && x->txn_owner)
        return chook__fail(CHOOK_EBUSY, "target 0x%lx has listeners queued in another thread's "
                           "open transaction", (unsigned long)target);
    if (hook_now && !ctx_hooked(x)) {
        int st = chook__install_internal((void *)target, (void *)x->thunk,
                                         (void **)&x->original, &x->hook);
        if (st != CHOOK_OK) {
            x->hook = NULL;
            return st;
        }
    }
    *out = x;
    return CHOOK_OK;
}

/* fork() must not split the registry: its lock is taken by the atfork handlers
 * (it is held while attaching installs a hook, so it ranks before the commit
 * lock) and reset in the child. */
__attribute__((constructor)) static void registry_init(void)
{
    chook__fork_guard(&reg_lock, -30);
}

/* ---- transactions ------------------------------------------------------------------ */

/*
 * Attach and detach inside a transaction (registry lock held). The listener is
 * queued on the calling thread and its target's context is claimed by that
 * thread: other threads get CHOOK_EBUSY on that target until the transaction
 * ends. A target without a hook gets one queued in the core's transaction; a
 * target whose last listeners go gets its hook's removal queued. At commit the
 * new sets are built before the core's commit (holding the registry lock
 * through it) and published after it succeeded: one stop of the threads for the
 * whole batch. On failure or abort, nothing was published: queued listeners are
 * freed, detached ones stay attached.
 */
enum { TXN_ATTACH = 1, TXN_DETACH = 2 };

struct txn_op {
    chook_listener *l;
    struct chook__ictx *ctx;
};

struct txn_queue {
    struct txn_op *ops;
    size_t n, cap;
    int locked; /* prepare took the registry lock */
};

static __thread struct txn_queue txq __attribute__((tls_model("initial-exec")));

static int txn_push_op(chook_listener *l, struct chook__ictx *ctx)
{
    if (txq.n == txq.cap) {
        size_t cap = txq.cap ? txq.cap * 2 : 64;
        struct txn_op *ops = chook__alloc(cap * sizeof *ops);
        if (!ops) return chook__fail(CHOOK_ENOMEM, "out of memory queueing a listener");
        if (txq.n) chook__memcpy(ops, txq.ops, txq.n * sizeof *ops);
        if (txq.ops) chook__free(txq.ops, txq.cap * sizeof *ops);
        txq.ops = ops;
        txq.cap = cap;
    }
    txq.ops[txq.n++] = (struct txn_op){ l, ctx };
    return CHOOK_OK;
}

static int txn_claim(struct chook__ictx *x, int mode)
{
    if (x->txn_owner && x->txn_owner != &txq)
        return chook__fail(CHOOK_EBUSY, "target 0x%lx has listeners queued in another thread's "
                           "open transaction", (unsigned long)x->target);
    if (x->txn_owner && x->txn_mode != mode)
        return chook__fail(CHOOK_ETXN, "target 0x%lx: this transaction already %s listeners "
                           "there; commit it first", (unsigned long)x->target,
                           x->txn_mode == TXN_ATTACH ? "attaches" : "detaches");
    if (!x->txn_owner) {
        ctx_hooked(x); /* drop a stale hook record before claiming */
        x->txn_owner = &txq;
        x->txn_mode = mode;
        x->txn_prev_hook = x->hook;
        x->txn_removing = 0;
        x->txn_built = 0;
        x->txn_next = NULL;
    }
    return CHOOK_OK;
}

/* Undoes a claim that has no queued operation. */
static void txn_unclaim_if_unused(struct chook__ictx *x)
{
    for (size_t i = 0; i < txq.n; i++)
        if (txq.ops[i].ctx == x) return;
    x->hook = x->txn_prev_hook;
    x->txn_owner = NULL;
}

static size_t txn_count(const struct chook__ictx *x)
{
    size_t n = 0;
    for (size_t i = 0; i < txq.n; i++) n += txq.ops[i].ctx == x;
    return n;
}

static int txn_attach(uintptr_t target, chook_listener *l)
{
    struct chook__ictx *x = NULL;
    CHOOK_CHECK(ctx_get(target, 0, &x));
    CHOOK_CHECK(txn_claim(x, TXN_ATTACH));
    uint32_t cur = x->chain ? x->chain->n : 0;
    if (cur + txn_count(x) >= CHOOK__ICPT_MAX_LISTENERS) {
        txn_unclaim_if_unused(x);
        return chook__fail(CHOOK_ENOTSUP, "target 0x%lx would have more than %u listeners, "
                           "the most one function may have", (unsigned long)target,
                           CHOOK__ICPT_MAX_LISTENERS);
    }
    if (!x->hook) {
        /* Queued in the core's transaction: x->hook is its pending handle. */
        int st = chook__install_internal((void *)target, (void *)x->thunk,
                                         (void **)&x->original, &x->hook);
        if (st != CHOOK_OK) {
            x->hook = NULL;
            txn_unclaim_if_unused(x);
            return st;
        }
    }
    l->ctx = x;
    int st = txn_push_op(l, x);
    if (st != CHOOK_OK) txn_unclaim_if_unused(x);
    return st;
}

static int txn_detach(chook_listener *l)
{
    struct chook__ictx *x = l->ctx;
    if (x->txn_owner == &txq && x->txn_mode == TXN_ATTACH) {
        for (size_t i = 0; i < txq.n; i++)
            if (txq.ops[i].l == l)
                return chook__fail(CHOOK_ETXN, "listener %p is attached by this transaction, "
                                   "which is not committed yet", (void *)l);
    }
    if (!chook__txn_is_open())
        return chook__fail(CHOOK_EBUSY, "target 0x%lx has listeners queued in another "
                           "thread's open transaction", (unsigned long)x->target);
    for (size_t i = 0; i < txq.n; i++)
        if (txq.ops[i].l == l)
            return chook__fail(CHOOK_ENOTHOOKED, "listener %p is detached in this transaction "
                               "already", (void *)l);
    CHOOK_CHECK(txn_claim(x, TXN_DETACH));
    uint32_t cur = x->chain ? x->chain->n : 0;
    if (cur <= txn_count(x) + 1 && ctx_hooked(x) && !x->txn_removing) {
        int st = chook_remove(x->hook); /* queued in the core's transaction */
        if (st != CHOOK_OK) {
            txn_unclaim_if_unused(x);
            return st;
        }
        x->txn_removing = 1;
    }
    int st = txn_push_op(l, x);
    if (st != CHOOK_OK) txn_unclaim_if_unused(x);
    return st;
}

/* The set x gets at commit. */
static int txn_build(struct chook__ictx *x)
{
    const struct chook__ichain *cur = x->chain;
    uint32_t n = cur ? cur->n : 0, q = (uint32_t)txn_count(x);
    uint32_t m = x->txn_mode == TXN_ATTACH ? n + q : (n > q ? n - q : 0);
    x->txn_built = 1;
    x->txn_next = NULL;
    if (!m) return CHOOK_OK;
    struct chook__ichain *c = chain_new(m);
    if (!c) return chook__fail(CHOOK_ENOMEM, "out of memory for a listener set");
    uint32_t j = 0;
    for (uint32_t i = 0; i < n; i++) {
        int gone = 0;
        for (size_t k = 0; x->txn_mode == TXN_DETACH && k < txq.n && !gone; k++)
            gone = txq.ops[k].l == cur->l[i];
        if (!gone && j < m) c->l[j++] = cur->l[i];
    }
    for (size_t k = 0; x->txn_mode == TXN_ATTACH && k < txq.n; k++)
        if (txq.ops[k].ctx == x && j < m) c->l[j++] = txq.ops[k].l;
    c->n = j;
    x->txn_next = c;
    return CHOOK_OK;
}

int chook__icpt_txn_prepare(void)
{
    if (!txq.n) return CHOOK_OK;
    chook__mutex_lock(&reg_lock);
    txq.locked = 1;
    for (size_t i = 0; i < txq.n; i++) {
        struct chook__ictx *x = txq.ops[i].ctx;
        if (!x->txn_built) CHOOK_CHECK(txn_build(x));
    }
    return CHOOK_OK;
}

void chook__icpt_txn_finish(int committed)
{
    if (!txq.n) return;
    if (!txq.locked) chook__mutex_lock(&reg_lock);
    /* Detached listeners are marked before their targets' new sets appear. */
    for (size_t i = 0; committed && i < txq.n; i++)
        if (txq.ops[i].ctx->txn_mode == TXN_DETACH) {
            __atomic_store_n(&txq.ops[i].l->detached, 1, __ATOMIC_SEQ_CST);
            chook__handle_release(txq.ops[i].l->handle); /* every copy is stale now */
        }
    for (size_t i = 0; i < txq.n; i++) {
        struct chook__ictx *x = txq.ops[i].ctx;
        if (x->txn_owner != &txq) continue; /* done already */
        if (committed) {
            if (x->txn_next) chain_seal(x->txn_next);
            chain_publish(x, x->txn_next);
            if (x->txn_removing) x->hook = NULL;
        } else {
            if (x->txn_next) chook__free(x->txn_next, chain_size(x->txn_next));
            x->hook = x->txn_prev_hook;
        }
        x->txn_next = NULL;
        x->txn_built = 0;
        x->txn_owner = NULL;
    }
    for (size_t i = 0; !committed && i < txq.n; i++)
        if (txq.ops[i].l->ctx->txn_mode == TXN_ATTACH && !txq.ops[i].l->chains) {
            chook__handle_release(txq.ops[i].l->handle);
            listener_free(txq.ops[i].l);
        }
    chook__free(txq.ops, txq.cap * sizeof *txq.ops);
    txq = (struct txn_queue){ 0 };
    chook__mutex_unlock(&reg_lock);
    if (committed) collect();
}

/* ---- public ---------------------------------------------------------------------- */

static int attach_ex(void *target, chook_enter_fn on_enter, chook_leave_fn on_leave, void *data,
                     const chook_attach_opts *opts, chook_listener **listener)
{
    if (!target) return chook__fail(CHOOK_EINVAL, "target is NULL");
    if (!listener) return chook__fail(CHOOK_EINVAL, "listener (the handle's address) is NULL");
    if (!on_enter && !on_leave)
        return chook__fail(CHOOK_EINVAL, "a listener needs on_enter or on_leave");
    if (opts) CHOOK_CHECK(CHOOK__CHECK_SIZE(opts, chook_attach_opts));
    if (on_leave) CHOOK_CHECK(chook__icpt_check_leave(target, "an on_leave listener"));
    char cold[96];
    if (chook__symbol_cold_part((uintptr_t)target, cold, sizeof cold))
        return chook__fail(CHOOK_ENOTSUP, "target %p is %s, a compiler's cold part of a function: "
                           "it is entered by a jump, not a call, so it takes no listeners",
                           target, cold);
    if (opts && opts->stack_bytes > CHOOK__ICPT_MAX_STACK)
        return chook__fail(CHOOK_EINVAL, "stack_bytes %zu is over the limit of %u",
                           opts->stack_bytes, CHOOK__ICPT_MAX_STACK);

    chook_listener *l = chook__alloc(sizeof *l);
    if (!l) return chook__fail(CHOOK_ENOMEM, "out of memory for a listener");
    l->on_enter = on_enter;
    l->on_leave = on_leave;
    l->data = data;
    l->magic = CHOOK__LISTENER_MAGIC;
    l->stack_bytes = CHOOK__ICPT_STACK_CALLER;
    if (opts && opts->signature) {
        l->sig = chook__alloc(sizeof *l->sig);
        int st = l->sig ? chook__sig_parse(opts->signature, l->sig)
                        : chook__fail(CHOOK_ENOMEM, "out of memory for a signature");
        if (st != CHOOK_OK) {
            listener_free(l);
            return st;
        }
        /* After a "...", as many as the caller passed: its whole frame. */
        l->stack_bytes = l->sig->variadic ? CHOOK__ICPT_STACK_CALLER : l->sig->stack_bytes;
    }
    if (opts && opts->stack_bytes) l->stack_bytes = (uint32_t)CHOOK_ALIGN_UP(opts->stack_bytes, 16);

    /* The user's handle names l through chook's handle table (handle.h). */
    uintptr_t handle = chook__handle_new(CHOOK__H_LISTENER, l);
    if (!handle) {
        listener_free(l);
        return chook__fail(CHOOK_ENOMEM, "out of memory for a listener handle");
    }

    chook__mutex_lock(&reg_lock);
    if (chook__txn_is_open()) {
        l->handle = handle;
        int st = txn_attach((uintptr_t)target, l);
        chook__mutex_unlock(&reg_lock);
        if (st != CHOOK_OK) {
            chook__handle_release(handle);
            listener_free(l);
            return chook__txn_fail(st);
        }
        *listener = (chook_listener *)handle;
        return CHOOK_OK;
    }
    struct chook__ictx *ctx = NULL;
    int st = ctx_get((uintptr_t)target, 1, &ctx);
    struct chook__ichain *next = NULL;
    if (st == CHOOK_OK) {
        const struct chook__ichain *cur = ctx->chain;
        uint32_t n = cur ? cur->n : 0;
        next = n < CHOOK__ICPT_MAX_LISTENERS ? chain_new(n + 1) : NULL;
        if (n >= CHOOK__ICPT_MAX_LISTENERS)
            st = chook__fail(CHOOK_ENOTSUP, "target %p already has %u listeners, the most one "
                                            "function may have", target, n);
        else if (!next)
            st = chook__fail(CHOOK_ENOMEM, "out of memory for a listener set");
        else {
            for (uint32_t i = 0; i < n; i++) next->l[i] = cur->l[i];
            next->l[n] = l;
            l->ctx = ctx;
            chain_seal(next);
            chain_publish(ctx, next);
        }
    }
    if (st != CHOOK_OK) {
        chook__mutex_unlock(&reg_lock);
        chook__handle_release(handle);
        listener_free(l);
        return st;
    }
    chook__mutex_unlock(&reg_lock);
    collect(); /* frees the replaced set once no thread can use it */
    *listener = (chook_listener *)handle;
    return CHOOK_OK;
}

/* Part of an open transaction: every early return above fails its commit too. */
int chook_attach_ex(void *target, chook_enter_fn on_enter, chook_leave_fn on_leave, void *data,
                    const chook_attach_opts *opts, chook_listener **listener)
{
    chook__clear_error();
    return chook__txn_fail(attach_ex(target, on_enter, on_leave, data, opts, listener));
}

int chook_attach(void *target, chook_enter_fn on_enter, chook_leave_fn on_leave, void *data,
                 chook_listener **listener)
{
    return chook_attach_ex(target, on_enter, on_leave, data, NULL, listener);
}

static int detach(chook_listener *handle)
{
    chook_listener *l;
    chook__mutex_lock(&reg_lock);
    /* Looked up under the registry lock, which also serialises its release: a
     * garbage value is never dereferenced, a stale one (detached before; its
     * record may serve a newer listener) is refused. */
    int hst = chook__handle_get((uintptr_t)handle, CHOOK__H_LISTENER, "listener", (void **)&l);
    if (hst == CHOOK_OK && (l->magic != CHOOK__LISTENER_MAGIC || l->detached))
        hst = chook__fail(CHOOK_ENOTHOOKED, "listener %p is not attached", (void *)handle);
    if (hst != CHOOK_OK) {
        chook__mutex_unlock(&reg_lock);
        return hst;
    }
    struct chook__ictx *ctx = l->ctx;
    if (ctx->txn_owner || chook__txn_is_open()) {
        l->handle = (uintptr_t)handle;
        int st = txn_detach(l);
        chook__mutex_unlock(&reg_lock);
        return chook__txn_fail(st);
    }
    const struct chook__ichain *cur = ctx->chain;
    struct chook__ichain *next = NULL;
    if (cur->n > 1) {
        next = chain_new(cur->n - 1);
        if (!next) {
            chook__mutex_unlock(&reg_lock);
            return chook__fail(CHOOK_ENOMEM, "out of memory for a listener set");
        }
        uint32_t j = 0;
        for (uint32_t i = 0; i < cur->n; i++)
            if (cur->l[i] != l) next->l[j++] = cur->l[i];
        chain_seal(next);
    }
    __atomic_store_n(&l->detached, 1, __ATOMIC_SEQ_CST);
    chook__handle_release((uintptr_t)handle); /* detached: every copy is stale now */
    chain_publish(ctx, next);
    int st = CHOOK_OK;
    if (!next && ctx_hooked(ctx)) {
        /* The last listener: take the thunk out of the core's chain. Calls already
         * in it find no set and go straight to the original. */
        st = chook_remove(ctx->hook);
        if (st == CHOOK_OK) ctx->hook = NULL;
    }
    chook__mutex_unlock(&reg_lock);

    /* The grace is what makes the guarantee: once it is over, no other thread
     * runs an enter callback that could still see the listener as attached. */
    collect();
    return st;
}

/* Part of an open transaction: a bad or stale handle fails its commit too. */
int chook_detach(chook_listener *handle)
{
    chook__clear_error();
    return chook__txn_fail(detach(handle));
}

int chook_detach_wait(unsigned timeout_ms)
{
    chook__clear_error();
    uint64_t upto = __atomic_load_n(&epoch, __ATOMIC_SEQ_CST);
    uint64_t deadline = chook__now_ns() + (uint64_t)timeout_ms * 1000000u;
    struct chook__ithread *me = chook__tls.busy ? chook__ithread_tls : NULL;
    int st = CHOOK_OK;
    if (me) __atomic_store_n(&me->in_registry, 1, __ATOMIC_SEQ_CST);
    for (;;) {
        int tid = grace(deadline), self_blocked = 0;
        if (!tid) {
            chook__mutex_lock(&reg_lock);
            reclaim(upto, &tid, &self_blocked);
            if (!tid && !self_blocked) {
                while (reapable) {
                    chook_listener *l = reapable;
                    reapable = l->reap_next;
                    listener_free(l);
                }
            }
            chook__mutex_unlock(&reg_lock);
        }
        if (self_blocked) {
            st = chook__fail(CHOOK_EBUSY, "called from inside a callback of a call that uses "
                                          "a detached listener: it cannot finish first");
            break;
        }
        if (!tid) break;
        if (chook__now_ns() >= deadline) {
            st = chook__fail(CHOOK_EBUSY, "thread %d still runs or owes a callback of a "
                                          "detached listener after %u ms", tid, timeout_ms);
            break;
        }
        chook__sys_nanosleep_ns(RETIRED_SCAN_SLEEP_NS);
    }
    if (me) __atomic_store_n(&me->in_registry, 0, __ATOMIC_RELEASE);
    return st;
}
