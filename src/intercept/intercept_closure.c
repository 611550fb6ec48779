/*
 * Closure replacements and typed listeners.
 *
 * chook_replace() installs, as the core hook's replacement, a small thunk of its
 * own that pushes its closure on a per-thread ring and jumps to the user's
 * replacement; chook_current() pops it. The push is one interrupt-atomic xadd and
 * the pop reads before it decrements, so any signal handler that runs closures
 * in between leaves the ring as it found it: each replacement pops exactly what
 * its own thunk pushed (last in, first out). A replacement pops once, first
 * thing, so the ring only ever holds closures entered but not yet asked for:
 * its depth is the nesting of signal handlers, far below its size.
 *
 * Typed listeners (CHOOK_TYPED in chook.h) are closure replacements generated
 * for one signature; a chook_typed starts with its closure, so the generated
 * replacement reaches its prolog and epilog from chook_current()'s result.
 */
#include "intercept.h"
#include "stop.h"

_Static_assert(CHOOK__CLOSURE_RING == CHOOK_ARCH_CLOSURE_RING, "one ring size");

__thread struct chook__tls_block chook__tls_all;

struct closure {
    chook_closure pub;  /* first: chook_current() returns its address */
    uintptr_t thunk;
};

/* A typed listener's record: its closure is the chook_typed itself, so the
 * generated replacement reaches prolog and epilog without another load. */
struct typed {
    chook_typed pub;
    uintptr_t thunk;
    struct typed *next;  /* every typed listener made (they are never freed) */
};

/* chook_typed is a public structure, so its handle is a pointer; it is checked
 * against this list before it is dereferenced. */
static chook__mutex typed_lock;
static struct typed *typed_all;

chook__thread_state *chook_typed_thread(void)
{
    return &chook__tls;
}

const chook_closure *chook_current(void)
{
    return chook__tls.ring_pos ? chook__closure_pop(&chook__tls) : NULL;
}

/* ---- register-keeping replacements (CHOOK_KEEP_REGS) --------------------------- */

/* Writes the thunk that passes a new keep record for dest to the keep
 * dispatcher (*thunk, 0 on failure). */
static int keep_thunk(void *target, uintptr_t dest, unsigned flags, uintptr_t *thunk)
{
    *thunk = 0;
    struct chook__keep *k = chook__alloc(sizeof *k);
    if (!k) return chook__fail(CHOOK_ENOMEM, "out of memory for a register-keeping thunk");
    k->dest = dest;
    k->entry = (uintptr_t)chook_arch_keep_dispatch;
    /* The registers the target does not return in: rax 1, rdx 2, xmm0 4, xmm1 8. */
    if (flags & CHOOK_KEEP_RET_VOID) k->ret_keep = 1 | 2 | 4 | 8;
    else if (flags & CHOOK_KEEP_RET_INT) k->ret_keep = 2 | 4 | 8;
    else if (flags & CHOOK_KEEP_RET_FP) k->ret_keep = 1 | 2 | 8;
    uintptr_t t = chook__code_alloc((uintptr_t)target, CHOOK_ARCH_ICPT_THUNK_MAX);
    if (!t) t = chook__code_alloc(0, CHOOK_ARCH_ICPT_THUNK_MAX);
    uint8_t code[CHOOK_ARCH_ICPT_THUNK_MAX];
    size_t len = t ? chook_arch_write_icpt_thunk(code, (uintptr_t)k)
                   : 0;
    int st = len ? chook__code_write(t, code, len)
                 : chook__fail(CHOOK_ENOMEM, "no code memory for the register-keeping thunk "
                                             "of %p", target);
    if (st != CHOOK_OK) {
        if (t) chook__code_free(t, CHOOK_ARCH_ICPT_THUNK_MAX);
        chook__free(k, sizeof *k);
        return st;
    }
    /* The record stays with the thunk for the life of the process. */
    *thunk = t;
    return CHOOK_OK;
}

