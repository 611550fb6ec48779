/*
 * The public accessors of a call context (chook_call, call.h). They only read the
 * context's fields, so they serve intercepted functions and compiled-in hook
 * points alike. All are async-signal-safe and tolerate a NULL call (NULL/0).
 */
#include "intercept.h"

/* Where the arguments are: in the context, or (CHOOK__CALL_FRAME) in the
 * interception dispatcher's frame around it. */
static uint64_t *gp_of(chook_call *call)
{
    return (call->flags & CHOOK__CALL_FRAME) ? chook__iframe_of(call)->regs.gp : call->gp;
}

static uint8_t *fp_of(chook_call *call)
{
    return (call->flags & CHOOK__CALL_FRAME) ? (uint8_t *)chook__iframe_of(call)->regs.fp
                                             : call->fp;
}

static uint64_t *stack_of(chook_call *call)
{
    return (call->flags & CHOOK__CALL_FRAME) ? chook__iframe_stack(chook__iframe_of(call))
                                             : call->stack;
}

/* An intercepted call's context holds no argument counts or target: they are
 * the same for every call (the arch's argument registers, the context's target),
 * so the dispatcher does not store them. */
static unsigned n_gp_of(const chook_call *call)
{
    return (call->flags & CHOOK__CALL_FRAME) ? CHOOK_ARCH_ICPT_GP : call->n_gp;
}

static unsigned n_fp_of(const chook_call *call)
{
    return (call->flags & CHOOK__CALL_FRAME) ? CHOOK_ARCH_ICPT_FP : call->n_fp;
}

static void *fp_slot(chook_call *call, unsigned i)
{
    size_t stride = (call->flags & CHOOK__CALL_FRAME) ? sizeof(((chook_arch_iregs *)0)->fp[0])
                                                      : call->fp_stride;
    return fp_of(call) + (size_t)i * stride;
}

/* Storage of positional argument `a` of a signature. */
static void *placed(chook_call *call, unsigned a)
{
    const struct chook__sig *sig = call->sig;
    switch (sig->arg[a].loc) {
    case CHOOK__LOC_GP:
        return sig->arg[a].index < n_gp_of(call) ? &gp_of(call)[sig->arg[a].index] : NULL;
    case CHOOK__LOC_FP:
        return sig->arg[a].index < n_fp_of(call) ? fp_slot(call, sig->arg[a].index) : NULL;
    case CHOOK__LOC_STACK: {
        uint64_t *stack = stack_of(call);
        return stack ? (uint8_t *)stack + sig->arg[a].index : NULL;
    }
    }
    return NULL;
}

/* The n-th argument of one class (integer when fp == 0) by the signature: a fixed
 * one, or past the fixed ones of a variadic function (in registers while they
 * last, then on the stack after the fixed stack arguments). */
static void *by_sig(chook_call *call, unsigned n, int fp)
{
    const struct chook__sig *sig = call->sig;
    unsigned seen = 0;
    for (unsigned a = 0; a < sig->n_args; a++) {
        uint8_t c = sig->arg[a].cls;
        int is_fp = c == CHOOK__SIG_DOUBLE || c == CHOOK__SIG_FLOAT;
        int is_int = c == CHOOK__SIG_INT || c == CHOOK__SIG_PTR;
        if ((fp ? is_fp : is_int) && seen++ == n) return placed(call, a);
    }
    if (!sig->variadic) return NULL;
    unsigned regs = fp ? n_fp_of(call) : n_gp_of(call);
    unsigned fixed = fp ? sig->n_flt : sig->n_int;
    if (n < regs) return fp ? fp_slot(call, n) : (void *)&gp_of(call)[n];
    uint64_t *stack = stack_of(call);
    if (!stack) return NULL;
    unsigned first = fixed > regs ? fixed : regs; /* first variadic one on the stack */
    return (uint8_t *)stack + sig->stack_used + (size_t)(n - first) * 8;
}

uintptr_t *chook_arg(chook_call *call, unsigned n)
{
    if (!call) return NULL;
    if (call->sig) return by_sig(call, n, 0);
    unsigned n_gp = n_gp_of(call);
    if (n < n_gp) return &gp_of(call)[n];
    uint64_t *stack = stack_of(call);
    return stack ? &stack[n - n_gp] : NULL;
}

double *chook_arg_fp(chook_call *call, unsigned n)
{
    if (!call) return NULL;
    if (call->sig) return by_sig(call, n, 1);
    unsigned n_fp = n_fp_of(call);
    if (n < n_fp) return fp_slot(call, n);
    uint64_t *stack = stack_of(call);
    if (!stack) return NULL;
    return (double *)(void *)((uint8_t *)stack + (size_t)(n - n_fp) * 8);
}

void *chook_arg_at(chook_call *call, unsigned pos)
{
    if (!call || !call->sig || pos >= call->sig->n_args) return NULL;
    return placed(call, pos);
}

uintptr_t *chook_retval(chook_call *call) { return call ? &call->ret[0] : NULL; }
uintptr_t *chook_retval2(chook_call *call) { return call ? &call->ret[1] : NULL; }
double *chook_retval_fp(chook_call *call) { return call ? (double *)&call->fret[0] : NULL; }
double *chook_retval_fp2(chook_call *call) { return call ? (double *)&call->fret[2] : NULL; }

uint64_t *chook_call_data(chook_call *call) { return call ? call->data : NULL; }

int chook_skip(chook_call *call, uintptr_t retval)
{
    /* CHOOK_EINVAL is not CHOOK_SKIP: an on_enter that returns it lets the call
     * run, as there is no call to skip. */
    if (!call) return chook__fail(CHOOK_EINVAL, "chook_skip: call is NULL");
    call->ret[0] = retval;
    call->ret[1] = 0;
    call->fret[0] = call->fret[1] = call->fret[2] = call->fret[3] = 0;
    call->flags |= CHOOK__CALL_SKIPPED;
    return CHOOK_SKIP;
}

int chook_call_skipped(const chook_call *call)
{
    return call && (call->flags & CHOOK__CALL_SKIPPED) != 0;
}

void *chook_call_target(const chook_call *call)
{
    if (!call) return NULL;
    if (call->flags & CHOOK__CALL_FRAME) {
        const struct chook__iframe *f = chook__iframe_of((chook_call *)call);
        return (void *)((const struct chook__ictx *)(uintptr_t)f->regs.ctx)->target;
    }
    return call->target;
}

void *chook_call_return_address(const chook_call *call)
{
    if (!call) return NULL;
    /* An intercepted call: the return address sits just below its stack arguments. */
    if (call->flags & CHOOK__CALL_FRAME) return (void *)stack_of((chook_call *)call)[-1];
    return call->return_address;
}
