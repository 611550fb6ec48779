/*
 * The call context (chook_call): what an untyped callback sees of one call.
 *
 * Two engines build one:
 *   - interception (intercept.c): the dispatcher saves the argument registers of
 *     an intercepted function into its stack frame, and the context sits in that
 *     frame with CHOOK__CALL_FRAME set: the accessors find the registers and the
 *     caller's stack arguments around it (`gp`, `fp`, `stack` are not stored);
 *   - compiled-in hook points (point.c): the point passes its argument values as
 *     arrays; chook__call_init_values() points the context at them, the callbacks
 *     read and write them in place through the public accessors, and the point
 *     reads the results back from the same arrays and from chook__call_ret*().
 *
 * The public accessors (chook_arg(), chook_arg_fp(), chook_retval(), ...,
 * chook_call_data(), chook_skip(); declared in chook.h) only look at the fields
 * below, so a callback works the same on both engines.
 *
 * Argument numbering without a signature: chook_arg(call, n) is the n-th argument
 * of the integer class (integers, pointers), chook_arg_fp(call, n) the n-th of the
 * floating class (float, double). Arguments past the registers live on the stack,
 * in `stack`: integer-class n >= n_gp at stack[n - n_gp] and floating-class
 * n >= n_fp at stack[n - n_fp], which is exact when only one class spills (the
 * common case); a signature (struct chook__sig) gives exact places in every case.
 *
 * Stability: this layout is shared with point.c; fields are only ever appended.
 */
#ifndef CHOOK_CALL_H
#define CHOOK_CALL_H

#include <stddef.h>
#include <stdint.h>

#include "chook.h"

/* chook_call.flags */
#define CHOOK__CALL_SKIPPED 0x1u  /* an enter callback skipped the original */
#define CHOOK__CALL_FRAME 0x2u    /* built by the interception dispatcher: gp, fp,
                                     stack, return_address, n_gp, n_fp, fp_stride
                                     and target are not stored (each store costs
                                     every call); the accessors find them in the
                                     dispatcher's frame and the target's context */

/* The largest number of positional arguments a signature may describe, and the
 * largest aggregate ("mN") it may pass by value. */
#define CHOOK__SIG_MAX_ARGS 32
#define CHOOK__SIG_MAX_MEM 4096u

/* Where one positional argument of a signature lives. */
enum chook__argloc {
    CHOOK__LOC_GP = 1,    /* integer register `index` */
    CHOOK__LOC_FP = 2,    /* floating register `index` */
    CHOOK__LOC_STACK = 3, /* stack, byte offset `index` from the first stack argument */
};

/* The class letters of a signature: "p,i,d->i" (see chook_attach_ex()). */
enum chook__sigclass {
    CHOOK__SIG_INT = 'i',    /* integer class, up to 8 bytes (int, long, size_t, enum) */
    CHOOK__SIG_PTR = 'p',    /* pointer (integer class) */
    CHOOK__SIG_DOUBLE = 'd', /* double (floating class) */
    CHOOK__SIG_FLOAT = 'f',  /* float (floating class) */
    CHOOK__SIG_MEM = 'm',    /* by-value aggregate passed in memory, "m<bytes>" */
    CHOOK__SIG_VOID = 'v',   /* return type only: nothing */
};

/* A parsed signature: where each positional argument lives, and how many bytes
 * of stack arguments the function takes (for the copy the dispatcher makes). */
struct chook__sig {
    uint8_t n_args;
    uint8_t variadic;   /* "..." ended the argument list */
    uint8_t ret;        /* enum chook__sigclass of the return value */
    uint8_t pad;
    uint8_t n_int;        /* fixed arguments of the integer class (i, p) */
    uint8_t n_flt;        /* fixed arguments of the floating class (d, f) */
    uint8_t pad2[2];
    uint32_t stack_used;  /* bytes of stack the fixed arguments take */
    uint32_t stack_bytes; /* the same, rounded up to 16 */
    struct {
        uint8_t cls;      /* enum chook__sigclass */
        uint8_t loc;      /* enum chook__argloc */
        uint16_t pad;
        uint32_t index;   /* register number or stack byte offset */
        uint32_t size;    /* bytes (8 for scalars, N for "mN") */
    } arg[CHOOK__SIG_MAX_ARGS];
};

