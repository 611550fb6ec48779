/*
 * Encoders of the instructions the aarch64 back end emits. Each field is checked
 * against its range; a value that does not fit (the caller's bug: callers check
 * reach first) yields brk #0xdead, so the mistake traps instead of branching
 * somewhere else, and a check of the output catches it.
 */
#include "chook.h"
#include "a64.h"

#define IMM19_MASK (0x7ffffu << 5)  /* bits 23:5 of b.cond, cbz, ldr literal */
#define IMM14_MASK (0x3fffu << 5)   /* bits 18:5 of tbz */
#define OP_BIT (1u << 24)           /* cbz/cbnz, tbz/tbnz: the nz bit */

uint32_t chook__a64_enc_b(uintptr_t pc, uintptr_t dest, int link)
{
    if (!chook__a64_fits(pc, dest, 26, 4)) return CHOOK_A64_BAD;
    return (link ? 0x94000000u : 0x14000000u) |        /* bl / b <imm26> */
           ((uint32_t)((dest - pc) >> 2) & 0x03ffffffu);
}

uint32_t chook__a64_enc_ldr_lit_x(unsigned rt, int32_t off)
{
    if (off % 4 || off < -(1 << 20) || off >= (1 << 20) || rt > 31) return CHOOK_A64_BAD;
    return 0x58000000u |                               /* ldr xt, .+off */
           (((uint32_t)(off / 4) & 0x7ffffu) << 5) | rt;
}

uint32_t chook__a64_enc_br(unsigned rn, int link)
{
    if (rn > 30) return CHOOK_A64_BAD;
    return (link ? 0xd63f0000u : 0xd61f0000u) | rn << 5; /* blr / br xn */
}

uint32_t chook__a64_enc_rebranch(const chook__a64_insn *in, uintptr_t pc, uintptr_t dest,
                                 int invert)
{
    uint32_t w = in->word;
    switch (in->kind) {
    case CHOOK_A64_B:
    case CHOOK_A64_BL:
        if (invert) break;
        return chook__a64_enc_b(pc, dest, in->kind == CHOOK_A64_BL);
    case CHOOK_A64_BCOND:
        if (!chook__a64_fits(pc, dest, 19, 4)) break;
        /* Flipping bit 0 of the condition negates it (eq/ne, cs/cc, ...); al/nv
         * have no negation and must not come here inverted. */
        if (invert && (w & 15) >= 14) break;
        return ((w & ~IMM19_MASK) ^ (invert ? 1u : 0u)) |
               (((uint32_t)((dest - pc) >> 2) & 0x7ffffu) << 5);
    case CHOOK_A64_CB:
        if (!chook__a64_fits(pc, dest, 19, 4)) break;
        return ((w & ~IMM19_MASK) ^ (invert ? OP_BIT : 0u)) |
               (((uint32_t)((dest - pc) >> 2) & 0x7ffffu) << 5);
    case CHOOK_A64_TB:
        if (!chook__a64_fits(pc, dest, 14, 4)) break;
        return ((w & ~IMM14_MASK) ^ (invert ? OP_BIT : 0u)) |
               (((uint32_t)((dest - pc) >> 2) & 0x3fffu) << 5);
    default:
        break;
    }
    return CHOOK_A64_BAD;
}

uint32_t chook__a64_enc_readr(const chook__a64_insn *in, uintptr_t pc)
{
    int64_t imm;
    if (in->kind == CHOOK_A64_ADR) {
        if (!chook__a64_fits(pc, in->target, 21, 1)) return CHOOK_A64_BAD;
        imm = (int64_t)(in->target - pc);
    } else if (in->kind == CHOOK_A64_ADRP) {
        if (!chook__a64_fits(pc & ~(uintptr_t)0xfff, in->target, 21, 4096)) return CHOOK_A64_BAD;
        imm = (int64_t)(in->target - (pc & ~(uintptr_t)0xfff)) / 4096;
    } else {
        return CHOOK_A64_BAD;
    }
    return (in->word & 0x9f00001fu) |                  /* adr/adrp rd: immlo 30:29, immhi 23:5 */
           ((uint32_t)imm & 3u) << 29 | (((uint32_t)(imm >> 2) & 0x7ffffu) << 5);
}

uint32_t chook__a64_enc_relit(const chook__a64_insn *in, uintptr_t pc)
{
    if (in->kind != CHOOK_A64_LDR_LIT || !chook__a64_fits(pc, in->target, 19, 4))
        return CHOOK_A64_BAD;
    return (in->word & ~IMM19_MASK) | (((uint32_t)((in->target - pc) >> 2) & 0x7ffffu) << 5);
}

uint32_t chook__a64_enc_load_base(const chook__a64_insn *in, unsigned rn)
{
    /* Load/store register (unsigned immediate) with imm12 = 0. */
    static const uint32_t base[] = {
        [CHOOK_A64_LIT_W] = 0xb9400000u,    /* ldr wt, [xn]        */
        [CHOOK_A64_LIT_X] = 0xf9400000u,    /* ldr xt, [xn]        */
        [CHOOK_A64_LIT_SW] = 0xb9800000u,   /* ldrsw xt, [xn]      */
        [CHOOK_A64_LIT_PRFM] = 0xf9800000u, /* prfm <op>, [xn]     */
        [CHOOK_A64_LIT_S] = 0xbd400000u,    /* ldr st, [xn]        */
        [CHOOK_A64_LIT_D] = 0xfd400000u,    /* ldr dt, [xn]        */
        [CHOOK_A64_LIT_Q] = 0x3dc00000u,    /* ldr qt, [xn]        */
    };
    if (in->kind != CHOOK_A64_LDR_LIT || rn > 30) return CHOOK_A64_BAD;
    return base[in->lit] | rn << 5 | in->rt;
}