static int check_flags(void *target, unsigned flags)
{
    const unsigned ret = CHOOK_KEEP_RET_INT | CHOOK_KEEP_RET_FP | CHOOK_KEEP_RET_VOID;
    if (flags & ~(CHOOK_KEEP_REGS | ret))
        return chook__fail(CHOOK_EINVAL, "unknown flags 0x%x", flags & ~(CHOOK_KEEP_REGS | ret));
    if ((flags & ret) && (!(flags & CHOOK_KEEP_REGS) || __builtin_popcount(flags & ret) > 1))
        return chook__fail(CHOOK_EINVAL, "flags 0x%x: CHOOK_KEEP_RET_INT, _FP or _VOID go with "
                                         "CHOOK_KEEP_REGS, one at most", flags);
    if (flags & CHOOK_KEEP_REGS)
        return chook__icpt_check_leave(target, "CHOOK_KEEP_REGS (install without it)");
    return CHOOK_OK;
}

int chook_install_flags(void *target, void *replacement, void **original, chook_hook **hook,
                        unsigned flags)
{
    if (!target) return chook__fail(CHOOK_EINVAL, "target is NULL");
    if (!replacement) return chook__fail(CHOOK_EINVAL, "replacement is NULL");
    if (replacement == target)
        return chook__fail(CHOOK_ESELF, "replacement %p is the target itself", target);
    CHOOK_CHECK(check_flags(target, flags));
    if (!(flags & CHOOK_KEEP_REGS)) return chook_install_ex(target, replacement, original, hook);
    uintptr_t thunk;
    CHOOK_CHECK(keep_thunk(target, (uintptr_t)replacement, flags, &thunk));
    int st = chook_install_ex(target, (void *)thunk, original, hook);
    /* Nothing ever jumped to a thunk that was not installed: it can be reused
     * (its record is a few bytes, kept). */
    if (st != CHOOK_OK) chook__code_free(thunk, CHOOK_ARCH_ICPT_THUNK_MAX);
    return st;
}

/* ---- closures ------------------------------------------------------------------- */

/* Writes a closure thunk for `pub` and installs it on pub->target (behind a
 * register-keeping thunk with CHOOK_KEEP_REGS, which calls the closure thunk:
 * the closure is pushed inside the kept frame). On failure nothing is left
 * installed and the thunk memory is given back. */
static int closure_install(chook_closure *pub, void *replacement, uintptr_t *thunk,
                           unsigned flags)
{
    uintptr_t target = (uintptr_t)pub->target;
    *thunk = chook__code_alloc(target, CHOOK_ARCH_ICPT_THUNK_MAX);
    if (!*thunk) *thunk = chook__code_alloc(0, CHOOK_ARCH_ICPT_THUNK_MAX);
    uint8_t code[CHOOK_ARCH_ICPT_THUNK_MAX];
    size_t len = 0;
    if (*thunk)
        len = chook_arch_write_closure_thunk(code, *thunk, (uintptr_t)pub,
                                             chook_arch_tls_offset(&chook__tls.ring_pos),
                                             chook_arch_tls_offset(&chook__tls.ring[0]),
                                             (uintptr_t)replacement);
    int st = len ? chook__code_write(*thunk, code, len)
                 : chook__fail(CHOOK_ENOMEM, "no code memory for the closure thunk of 0x%lx",
                               (unsigned long)target);
    uintptr_t keep = 0;
    if (st == CHOOK_OK && (flags & CHOOK_KEEP_REGS)) st = keep_thunk(pub->target, *thunk, flags, &keep);
    if (st == CHOOK_OK)
        st = chook_install_ex(pub->target, (void *)(keep ? keep : *thunk), &pub->original,
                              &pub->hook);
    if (st != CHOOK_OK && keep) chook__code_free(keep, CHOOK_ARCH_ICPT_THUNK_MAX);
    if (st != CHOOK_OK && *thunk) {
        /* Nothing ever jumped to the thunk: it can be reused. */
        chook__code_free(*thunk, CHOOK_ARCH_ICPT_THUNK_MAX);
        *thunk = 0;
    }
    /* Otherwise the closure and its thunk stay for the life of the process: a
     * thread may still be between the thunk and chook_current() after the hook
     * is removed. */
    return st;
}

