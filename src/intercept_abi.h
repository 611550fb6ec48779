/*
 * The contract between the interception core and an architecture's dispatcher
 * (src/arch/<arch>/intercept.S): the only core header the arch side includes.
 * Plain numbers and names, usable from C and from assembly; the core checks
 * every offset against its structures (intercept_abi.c), the arch checks its
 * own register block (chook_arch_iregs) against its offsets.
 *
 * The frame. The dispatcher builds struct chook__iframe (intercept.h) at the
 * bottom of a frame of its own, 16-byte aligned: the core's fields first (the
 * offsets below, the same on every 64-bit arch), then the arch's saved
 * registers (chook_arch_iregs, at ICPT_F_REGS), then 8 bytes of padding and
 * the entry word, the frame's last 8 bytes (ICPT_FRAME_SIZE(iregs bytes)):
 * where the caller's stack pointer was at the call, minus 8; the caller's stack
 * arguments start 16 bytes above it. Per-listener slots (16 bytes each:
 * data, entered) lie right below the frame, slot 0 nearest to it.
 *
 * The fast path. A dispatcher may run a set of exactly one listener itself
 * (no C in between); it then does what chook__icpt_enter and chook__icpt_leave
 * (intercept.c) do for such a set, in this order, and hands anything else to
 * them:
 *   1. Save every register the original may need or the caller may expect
 *      back (the argument registers into chook_arch_iregs, the rest too).
 *   2. tls = chook__tls's address (TLS descriptor: the library may live in
 *      dynamic TLS). busy or ignore set (the 8 bytes at ICPT_TLS_BUSY) -> jump to
 *      the original. The record (ICPT_TLS_ITHREAD) NULL, or
 *      chook__icpt_reader_fence set -> the C path.
 *   3. Open the window: record->win += 1 (plain store).
 *   4. set = ctx->chain: NULL -> close, jump to the original; set->n != 1 ->
 *      close, the C path; its listener detached -> close, jump.
 *   5. slot 0's data = 0 (its entered word is read by the C path only);
 *      call.flags = ICPT_CALL_FRAME; call.data = &slot 0; call.sig =
 *      listener->sig; frame thread, and chain when an on_leave is owed
 *      (nothing else of chook_call: the
 *      accessors read what is constant per target through the frame). With an
 *      on_enter: busy = 1, on_enter(&call, listener->data), busy = 0;
 *      CHOOK_SKIP -> flags |= ICPT_CALL_SKIPPED, else flags = ICPT_CALL_FRAME.
 *   6. No on_leave: close the window; then not skipped: restore, jump to the
 *      original (the caller's stack untouched); skipped: return call.ret and
 *      call.fret to the caller.
 *   7. Record the call in flight before the window closes: with depth d =
 *      record->depth, when d == 0 or (d < ICPT_INFLIGHT and the record below
 *      names a frame above ours): store depth d + 1, inflight[d] = { set,
 *      frame }, depth d + 1 again, frame depth = d. Otherwise (records full, or
 *      one that may have been abandoned by longjmp) call chook__icpt_record.
 *   8. Close the window: win -= 1; when it reaches 0, wgen += 1.
 *   9. Skipped -> step 11. Else copy the stack arguments (set->stack_bytes, or
 *      for ICPT_STACK_CALLER the caller's frame: the per-call-site cache, or
 *      chook__icpt_window on a miss) and call the original from the frame;
 *      save its return registers in call.ret / call.fret.
 *  10. busy = 1, on_leave(&call, listener->data), busy = 0.
 *  11. record->depth = frame depth; restore and return to the caller.
 * The C path: chook__icpt_enter(frame) returns an action (ICPT_ACTION_MASK)
 * and, for ICPT_CALL, the bytes of stack arguments to copy; after the call (or
 * ICPT_SKIP), chook__icpt_leave(frame).
 */
#ifndef CHOOK_INTERCEPT_ABI_H
#define CHOOK_INTERCEPT_ABI_H

