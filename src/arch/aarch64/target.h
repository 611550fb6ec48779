/*
 * Constants of the aarch64 back end (the shape of libffi's ffitarget.h): sizes,
 * reaches and register choices, shared by the C files of src/arch/aarch64/ and,
 * later, by its assembly. Nothing here depends on the host the code is built on:
 * the mechanism builds and is tested on any host.
 *
 * src/arch.h takes the CHOOK_ARCH_* constants of the contract from here (end of
 * this file). Still to come with the interception back end:
 * CHOOK_ARCH_ICPT_THUNK_MAX and struct chook_arch_iregs (x0-x7, x8 as the extra
 * register, v0-v7).
 */
#ifndef CHOOK_A64_TARGET_H
#define CHOOK_A64_TARGET_H

/* Every A64 instruction is one little-endian 32-bit word, 4-byte aligned. */
#define CHOOK_A64_INSN 4

/* Jumps written at a target (chook_arch_write_jump). */
#define CHOOK_A64_JUMP_NEAR_SIZE 4  /* b dest                                 */
#define CHOOK_A64_JUMP_FAR_SIZE 16  /* ldr x16, .+8; br x16; .quad dest       */
/* Indirect jump through a slot (chook_arch_write_slot_jump). */
#define CHOOK_A64_SLOT_LIT_SIZE 8   /* ldr x16, slot; br x16 (slot +-1 MiB)   */
#define CHOOK_A64_SLOT_PAGE_SIZE 12 /* adrp x16; ldr x16, [x16, lo12]; br x16 */

/* Reaches, as byte distances from the instruction's own address. B/BL: imm26
 * words, +-128 MiB; B.cond, CBZ/CBNZ, LDR literal, ADR: +-1 MiB; TBZ/TBNZ: imm14
 * words, +-32 KiB; ADRP: imm21 pages, +-4 GiB. */
#define CHOOK_A64_REACH_B ((int64_t)1 << 27)
#define CHOOK_A64_REACH_19 ((int64_t)1 << 20)
#define CHOOK_A64_REACH_14 ((int64_t)1 << 15)
#define CHOOK_A64_REACH_ADRP ((int64_t)1 << 32)

/* How far a near jump (b) reaches, with the same 64 KiB margin the x86-64 value
 * keeps inside rel32: allocations meant to be reached by near jumps stay within
 * this distance of the jump. */
#define CHOOK_A64_NEAR_REACH ((uintptr_t)0x07ff0000u)

/* One patch covers at most the far jump: 4 instructions. */
#define CHOOK_A64_MAX_PATCH_INSNS 4
/* The longest copy of one instruction: a conditional branch inverted over an
 * absolute jump, a call through x16, or a literal load through an absolute
 * address (5 words). The trampoline of a far patch: 4 copies and the jump back. */
#define CHOOK_A64_MAX_COPY 20
#define CHOOK_A64_MAX_TRAMP (CHOOK_A64_MAX_PATCH_INSNS * CHOOK_A64_MAX_COPY + \
                             CHOOK_A64_JUMP_FAR_SIZE)

/* Scratch registers of emitted code: the intra-procedure-call registers IP0/IP1,
 * which AAPCS64 lets any veneer between caller and callee clobber, so no
 * function may expect them live at its entry. x16/x17 are also the only
 * registers a `br` may use to land on a `bti c` (or paciasp) landing pad. */
#define CHOOK_A64_IP0 16 /* x16: absolute jumps and calls */
#define CHOOK_A64_IP1 17 /* x17: the address of an out-of-reach literal */

/* The interception ABI (AAPCS64), for the day the dispatcher exists: x0-x7 and
 * v0-v7 carry arguments, x8 the indirect result address; results come back in
 * x0/x1 and v0-v3. */
#define CHOOK_A64_ICPT_GP 8
#define CHOOK_A64_ICPT_FP 8

/* ---- the contract's constants (src/arch.h) --------------------------------- */

#define CHOOK_ARCH_MAX_INSNS CHOOK_A64_MAX_PATCH_INSNS
#define CHOOK_ARCH_MAX_PATCH (CHOOK_A64_MAX_PATCH_INSNS * CHOOK_A64_INSN)
#define CHOOK_ARCH_MAX_TRAMP CHOOK_A64_MAX_TRAMP
#define CHOOK_ARCH_NEAR_REACH CHOOK_A64_NEAR_REACH
#define CHOOK_ARCH_ICPT_GP CHOOK_A64_ICPT_GP
#define CHOOK_ARCH_ICPT_FP CHOOK_A64_ICPT_FP

#endif /* CHOOK_A64_TARGET_H */
