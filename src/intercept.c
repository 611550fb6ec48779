/*
 * Listeners: attach, detach, waiting for detached callbacks, and the two halves
 * of the dispatch the assembly dispatcher calls (see intercept.h for the steps).
 *
 * Concurrency. Attach and detach serialise on one registry lock and publish a new
 * immutable listener set (chain) per change; dispatch takes no lock: it loads the
 * set once per call and keeps it until its leave step. A replaced set is
 * "retired" with the epoch of its retirement and freed once no thread can still
 * use it: no thread is inside a window (so none can newly load it) and no thread
 * records it as in flight. Detach marks the listener first, so a call that loaded
 * an older set still skips it at its per-listener check.
 */
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
    t->win--;
}

int chook__icpt_enter(struct chook__iframe *f)
{
    const struct chook__ictx *ctx = (const struct chook__ictx *)(uintptr_t)f->regs.ctx;
    f->next = ctx->original;
    if (chook__tls.busy | chook__tls.ignore) return CHOOK__ICPT_JUMP;
    struct chook__ithread *t = chook__ithread_self();
    if (CHOOK_UNLIKELY(!t)) return CHOOK__ICPT_JUMP;

    window_open(t);
    const struct chook__ichain *c = __atomic_load_n(&ctx->chain, __ATOMIC_ACQUIRE);
    if (!c) {
        window_close(t);
        return CHOOK__ICPT_JUMP;
    }

    /* Record the call as in flight on this thread. Records of frames at or below
     * ours belong to calls that were left by longjmp or an exception: drop them. */
    uintptr_t here = (uintptr_t)f;
    uint32_t d = t->depth;
    while (d > 0 && d <= CHOOK__ICPT_INFLIGHT && t->inflight[d - 1].frame <= here) d--;
    /* Signal-safe push: a handler's call may run between any two of these
     * stores. Counting ours first makes it record above ours; if it ran before
     * our entry was written it may have dropped that index and lowered depth, so
     * depth is stored again once the entry is in place. (Meanwhile the window
     * keeps every waiter from trusting the records.) */
    t->depth = d + 1;
    barrier();
    if (d < CHOOK__ICPT_INFLIGHT) {
        t->inflight[d].chain = c;
        t->inflight[d].frame = here;
    }
    barrier();
    t->depth = d + 1;
    f->depth = d;
    f->chain = c;
    f->thread = t;

    /* Only what callbacks may read; every store here is paid on each call. The
     * return registers are left as they are until the original (or a skipping
     * callback, chook_skip()) sets them; the return address is read from the
     * stack when asked for. */
    chook_call *call = &f->call;
    call->gp = f->regs.gp;
    call->fp = (uint8_t *)f->regs.fp;
    call->n_gp = CHOOK_ARCH_ICPT_GP;
    call->n_fp = CHOOK_ARCH_ICPT_FP;
    call->fp_stride = sizeof f->regs.fp[0];
    call->flags = 0;
    call->target = (void *)ctx->target;
    call->return_address = NULL;

    /* Listeners beyond the slots the dispatcher reserved were attached after this
     * call started: they do not see it. */
    uint32_t n = c->n, cap = (uint32_t)(f->slot_bytes / sizeof(struct chook__islot));
    if (n > cap) n = cap;
    struct chook__islot *s = f->slots;
    int owe_leave = 0, skipped = 0;
    uint32_t i = 0;
    for (; i < n; i++) {
        const chook_listener *l = c->l[i];
        if (i) window_open(t);
        int live = !__atomic_load_n(&l->detached, __ATOMIC_RELAXED);
        window_close(t);
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
            call->flags |= CHOOK__CALL_SKIPPED;
            skipped = 1;
            i++;
            break;
        }
        call->flags &= ~CHOOK__CALL_SKIPPED;
    }
    if (n == 0) window_close(t);
    f->n = i;

    if (skipped) return CHOOK__ICPT_SKIP;
    if (owe_leave) {
        f->stack_bytes = c->stack_bytes;
        return CHOOK__ICPT_CALL;
    }
    barrier();
    t->depth = d;
    return CHOOK__ICPT_JUMP;
}