struct chook_call {
    /* Arguments: integer-class values (8 bytes each, n_gp of them) and floating
     * values (fp_stride bytes each, the value in the low 8 bytes, n_fp of them):
     * a point's argument arrays. Unset with CHOOK__CALL_FRAME (an intercepted
     * function: the argument registers saved in the dispatcher's frame). */
    uint64_t *gp;
    uint8_t *fp;
    /* NULL for a point, whose arguments are all in gp/fp. (An intercepted
     * function's stack arguments are found through its frame.) */
    uint64_t *stack;
    uint32_t n_gp;
    uint32_t n_fp;
    uint32_t fp_stride;  /* 16 (saved vector registers) or 8 (array of double) */
    uint32_t flags;      /* CHOOK__CALL_* */

    /* Return value, both classes: ret[0..1] integer (x86-64: rax, rdx), fret the
     * two floating registers, 16 bytes each (x86-64: xmm0, xmm1; the value in the
     * low bytes). Set by the original's return, or by a skipping callback
     * (chook_skip() sets ret[0] and zeroes the others); unspecified before.
     * chook__call_init_values() zeroes them. */
    uint64_t ret[2];
    _Alignas(16) uint64_t fret[4];

    /* The running callback's view, set by the engine before each callback. */
    uint64_t *data;             /* its per-call slot (chook_call_data()) */
    const struct chook__sig *sig; /* its signature, NULL when it gave none */

    /* What is being called. */
    void *target;          /* intercepted function, or the point's identity */
    void *return_address;  /* where the call returns (NULL for points; unset with
                              CHOOK__CALL_FRAME: read from the stack) */
    void *engine;          /* private to the engine that built this context */
};

/*
 * Builds a context over argument arrays (compiled-in hook points).
 *   ints   n_int integer-class values, read and written in place by callbacks
 *   fps    n_fp floating values (as double), read and written in place
 *   target reported by chook_call_target()
 * The return registers start at zero, no flag is set, data/sig are NULL.
 */
static inline void chook__call_init_values(chook_call *call, uint64_t *ints, unsigned n_int,
                                           double *fps, unsigned n_fp, void *target)
{
    call->gp = ints;
    call->fp = (uint8_t *)fps;
    call->stack = NULL;
    call->n_gp = n_int;
    call->n_fp = n_fp;
    call->fp_stride = sizeof(double);
    call->flags = 0;
    call->ret[0] = call->ret[1] = 0;
    call->fret[0] = call->fret[1] = call->fret[2] = call->fret[3] = 0;
    call->data = NULL;
    call->sig = NULL;
    call->target = target;
    call->return_address = NULL;
    call->engine = NULL;
}

/* Before each callback: its per-call slot and its signature (may be NULL). */
static inline void chook__call_set_listener(chook_call *call, uint64_t *data,
                                            const struct chook__sig *sig)
{
    call->data = data;
    call->sig = sig;
}

/* After the callbacks: did one skip the body, and what return value was set
 * (integer class slot i in 0..1, floating slot i in 0..1 as double). */
static inline int chook__call_skipped(const chook_call *call)
{
    return (call->flags & CHOOK__CALL_SKIPPED) != 0;
}
static inline uint64_t chook__call_ret(const chook_call *call, unsigned i)
{
    return call->ret[i & 1];
}
static inline double chook__call_fret(const chook_call *call, unsigned i)
{
    double d;
    __builtin_memcpy(&d, &call->fret[(i & 1) * 2], sizeof d);
    return d;
}

/* Parses a signature string into *out; CHOOK_OK or CHOOK_EINVAL/CHOOK_ENOTSUP
 * with a message naming the offending character (calls chook__fail). The
 * placement rules are the ABI's (chook_arch_sig_place()). */
int chook__sig_parse(const char *text, struct chook__sig *out);

#endif /* CHOOK_CALL_H */
