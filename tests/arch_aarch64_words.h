/*
 * A64 words for the aarch64 back-end tests, encoded here independently of the
 * back end's own encoders: each macro takes the address the instruction runs at
 * and its absolute target, as the disassembly beside every use shows it. The
 * field layouts were checked against aarch64-linux-gnu-objdump.
 */
#ifndef CHOOK_TEST_ARCH_AARCH64_WORDS_H
#define CHOOK_TEST_ARCH_AARCH64_WORDS_H

#include <stdint.h>

/* Offset of `to` from `from` in words, masked to n bits. */
#define W_OFF(from, to, n) ((uint32_t)(((uint64_t)(to) - (uint64_t)(from)) >> 2) & ((1u << (n)) - 1))

#define A_B(from, to)  (0x14000000u | W_OFF(from, to, 26))                 /* b to        */
#define A_BL(from, to) (0x94000000u | W_OFF(from, to, 26))                 /* bl to       */
#define A_BCOND(from, to, cond) (0x54000000u | W_OFF(from, to, 19) << 5 | (cond)) /* b.cond to */
#define A_CBZ_W(from, to, rt)  (0x34000000u | W_OFF(from, to, 19) << 5 | (rt))   /* cbz wt, to  */
#define A_CBZ_X(from, to, rt)  (0xb4000000u | W_OFF(from, to, 19) << 5 | (rt))   /* cbz xt, to  */
#define A_CBNZ_X(from, to, rt) (0xb5000000u | W_OFF(from, to, 19) << 5 | (rt))   /* cbnz xt, to */
#define A_TBZ(from, to, bit, rt)                                                  \
    (0x36000000u | (uint32_t)((bit) >> 5) << 31 | (uint32_t)((bit) & 31) << 19 | \
     W_OFF(from, to, 14) << 5 | (rt))                                  /* tbz rt, #bit, to  */
#define A_TBNZ(from, to, bit, rt) (A_TBZ(from, to, bit, rt) | 0x01000000u) /* tbnz rt, #bit, to */
/* Literal loads: opc:V selects the form. */
#define A_LIT(base, from, to, rt) ((base) | W_OFF(from, to, 19) << 5 | (rt))
#define A_LDR_W(from, to, rt)  A_LIT(0x18000000u, from, to, rt)   /* ldr wt, to    */
#define A_LDR_X(from, to, rt)  A_LIT(0x58000000u, from, to, rt)   /* ldr xt, to    */
#define A_LDRSW(from, to, rt)  A_LIT(0x98000000u, from, to, rt)   /* ldrsw xt, to  */
#define A_PRFM(from, to, op)   A_LIT(0xd8000000u, from, to, op)   /* prfm op, to   */
#define A_LDR_S(from, to, rt)  A_LIT(0x1c000000u, from, to, rt)   /* ldr st, to    */
#define A_LDR_D(from, to, rt)  A_LIT(0x5c000000u, from, to, rt)   /* ldr dt, to    */
#define A_LDR_Q(from, to, rt)  A_LIT(0x9c000000u, from, to, rt)   /* ldr qt, to    */
/* adr: immlo in 30:29, immhi in 23:5; adrp the same in pages. */
#define A_ADR_IMM(op, imm, rd)                                                   \
    ((op) | ((uint32_t)(imm) & 3u) << 29 | (((uint32_t)((int64_t)(imm) >> 2)) & 0x7ffffu) << 5 | (rd))
#define A_ADR(from, to, rd) A_ADR_IMM(0x10000000u, (int64_t)((uint64_t)(to) - (uint64_t)(from)), rd)
#define A_ADRP(from, to, rd)                                                     \
    A_ADR_IMM(0x90000000u, (int64_t)(((uint64_t)(to) >> 12) - ((uint64_t)(from) >> 12)), rd)
/* A .quad as two words, low first. */
#define A_QUAD(v) (uint32_t)(uint64_t)(v), (uint32_t)((uint64_t)(v) >> 32)

/* Fixed words. */
#define A_LDR_X16_8   0x58000050u /* ldr x16, .+8              */
#define A_LDR_X16_12  0x58000070u /* ldr x16, .+12             */
#define A_BR_X16      0xd61f0200u /* br x16                    */
#define A_BLR_X16     0xd63f0200u /* blr x16                   */
#define A_B_12        0x14000003u /* b .+12                    */
#define A_NOP         0xd503201fu /* nop                       */
#define A_RET         0xd65f03c0u /* ret                       */
#define A_BRK0        0xd4200000u /* brk #0                    */
#define A_BTI_C       0xd503245fu /* bti c                     */
#define A_BTI_J       0xd503249fu /* bti j                     */
#define A_PACIASP     0xd503233fu /* paciasp                   */
#define A_AUTIASP     0xd50323bfu /* autiasp                   */
#define A_STP_FP_LR   0xa9bf7bfdu /* stp x29, x30, [sp, #-16]! */
#define A_MOV_FP_SP   0x910003fdu /* mov x29, sp               */
#define A_STR_X19     0xf9000bf3u /* str x19, [sp, #16]        */
#define A_MOV_X19_X0  0xaa0003f3u /* mov x19, x0               */
#define A_MOV_W0_1    0x52800020u /* mov w0, #0x1              */
#define A_CMP_X0_0    0xf100001fu /* cmp x0, #0x0              */
#define A_ADD_X0_1    0x91000400u /* add x0, x0, #0x1          */
#define A_BLR_X1      0xd63f0020u /* blr x1                    */
#define A_BR_X1       0xd61f0020u /* br x1                     */
#define A_LDAXR_W1    0x885ffc01u /* ldaxr w1, [x0]            */
#define A_STLXR_W2    0x8802fc01u /* stlxr w2, w1, [x0]        */
#define A_CASP        0x48207c82u /* casp x0, x1, x2, x3, [x4] */
#define A_HLT0        0xd4400000u /* hlt #0x0                  */
#define A_UDF0        0x00000000u /* udf #0                    */
#define A_EQ 0x0
#define A_NE 0x1
#define A_AL 0xe

#endif /* CHOOK_TEST_ARCH_AARCH64_WORDS_H */