void chook__icpt_leave(struct chook__iframe *f)
{
    struct chook__ithread *t = f->thread;
    const struct chook__ichain *c = f->chain;
    chook_call *call = &f->call;
    for (uint32_t i = f->n; i-- > 0;) {
        const chook_listener *l = c->l[i];
        if (!f->slots[i].entered || !l->on_leave) continue;
        call->data = &f->slots[i].data;
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

/* Makes `next` the current set of ctx and retires the old one. */
static void chain_publish(struct chook__ictx *ctx, struct chook__ichain *next)
{
    struct chook__ichain *old = (struct chook__ichain *)ctx->chain;
    if (next) {
        uint64_t need = (uint64_t)next->n * sizeof(struct chook__islot);
        /* Slots grow before the set that needs them is visible. */
        if (need > ctx->slot_bytes) __atomic_store_n(&ctx->slot_bytes, need, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&ctx->chain, next, __ATOMIC_RELEASE);
    if (old) {
        old->retired = __atomic_add_fetch(&epoch, 1, __ATOMIC_SEQ_CST);
        old->retired_next = retired;
        retired = old;
    }
}

/* ---- who still uses a retired set ---------------------------------------------- */

static int is_retired_by(const struct chook__ichain *c, uint64_t upto)
{
    for (const struct chook__ichain *r = retired; r; r = r->retired_next)
        if (r == c) return r->retired <= upto;
    return 0;
}

/* Does thread t (not the caller) still use a set retired at or before `upto`?
 * When `any_window` is set, an open window counts too (it may be loading one). */
static int thread_uses(const struct chook__ithread *t, uint64_t upto)
{
    if (__atomic_load_n(&t->win, __ATOMIC_RELAXED)) return 1;
    uint32_t d = __atomic_load_n(&t->depth, __ATOMIC_RELAXED);
    if (d > CHOOK__ICPT_INFLIGHT) return retired != NULL; /* unrecorded calls: assume so */
    for (uint32_t i = 0; i < d; i++)
        if (is_retired_by(__atomic_load_n(&t->inflight[i].chain, __ATOMIC_RELAXED), upto))
            return 1;
    return 0;
}

/* The calling thread's own live records (frames above the current stack
 * pointer); a set it uses cannot be waited for. */
static int self_uses(const struct chook__ithread *t, uint64_t upto)
{
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    uint32_t d = t->depth < CHOOK__ICPT_INFLIGHT ? t->depth : CHOOK__ICPT_INFLIGHT;
    for (uint32_t i = 0; i < d; i++)
        if (t->inflight[i].frame > sp && is_retired_by(t->inflight[i].chain, upto)) return 1;
    return 0;
}

/* Frees the retired sets no thread uses any more, when every thread is outside
 * its window. Returns the tid of a thread that blocks it (0 when none does). */
static int reclaim(uint64_t upto, int *self_blocked)
{
    const struct chook__ithread *me = chook__ithread_self();
    chook__ithread_barrier();
    *self_blocked = me && self_uses(me, upto);
    for (const struct chook__ithread *t = chook__ithread_first(); t; t = t->next) {
        if (t == me || !__atomic_load_n(&t->owner, __ATOMIC_ACQUIRE)) continue;
        if (thread_uses(t, upto)) return t->owner;
    }
    if (*self_blocked) return 0;
    struct chook__ichain **pp = &retired;
    while (*pp) {
        struct chook__ichain *c = *pp;
        if (c->retired <= upto) {
            *pp = c->retired_next;
            chain_free(c);
        } else {
            pp = &c->retired_next;
        }
    }
    return 0;
}

/* Waits until no other thread is inside a window: afterwards, any thread that
 * loads a listener's state sees what we stored before. */
static void grace(void)
{
    const struct chook__ithread *me = chook__ithread_self();
    chook__ithread_barrier();
    for (const struct chook__ithread *t = chook__ithread_first(); t; t = t->next) {
        if (t == me) continue;
        while (__atomic_load_n(&t->owner, __ATOMIC_ACQUIRE) &&
               __atomic_load_n(&t->win, __ATOMIC_RELAXED))
            chook__sys_nanosleep_ns(1000);
    }
}

/* ---- registry -------------------------------------------------------------------- */

static struct chook__ictx *ctx_find(uintptr_t target)
{
    for (struct chook__ictx *x = contexts; x; x = x->next)
        if (x->target == target) return x;
    return NULL;
}

static int ctx_get(uintptr_t target, struct chook__ictx **out)
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
        size_t len = x->thunk ? chook_arch_write_icpt_thunk(code, x->thunk, (uintptr_t)x,
                                                            (uintptr_t)chook_arch_icpt_dispatch)
                              : 0;
        int st = len ? chook__code_write(x->thunk, code, len)
                     : chook__fail(CHOOK_ENOMEM, "no code memory for the thunk of 0x%lx",
                                   (unsigned long)target);
        if (st != CHOOK_OK) {
            if (x->thunk) chook__code_free(x->thunk, CHOOK_ARCH_ICPT_THUNK_MAX);
            chook__free(x, sizeof *x);
            return st;
        }
        /* Contexts are never freed: a thread may be in the thunk at any time. */
        x->next = contexts;
        contexts = x;
    }
    if (!x->hook) {
        int st = chook_install_ex((void *)target, (void *)x->thunk, (void **)&x->original,
                                  &x->hook);
        if (st != CHOOK_OK) {
            x->hook = NULL;
            return st;
        }
    }
    *out = x;
    return CHOOK_OK;
}

/* ---- public ---------------------------------------------------------------------- */

int chook_attach_ex(void *target, chook_enter_fn on_enter, chook_leave_fn on_leave, void *data,
                    const chook_attach_opts *opts, chook_listener **listener)
{
    if (!target) return chook__fail(CHOOK_EINVAL, "target is NULL");
    if (!listener) return chook__fail(CHOOK_EINVAL, "listener (the handle's address) is NULL");
    if (!on_enter && !on_leave)
        return chook__fail(CHOOK_EINVAL, "a listener needs on_enter or on_leave");
    if (opts && opts->stack_bytes > CHOOK__ICPT_MAX_STACK)
        return chook__fail(CHOOK_EINVAL, "stack_bytes %zu is over the limit of %u",
                           opts->stack_bytes, CHOOK__ICPT_MAX_STACK);

    chook_listener *l = chook__alloc(sizeof *l);
    if (!l) return chook__fail(CHOOK_ENOMEM, "out of memory for a listener");
    l->on_enter = on_enter;
    l->on_leave = on_leave;
    l->data = data;
    l->magic = CHOOK__LISTENER_MAGIC;
    l->stack_bytes = CHOOK__ICPT_DEFAULT_STACK;
    if (opts && opts->signature) {
        l->sig = chook__alloc(sizeof *l->sig);
        int st = l->sig ? chook__sig_parse(opts->signature, l->sig)
                        : chook__fail(CHOOK_ENOMEM, "out of memory for a signature");
        if (st != CHOOK_OK) {
            listener_free(l);
            return st;
        }
        l->stack_bytes = l->sig->stack_bytes + (l->sig->variadic ? CHOOK__ICPT_DEFAULT_STACK : 0);
    }
    if (opts && opts->stack_bytes) l->stack_bytes = (uint32_t)CHOOK_ALIGN_UP(opts->stack_bytes, 16);

    chook__mutex_lock(&reg_lock);
    struct chook__ictx *ctx = NULL;
    int st = ctx_get((uintptr_t)target, &ctx);
    struct chook__ichain *next = NULL;
    if (st == CHOOK_OK) {
        const struct chook__ichain *cur = ctx->chain;
        uint32_t n = cur ? cur->n : 0;
        next = chain_new(n + 1);
        if (!next) st = chook__fail(CHOOK_ENOMEM, "out of memory for a listener set");
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
        listener_free(l);
        return st;
    }
    int dummy;
    reclaim(__atomic_load_n(&epoch, __ATOMIC_SEQ_CST), &dummy);
    chook__mutex_unlock(&reg_lock);
    *listener = l;
    return CHOOK_OK;
}

int chook_attach(void *target, chook_enter_fn on_enter, chook_leave_fn on_leave, void *data,
                 chook_listener **listener)
{
    return chook_attach_ex(target, on_enter, on_leave, data, NULL, listener);
}

int chook_detach(chook_listener *l)
{
    if (!l) return chook__fail(CHOOK_EINVAL, "listener is NULL");
    chook__mutex_lock(&reg_lock);
    if (l->magic != CHOOK__LISTENER_MAGIC || l->detached) {
        chook__mutex_unlock(&reg_lock);
        return chook__fail(CHOOK_ENOTHOOKED, "listener %p is not attached", (void *)l);
    }
    struct chook__ictx *ctx = l->ctx;
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
    chain_publish(ctx, next);
    int st = CHOOK_OK;
    if (!next && ctx->hook) {
        /* The last listener: take the thunk out of the core's chain. Calls already
         * in it find no set and go straight to the original. */
        st = chook_remove(ctx->hook);
        if (st == CHOOK_OK) ctx->hook = NULL;
    }
    chook__mutex_unlock(&reg_lock);

    grace();
    chook__mutex_lock(&reg_lock);
    int dummy;
    reclaim(__atomic_load_n(&epoch, __ATOMIC_SEQ_CST), &dummy);
    chook__mutex_unlock(&reg_lock);
    return st;
}

int chook_detach_wait(unsigned timeout_ms)
{
    uint64_t upto = __atomic_load_n(&epoch, __ATOMIC_SEQ_CST);
    uint64_t deadline = chook__now_ns() + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        int self_blocked;
        chook__mutex_lock(&reg_lock);
        int tid = reclaim(upto, &self_blocked);
        chook__mutex_unlock(&reg_lock);
        if (self_blocked)
            return chook__fail(CHOOK_EBUSY, "called from inside a callback of a call that "
                                            "uses a detached listener: it cannot finish first");
        if (!tid) {
            chook__mutex_lock(&reg_lock);
            while (reapable) {
                chook_listener *l = reapable;
                reapable = l->reap_next;
                listener_free(l);
            }
            chook__mutex_unlock(&reg_lock);
            return CHOOK_OK;
        }
        if (chook__now_ns() >= deadline)
            return chook__fail(CHOOK_EBUSY, "thread %d still runs or owes a callback of a "
                                            "detached listener after %u ms", tid, timeout_ms);
        chook__sys_nanosleep_ns(RETIRED_SCAN_SLEEP_NS);
    }
}
