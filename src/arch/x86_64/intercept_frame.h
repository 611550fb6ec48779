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
#define IF_CALL 192        /* call: the chook_call callbacks receive */
#define IF_CALL_NGP 216    /* call.n_gp, n_fp, fp_stride, flags: 16 bytes */
#define IF_CALL_FLAGS 228  /* call.flags */
#define IF_RET 232         /* call.ret[2]: rax rdx after the call */
#define IF_FRET 256        /* call.fret[4]: xmm0 xmm1 after the call */
#define IF_CALL_DATA 288   /* call.data */
#define IF_CALL_SIG 296    /* call.sig */
#define IF_CALL_TARGET 304 /* call.target */
#define IF_SLOT_BYTES 336  /* bytes of per-listener slots below the frame */
#define IF_CHAIN 344       /* chain */
#define IF_DEPTH 352       /* depth (32 bits) */
#define IF_N 356           /* n (32 bits) */
#define IF_THREAD 360      /* thread */
#define IF_SIZE 368        /* sizeof(struct chook__iframe), multiple of 16 */

#define CTX_SLOT_BYTES 0   /* offsetof(struct chook__ictx, slot_bytes) */
#define CTX_CHAIN 8        /* offsetof(struct chook__ictx, chain) */
#define CTX_ORIGINAL 16    /* offsetof(struct chook__ictx, original) */
#define CTX_TARGET 24      /* offsetof(struct chook__ictx, target) */

/* The single-listener fast path of the dispatcher reads these directly. */
#define CH_N 0             /* struct chook__ichain: n (32 bits) */
#define CH_STACK_BYTES 4   /* stack_bytes (32 bits) */
#define CH_L 32            /* l[] */
#define L_ON_ENTER 0       /* chook_listener: on_enter */
#define L_ON_LEAVE 8       /* on_leave */
#define L_DATA 16          /* data */
#define L_SIG 32           /* sig */
#define L_DETACHED 44      /* detached (32 bits) */
#define IT_WIN 0           /* struct chook__ithread: win (32 bits) */
#define IT_WGEN 4          /* wgen (32 bits) */
#define IT_DEPTH 8         /* depth (32 bits) */
#define IT_INFLIGHT 32     /* inflight[]: 16 bytes each, chain then frame */
#define IT_INFLIGHT_MAX 64 /* CHOOK__ICPT_INFLIGHT */
#define TLS_BUSY 8         /* chook__thread_state: busy (32 bits) */
#define TLS_IGNORE 12      /* ignore (32 bits) */
#define CALL_FRAME 2       /* CHOOK__CALL_FRAME */
#define CALL_SKIPPED 1     /* CHOOK__CALL_SKIPPED */
#define SKIP 1             /* CHOOK_SKIP */

#endif /* CHOOK_X86_INTERCEPT_FRAME_H */
