/*
 * Offsets into the interception dispatcher's frame (struct chook__iframe in
 * src/intercept.h) and the target context, for intercept.S. intercept_frame.c
 * checks every one against the C structures at compile time.
 */
#ifndef CHOOK_X86_INTERCEPT_FRAME_H
#define CHOOK_X86_INTERCEPT_FRAME_H

#define IF_GP 0            /* regs.gp[6]: rdi rsi rdx rcx r8 r9 */
#define IF_EXTRA 48        /* regs.extra: rax */
#define IF_CTX 56          /* regs.ctx: r11 from the thunk */
#define IF_FP 64           /* regs.fp[8][2]: xmm0-7 */
#define IF_RET 232         /* call.ret[2]: rax rdx after the call */
#define IF_FRET 256        /* call.fret[4]: xmm0 xmm1 after the call */
#define IF_SLOT_BYTES 336  /* bytes of per-listener slots below the frame */
#define IF_SIZE 368        /* sizeof(struct chook__iframe), multiple of 16 */

#define CTX_SLOT_BYTES 0   /* offsetof(struct chook__ictx, slot_bytes) */
#define CTX_ORIGINAL 16    /* offsetof(struct chook__ictx, original) */

#endif /* CHOOK_X86_INTERCEPT_FRAME_H */
