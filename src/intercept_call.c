/*
 * The public accessors of a call context (chook_call, call.h). They only read the
 * context's fields, so they serve intercepted functions and compiled-in hook
 * points alike. All are async-signal-safe and tolerate a NULL call (NULL/0).
 */
#include "call.h"
#include "internal.h"

static void *fp_slot(chook_call *call, unsigned i)
{
    return call->fp + (size_t)i * call->fp_stride;
}

/* Storage of positional argument `a` of a signature. */
static void *placed(chook_call *call, unsigned a)
{
    const struct chook__sig *sig = call->sig;
    switch (sig->arg[a].loc) {
    case CHOOK__LOC_GP:
        return sig->arg[a].index < call->n_gp ? &call->gp[sig->arg[a].index] : NULL;
    case CHOOK__LOC_FP:
        return sig->arg[a].index < call->n_fp ? fp_slot(call, sig->arg[a].index) : NULL;
    case CHOOK__LOC_STACK:
        return call->stack ? (uint8_t *)call->stack + sig->arg[a].index : NULL;
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
    unsigned regs = fp ? call->n_fp : call->n_gp;
    unsigned fixed = fp ? sig->n_flt : sig->n_int;
    if (n < regs) return fp ? fp_slot(call, n) : (void *)&call->gp[n];
    if (!call->stack) return NULL;
    unsigned first = fixed > regs ? fixed : regs; /* first variadic one on the stack */
    return (uint8_t *)call->stack + sig->stack_used + (size_t)(n - first) * 8;
}

uintptr_t *chook_arg(chook_call *call, unsigned n)
{
    if (!call) return NULL;
    if (call->sig) return by_sig(call, n, 0);
    if (n < call->n_gp) return &call->gp[n];
    return call->stack ? &call->stack[n - call->n_gp] : NULL;
}

double *chook_arg_fp(chook_call *call, unsigned n)
{
    if (!call) return NULL;
    if (call->sig) return by_sig(call, n, 1);
    if (n < call->n_fp) return fp_slot(call, n);
    if (!call->stack) return NULL;
    return (double *)(void *)((uint8_t *)call->stack + (size_t)(n - call->n_fp) * 8);
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
    if (call) {
        call->ret[0] = retval;
        call->ret[1] = 0;
        call->fret[0] = call->fret[1] = call->fret[2] = call->fret[3] = 0;
        call->flags |= CHOOK__CALL_SKIPPED;
    }
    return CHOOK_SKIP;
}

int chook_call_skipped(const chook_call *call)
{
    return call && (call->flags & CHOOK__CALL_SKIPPED) != 0;
}

void *chook_call_target(const chook_call *call) { return call ? call->target : NULL; }

void *chook_call_return_address(const chook_call *call)
{
    if (!call) return NULL;
    if (call->return_address || !call->stack) return call->return_address;
    /* An intercepted call: the return address sits just below its stack arguments. */
    return (void *)call->stack[-1];
}
