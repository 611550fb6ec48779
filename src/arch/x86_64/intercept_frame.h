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
#define IF_KEEP 192        /* regs.keep[0]: r10 */
#define IF_KEEP_FP 208     /* regs.keep_fp[8][2]: xmm8-15 */
#define IF_CALL 336        /* call: the chook_call callbacks receive */
#define IF_CALL_NGP 360    /* call.n_gp, n_fp, fp_stride, flags: 16 bytes */
#define IF_CALL_FLAGS 372  /* call.flags */
#define IF_RET 376         /* call.ret[2]: rax rdx after the call */
#define IF_FRET 400        /* call.fret[4]: xmm0 xmm1 after the call */
#define IF_CALL_DATA 432   /* call.data */
#define IF_CALL_SIG 440    /* call.sig */
#define IF_CALL_TARGET 448 /* call.target */
#define IF_SLOT_BYTES 480  /* bytes of per-listener slots below the frame */
#define IF_CHAIN 488       /* chain */
#define IF_DEPTH 496       /* depth (32 bits) */
#define IF_N 500           /* n (32 bits) */
#define IF_THREAD 504      /* thread */
#define IF_TLS 512         /* tls: the thread's chook__tls block, from the thread pointer */
#define IF_ENTRY 520       /* entry: the caller's rsp - 8; the frame's last 8 bytes */
#define IF_SIZE 528        /* sizeof(struct chook__iframe), multiple of 16 */

/* Next to the return address, below the caller's stack pointer (red zone: a
 * signal frame never goes there, and the dispatcher's frame lies below them):
 *   R - 8   rbp, pushed by the dispatcher
 *   R - 16  the caller's r11, stored by the thunk (CHOOK_ARCH_ICPT_R11_SAVE)
 *   R - 24  where a jump to the original goes (the dispatcher stores it)
 * R is the stack pointer at the target's entry (the return address at (R)). */
#define ICPT_R11_SAVE (-16)
#define ICPT_JUMP_SLOT (-24)

/* struct chook__ichain.stack_bytes: copy the caller's whole frame, as much as
 * the unwind information says it has (CHOOK__ICPT_STACK_CALLER). */
#define STACK_CALLER 0xffffffff
/* The per-call-site cache of those sizes (chook__icpt_windows): entries of
 * (return address << 16) | bytes / 16, indexed by (ra ^ ra >> 12) & mask. */
#define WINDOWS_MASK 1023

#define KEEP_RET 0         /* struct chook__keep: ret_keep (32 bits) */
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
#define TLS_ITHREAD 144    /* struct chook__tls_block: ithread */
#define CALL_FRAME 2       /* CHOOK__CALL_FRAME */
#define CALL_SKIPPED 1     /* CHOOK__CALL_SKIPPED */
#define SKIP 1             /* CHOOK_SKIP */

#endif /* CHOOK_X86_INTERCEPT_FRAME_H */
