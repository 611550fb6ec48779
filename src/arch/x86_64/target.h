/*
 * Constants of the x86-64 back end (the shape of libffi's ffitarget.h): sizes,
 * reaches and the registers of the interception frame, for the core (through
 * src/arch.h) and the C and assembly files of src/arch/x86_64/. Nothing here
 * depends on the host the code is built on.
 */
#ifndef CHOOK_X86_TARGET_H
#define CHOOK_X86_TARGET_H

#ifndef __ASSEMBLER__
#include <stdint.h>
#endif

/* Patches and trampolines. The far jump (14 bytes) plus the longest instruction
 * it may end inside (15) fit in MAX_PATCH; every instruction of a patch may grow
 * when relocated (a jcc rel8 becomes jcc rel32 or an inverted jcc over a far
 * jump), which MAX_TRAMP covers with the jump back. */
#define CHOOK_ARCH_MAX_INSNS 16   /* instructions one patch may cover */
#define CHOOK_ARCH_MAX_PATCH 32   /* bytes one patch may cover (skip excluded) */
#define CHOOK_ARCH_MAX_TRAMP 384  /* bytes one trampoline may take */

/* How far a near jump reaches: jmp rel32 (+-2 GiB), with a 64 KiB margin.
 * Allocations meant to be reached by near jumps stay within this distance. */
#define CHOOK_ARCH_NEAR_REACH ((uintptr_t)0x7fff0000u)

/* ---- interception (System V AMD64 ABI) -------------------------------------- */

#define CHOOK_ARCH_ICPT_GP 6   /* integer argument registers (rdi rsi rdx rcx r8 r9) */
#define CHOOK_ARCH_ICPT_FP 8   /* floating argument registers (xmm0-7) */
#define CHOOK_ARCH_ICPT_THUNK_MAX 80  /* bytes of the largest thunk (closure: 69) */

/* Where a thunk keeps the caller's r11, relative to the stack pointer at the
 * target's entry (in the red zone, next to the dispatcher's rbp). */
#define CHOOK_ARCH_ICPT_R11_SAVE (-16)

#ifndef __ASSEMBLER__
/* The registers the dispatcher saves, in this order (intercept_frame.h has the
 * offsets for the assembly). */
typedef struct chook_arch_iregs {
    uint64_t gp[CHOOK_ARCH_ICPT_GP];  /* integer argument registers, ABI order */
    uint64_t extra;                   /* the extra register: rax (al: vector
                                         registers used by a variadic call) */
    uint64_t ctx;                     /* the context the thunk passed */
    _Alignas(16) uint64_t fp[CHOOK_ARCH_ICPT_FP][2]; /* whole vector registers */
    /* Registers that carry no argument but that a caller may expect the callee
     * to leave alone (GCC's -fipa-ra lets callers of local functions keep values
     * in call-clobbered registers the callee does not touch): r10 (also the
     * static chain of nested functions), xmm8-15; r11 is kept by the thunk next
     * to the return address (CHOOK_ARCH_ICPT_R11_SAVE). */
    uint64_t keep[2];                 /* r10, unused */
    _Alignas(16) uint64_t keep_fp[8][2]; /* xmm8-15 */
} chook_arch_iregs;
#endif

#endif /* CHOOK_X86_TARGET_H */
