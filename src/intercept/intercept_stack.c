/*
 * How many bytes of stack arguments a call copies when nothing says how many
 * the function takes (no signature, no chook_attach_opts.stack_bytes).
 *
 * A function's stack arguments lie at the bottom of its caller's frame, right
 * above the return address: they cannot reach past the caller's own return
 * address. So copying the caller's whole frame passes any number of them. The
 * caller's frame ends where its unwind information (.eh_frame, present in all
 * compiled code) puts its CFA; the unwinder finds it by walking from here
 * through the dispatcher's frame (whose unwind rules are exact) to the caller.
 *
 * That walk costs microseconds, so its result is cached per call site: the
 * frame a call site sees can differ between calls (alloca), but the arguments
 * it passes are the same size every time and always sit at the bottom, so any
 * frame size seen there covers them. The cache is a table of 64-bit words,
 * (return address << 16) | bytes / 16, written and read whole (relaxed atomics):
 * a lost or overwritten entry only costs another walk.
 *
 * A caller without unwind information (generated code) gets the rest of its
 * stack mapping, at most CHOOK__ICPT_MAX_STACK bytes, measured at every call
 * (never cached: it depends on the depth of the call); so do callers whose frame
 * is larger (the arguments are at its bottom, so only more than 4096 bytes of
 * stack arguments would be cut: a signature or stack_bytes is needed there).
 */
#include <unwind.h>

#include "intercept.h"

uint64_t chook__icpt_windows[CHOOK__ICPT_WINDOWS];

static uint64_t n_unwound, n_mapped;

struct find {
    uintptr_t ra;    /* the caller's return address */
    uintptr_t args;  /* its stack pointer at the call: the first stack argument */
    uintptr_t cfa;   /* out: the caller's CFA, 0 when not found */
    int frames;
};

/* In the callback for a frame, _Unwind_GetCFA() gives the stack pointer that
 * frame had at its call (its callee's CFA); the caller's own CFA is therefore
 * what the next frame up reports. */
static _Unwind_Reason_Code find_caller(struct _Unwind_Context *uc, void *arg)
{
    struct find *f = arg;
    if (f->frames < 0) {
        uintptr_t cfa = (uintptr_t)_Unwind_GetCFA(uc);
        if (cfa >= f->args + 8) f->cfa = cfa;
        return _URC_END_OF_STACK;
    }
    if ((uintptr_t)_Unwind_GetIP(uc) == f->ra && (uintptr_t)_Unwind_GetCFA(uc) == f->args) {
        f->frames = -1; /* the caller: its CFA comes with the next frame */
        return _URC_NO_REASON;
    }
    /* This function, the dispatcher, then the caller: never far. */
    return ++f->frames > 8 ? _URC_END_OF_STACK : _URC_NO_REASON;
}

uint32_t chook__icpt_window(uintptr_t entry)
{
    uintptr_t args = entry + 16;
    uintptr_t ra = *(const uintptr_t *)(entry + 8);
    struct find f = { ra, args, 0, 0 };
    /* The unwinder may call intercepted functions (locks, dl_iterate_phdr):
     * they bypass listeners, as from a callback, or their own call sites
     * would come back here without end. */
    chook__tls.busy++;
    __asm__ volatile("" ::: "memory");
    _Unwind_Backtrace(find_caller, &f);
    __asm__ volatile("" ::: "memory");
    chook__tls.busy--;
    uint64_t bytes;
    int cache;
    if (f.cfa) {
        /* The caller's return address is at CFA - 8: its frame is below. */
        bytes = f.cfa - 8 - args;
        cache = 1;
        __atomic_fetch_add(&n_unwound, 1, __ATOMIC_RELAXED);
    } else {
        chook__region r;
        chook__tls.busy++;
        __asm__ volatile("" ::: "memory");
        bytes = chook__maps_find(args, &r) == CHOOK_OK && r.end > args ? r.end - args : 0;
        __asm__ volatile("" ::: "memory");
        chook__tls.busy--;
        /* Not cached: the rest of the mapping depends on how deep this call is,
         * and the same call site may come again nearer the top of a stack. */
        cache = 0;
        __atomic_fetch_add(&n_mapped, 1, __ATOMIC_RELAXED);
    }
    /* A multiple of 16 for the copy: rounded up within the caller's frame (the
     * 8 bytes past it are its return address, mapped; an aligned caller's frame
     * is always an odd number of eightbytes), down within a mapping. */
    if (f.cfa) bytes = CHOOK_ALIGN_UP(bytes, 16);
    if (bytes > CHOOK__ICPT_MAX_STACK) bytes = CHOOK__ICPT_MAX_STACK;
    bytes &= ~(uint64_t)15;
    if (cache && ra < ((uintptr_t)1 << 48))
        __atomic_store_n(&chook__icpt_windows[chook__icpt_window_slot(ra)], ((uint64_t)ra << 16) | (bytes >> 4),
                         __ATOMIC_RELAXED);
    return (uint32_t)bytes;
}

void chook__icpt_window_stats(uint64_t *unwound, uint64_t *mapped)
{
    *unwound = __atomic_load_n(&n_unwound, __ATOMIC_RELAXED);
    *mapped = __atomic_load_n(&n_mapped, __ATOMIC_RELAXED);
}
