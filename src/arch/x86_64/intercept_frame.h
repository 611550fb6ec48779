/*
 * The x86-64 dispatcher's own offsets (intercept.S): where chook_arch_iregs
 * keeps each register in the frame, and the words it keeps next to the return
 * address. Everything the core owns (its frame fields, contexts, listener sets,
 * thread records, TLS) comes from the core's intercept_abi.h, the only core
 * header the dispatcher reads. intercept_frame.c checks these against
 * chook_arch_iregs (src/arch.h).
 */
#ifndef CHOOK_X86_INTERCEPT_FRAME_H
#define CHOOK_X86_INTERCEPT_FRAME_H

#include "intercept_abi.h"

#define IREGS_GP 0         /* gp[6]: rdi rsi rdx rcx r8 r9 */
#define IREGS_EXTRA 48     /* extra: rax */
#define IREGS_CTX 56       /* ctx: r11 from the thunk */
#define IREGS_FP 64        /* fp[8][2]: xmm0-7 */
#define IREGS_KEEP 192     /* keep[0]: r10 */
#define IREGS_KEEP_FP 208  /* keep_fp[8][2]: xmm8-15 */
#define IREGS_SIZE 336     /* sizeof(chook_arch_iregs) */

/* Frame offsets (from the frame's bottom). */
#define IF_GP (ICPT_F_REGS + IREGS_GP)
#define IF_EXTRA (ICPT_F_REGS + IREGS_EXTRA)
#define IF_CTX (ICPT_F_REGS + IREGS_CTX)
#define IF_FP (ICPT_F_REGS + IREGS_FP)
#define IF_KEEP (ICPT_F_REGS + IREGS_KEEP)
#define IF_KEEP_FP (ICPT_F_REGS + IREGS_KEEP_FP)
#define IF_SIZE ICPT_FRAME_SIZE(IREGS_SIZE)
#define IF_ENTRY (IF_SIZE - 8)   /* entry: the caller's rsp - 8 */

/* Next to the return address, below the caller's stack pointer (red zone: a
 * signal frame never goes there, and the dispatcher's frame lies below them):
 *   R - 8   rbp, pushed by the dispatcher
 *   R - 16  the caller's r11, stored by the thunk (CHOOK_ARCH_ICPT_R11_SAVE)
 *   R - 24  where a jump to the original goes (the dispatcher stores it)
 * R is the stack pointer at the target's entry (the return address at (R)). */
#define ICPT_R11_SAVE (-16)
#define ICPT_JUMP_SLOT (-24)

#endif /* CHOOK_X86_INTERCEPT_FRAME_H */