static int check_replace_args(void *target, void *replacement, const void *out)
{
    if (!out) return chook__fail(CHOOK_EINVAL, "the handle's address is NULL");
    if (!target) return chook__fail(CHOOK_EINVAL, "target is NULL");
    if (!replacement) return chook__fail(CHOOK_EINVAL, "replacement is NULL");
    if (replacement == target)
        return chook__fail(CHOOK_ESELF, "replacement 0x%lx is the target itself",
                           (unsigned long)(uintptr_t)target);
    return CHOOK_OK;
}

/* chook_replace() and chook_typed_attach() are part of an open transaction: each
 * failure fails its commit (chook__txn_fail; chook_install_ex() records its own). */
int chook_replace(void *target, void *replacement, void *data, const chook_closure **out)
{
    return chook_replace_flags(target, replacement, data, out, 0);
}

int chook_replace_flags(void *target, void *replacement, void *data, const chook_closure **out,
                        unsigned flags)
{
    chook__clear_error();
    CHOOK_CHECK(chook__txn_fail(check_replace_args(target, replacement, out)));
    CHOOK_CHECK(chook__txn_fail(check_flags(target, flags)));
    struct closure *c = chook__alloc(sizeof *c);
    if (!c) return chook__txn_fail(chook__fail(CHOOK_ENOMEM, "out of memory for a closure"));
    c->pub.target = target;
    c->pub.data = data;
    int st = closure_install(&c->pub, replacement, &c->thunk, flags);
    if (st != CHOOK_OK) {
        chook__free(c, sizeof *c);
        return chook__txn_fail(st);
    }
    *out = &c->pub;
    return CHOOK_OK;
}

int chook_typed_attach(void *target, void *replacement, chook_fn prolog, chook_fn epilog,
                       void *data, chook_typed **out)
{
    chook__clear_error();
    CHOOK_CHECK(chook__txn_fail(check_replace_args(target, replacement, out)));
    if (!prolog && !epilog)
        return chook__txn_fail(chook__fail(CHOOK_EINVAL, "a typed listener needs a prolog or "
                                           "an epilog"));
    struct typed *t = chook__alloc(sizeof *t);
    if (!t)
        return chook__txn_fail(chook__fail(CHOOK_ENOMEM, "out of memory for a typed listener"));
    t->pub.closure.target = target;
    t->pub.closure.data = data;
    t->pub.prolog = prolog;
    t->pub.epilog = epilog;
    int st = closure_install(&t->pub.closure, replacement, &t->thunk, 0);
    if (st != CHOOK_OK) {
        chook__free(t, sizeof *t);
        return chook__txn_fail(st);
    }
    chook__mutex_lock(&typed_lock);
    t->next = typed_all;
    typed_all = t;
    chook__mutex_unlock(&typed_lock);
    *out = &t->pub;
    return CHOOK_OK;
}

int chook_typed_detach(chook_typed *typed)
{
    chook__clear_error();
    if (!typed) return chook__txn_fail(chook__fail(CHOOK_EINVAL, "typed listener is NULL"));
    int known = 0;
    chook__mutex_lock(&typed_lock);
    for (const struct typed *t = typed_all; t && !known; t = t->next) known = &t->pub == typed;
    chook__mutex_unlock(&typed_lock);
    if (!known)
        return chook__txn_fail(chook__fail(CHOOK_EINVAL, "%p is not a typed listener made by "
                                           "chook_typed_attach()", (void *)typed));
    return chook_remove(typed->closure.hook);
}

/* fork() must not split this lock (see chook__fork_guard). */
__attribute__((constructor)) static void typed_fork_guard(void)
{
    chook__fork_guard(&typed_lock, 95);
}