/* The frame: the core's fields (struct chook__iframe). */
#define ICPT_F_CALL 0            /* chook_call, what the callbacks receive */
#define ICPT_F_CALL_FLAGS 36     /* call.flags (32 bits) */
#define ICPT_F_RET 40            /* call.ret[2]: the integer return registers */
#define ICPT_F_FRET 64           /* call.fret[4]: the first two vector return registers */
#define ICPT_F_CALL_DATA 96      /* call.data */
#define ICPT_F_CALL_SIG 104      /* call.sig */
#define ICPT_F_SLOT_BYTES 144    /* bytes of per-listener slots below the frame */
#define ICPT_F_CHAIN 152         /* the set this call uses */
#define ICPT_F_DEPTH 160         /* its index in the thread's in-flight records (32 bits) */
#define ICPT_F_N 164             /* listeners of the set this call considers (32 bits) */
#define ICPT_F_THREAD 168        /* the thread's record */
#define ICPT_F_TLS 176           /* dispatcher's own: chook__tls, however it finds it */
#define ICPT_F_REGS 192          /* chook_arch_iregs (16-aligned) */
/* The frame's size for an arch whose chook_arch_iregs takes `iregs` bytes (a
 * multiple of 16): the entry word is its last 8 bytes. */
#define ICPT_FRAME_SIZE(iregs) (ICPT_F_REGS + (iregs) + 16)

/* chook_call.flags */
#define ICPT_CALL_SKIPPED 1      /* CHOOK__CALL_SKIPPED */
#define ICPT_CALL_FRAME 2        /* CHOOK__CALL_FRAME */
#define ICPT_SKIP 1              /* CHOOK_SKIP, an on_enter's result */

/* struct chook__ictx, a target's context (the thunk passes it). A register-
 * keeping replacement's record (struct chook__keep) has its dest where a
 * context has its original, and its ret_keep flags at 0. */
#define ICPT_CTX_SLOT_BYTES 0    /* bytes of slots a call reserves */
#define ICPT_CTX_CHAIN 8         /* the current set, NULL when none */
#define ICPT_CTX_ORIGINAL 16     /* where the original is called or jumped to */
#define ICPT_CTX_TARGET 24       /* the intercepted function */
#define ICPT_CTX_ENTRY 32        /* where the thunk jumps: a dispatcher entry the
                                    core chose when the set last changed */
#define ICPT_KEEP_RET 0          /* struct chook__keep: 1 rax/x0, 2 rdx/x1, 4, 8 the
                                    vector return registers, kept as the caller left them;
                                    its dest at ICPT_CTX_ORIGINAL, entry at ICPT_CTX_ENTRY */

/* struct chook__ichain, a set of listeners (immutable once published). */
#define ICPT_CH_N 0              /* listeners (32 bits) */
#define ICPT_CH_STACK_BYTES 4    /* bytes of stack arguments to copy (32 bits) */
#define ICPT_CH_L 32             /* the listeners, pointers */
#define ICPT_STACK_CALLER 0xffffffff /* copy the caller's frame */

/* chook_listener */
#define ICPT_L_ON_ENTER 0
#define ICPT_L_ON_LEAVE 8
#define ICPT_L_DATA 16
#define ICPT_L_SIG 32
#define ICPT_L_DETACHED 44       /* 32 bits, nonzero once detached */

/* struct chook__ithread, the thread's record */
#define ICPT_IT_WIN 0            /* window depth (32 bits) */
#define ICPT_IT_WGEN 4           /* window generation (32 bits) */
#define ICPT_IT_DEPTH 8          /* in-flight records (32 bits) */
#define ICPT_IT_INFLIGHT 32      /* the records, 16 bytes each: set, frame */
#define ICPT_INFLIGHT 64         /* records per thread */

/* chook__tls (struct chook__tls_block) */
#define ICPT_TLS_BUSY 8          /* busy (32 bits), then ignore (32 bits): one 8-byte word */
#define ICPT_TLS_ITHREAD 144     /* the thread's record, NULL before its first call */

/* What chook__icpt_enter returns: an action in the low bits, the bytes to copy
 * (a multiple of 16) in the others. */
#define ICPT_JUMP 0
#define ICPT_CALL 1
#define ICPT_SKIP_CALL 2
#define ICPT_ACTION_MASK 15

/* The per-call-site cache of caller frame sizes (chook__icpt_windows): 64-bit
 * entries (return address << 16) | bytes / 16, at index
 * (ra ^ (ra >> ICPT_WINDOWS_SHIFT)) & (ICPT_WINDOWS - 1). */
#define ICPT_WINDOWS 1024
#define ICPT_WINDOWS_SHIFT 12

#ifndef __ASSEMBLER__
#include <stdint.h>

/* The cache index of return address ra (the definition the dispatchers follow). */
static inline uint32_t chook__icpt_window_slot(uintptr_t ra)
{
    return (uint32_t)((ra ^ (ra >> ICPT_WINDOWS_SHIFT)) & (ICPT_WINDOWS - 1));
}
#endif

#endif /* CHOOK_INTERCEPT_ABI_H */
