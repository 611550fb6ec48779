/*
 * The aarch64 decoder: mask/value tests on the 32-bit word for the classes whose
 * meaning depends on their address, plus what the planner must know.
 *
 * Top-level encoding groups, op0 = bits 28:25 (Arm ARM, "A64 instruction set
 * encoding"):
 *   0000  bit 31 = 0: udf (bits 24:16 = 0), else unallocated; bit 31 = 1: SME
 *   0001, 0011  unallocated
 *   0010  SVE
 *   100x  data processing, immediate (adr, adrp: bits 28:24 = 10000)
 *   101x  branches, exception generation, system
 *   x1x0  loads and stores (literal loads: bits 29:27 = 011, 25:24 = 00)
 *   x101  data processing, register     x111  SIMD and floating point
 * In the branch group every class is listed; a word of that group that matches
 * none (a newer branch form this decoder does not know) is refused rather than
 * copied, since it may be PC-relative.
 */
#include <stdarg.h>
#include <stdio.h>

#include "chook.h"
#include "a64.h"

static int64_t sext(uint64_t v, unsigned bits)
{
    return (int64_t)(v << (64 - bits)) >> (64 - bits);
}

static const char *const cond_names[16] = {
    "b.eq", "b.ne", "b.cs", "b.cc", "b.mi", "b.pl", "b.vs", "b.vc",
    "b.hi", "b.ls", "b.ge", "b.lt", "b.gt", "b.le", "b.al", "b.nv",
};

static const char *const lit_names[] = {
    [CHOOK_A64_LIT_W] = "ldr (literal, w)",  [CHOOK_A64_LIT_X] = "ldr (literal, x)",
    [CHOOK_A64_LIT_SW] = "ldrsw (literal)",  [CHOOK_A64_LIT_PRFM] = "prfm (literal)",
    [CHOOK_A64_LIT_S] = "ldr (literal, s)",  [CHOOK_A64_LIT_D] = "ldr (literal, d)",
    [CHOOK_A64_LIT_Q] = "ldr (literal, q)",
};

/* The branch group (op0 = 101x). */
static void decode_branch(uint32_t w, uintptr_t pc, chook__a64_insn *out)
{
    if ((w & 0x7c000000u) == 0x14000000u) {            /* b / bl: x00101 imm26 */
        out->kind = (w >> 31) ? CHOOK_A64_BL : CHOOK_A64_B;
        out->target = pc + (uintptr_t)(sext(w & 0x03ffffffu, 26) * 4);
        out->name = (w >> 31) ? "bl" : "b";
    } else if ((w & 0x7e000000u) == 0x34000000u) {     /* cbz / cbnz: sf 011010 op imm19 rt */
        out->kind = CHOOK_A64_CB;
        out->target = pc + (uintptr_t)(sext((w >> 5) & 0x7ffffu, 19) * 4);
        out->name = (w >> 24) & 1 ? "cbnz" : "cbz";
    } else if ((w & 0x7e000000u) == 0x36000000u) {     /* tbz / tbnz: b5 011011 op b40 imm14 rt */
        out->kind = CHOOK_A64_TB;
        out->target = pc + (uintptr_t)(sext((w >> 5) & 0x3fffu, 14) * 4);
        out->name = (w >> 24) & 1 ? "tbnz" : "tbz";
    } else if ((w & 0xff000000u) == 0x54000000u) {     /* b.cond / bc.cond: 01010100 imm19 o0 cond */
        out->kind = CHOOK_A64_BCOND;
        out->target = pc + (uintptr_t)(sext((w >> 5) & 0x7ffffu, 19) * 4);
        out->name = cond_names[w & 15];
    } else if ((w & 0xff000000u) == 0xd4000000u) {     /* svc, hvc, smc, brk, hlt, dcps */
        out->kind = CHOOK_A64_PLAIN;
        out->name = (w & 0xffe0001fu) == 0xd4200000u ? "brk"
                  : (w & 0xffe0001fu) == 0xd4400000u ? "hlt" : "an exception-generating insn";
    } else if ((w & 0xffc00000u) == 0xd5000000u) {     /* system: hints, barriers, msr, mrs, sys */
        out->kind = CHOOK_A64_PLAIN;
    } else if ((w & 0xfe000000u) == 0xd6000000u) {     /* branch (register): opc 24:21, op3 15:10 */
        static const char *const plain[3] = { "br", "blr", "ret" };
        static const char *const auth[3] = { "braaz/brabz", "blraaz/blrabz", "retaa/retab" };
        unsigned opc = (w >> 21) & 15;
        out->kind = CHOOK_A64_PLAIN;
        if (opc <= 2) out->name = ((w >> 10) & 63) ? auth[opc] : plain[opc];
        else out->name = opc == 8 ? "braa/brab" : opc == 9 ? "blraa/blrab" : "eret/drps";
    } else {
        out->kind = CHOOK_A64_UNRELOC;
        out->name = "an unknown branch-group instruction";
    }
}

int chook__a64_decode(uint32_t w, uintptr_t pc, chook__a64_insn *out)
{
    unsigned op0 = (w >> 25) & 15;

    *out = (chook__a64_insn){ .word = w, .pc = pc, .kind = CHOOK_A64_PLAIN,
                              .rt = w & 31, .name = "insn" };
    if (op0 == 0) {
        if (w >> 31) return 1;                         /* SME */
        if ((w & 0xffff0000u) != 0) return 0;          /* reserved, unallocated */
        out->name = "udf";
        return 1;
    }
    if (op0 == 1 || op0 == 3) return 0;                /* unallocated */
    if ((w & 0x1f000000u) == 0x10000000u) {            /* adr / adrp: op immlo 10000 immhi rd */
        int64_t imm = sext(((w >> 3) & 0x1ffffcu) | ((w >> 29) & 3), 21);
        if (w >> 31) {
            out->kind = CHOOK_A64_ADRP;
            out->target = (pc & ~(uintptr_t)0xfff) + (uintptr_t)(imm * 4096);
            out->name = "adrp";
        } else {
            out->kind = CHOOK_A64_ADR;
            out->target = pc + (uintptr_t)imm;
            out->name = "adr";
        }
        return 1;
    }
    if ((op0 & 0xe) == 0xa) {                          /* 101x: branches, system */
        decode_branch(w, pc, out);
        return 1;
    }
    if ((w & 0x3b000000u) == 0x18000000u) {            /* opc 011 V 00 imm19 rt: literal */
        unsigned opc = w >> 30, v = (w >> 26) & 1;
        static const enum chook__a64_lit gpr[4] = {
            CHOOK_A64_LIT_W, CHOOK_A64_LIT_X, CHOOK_A64_LIT_SW, CHOOK_A64_LIT_PRFM };
        static const enum chook__a64_lit simd[3] = {
            CHOOK_A64_LIT_S, CHOOK_A64_LIT_D, CHOOK_A64_LIT_Q };
        if (v && opc == 3) return 0;                   /* unallocated */
        out->kind = CHOOK_A64_LDR_LIT;
        out->lit = v ? simd[opc] : gpr[opc];
        out->target = pc + (uintptr_t)(sext((w >> 5) & 0x7ffffu, 19) * 4);
        out->name = lit_names[out->lit];
        return 1;
    }
    /* Load/store exclusive (size 001000 o2=0 L o1 ...): ldxr, stxr, ldaxr, stlxr
     * and the pairs, but not casp (bit 31 = 0 with o1 = 1). Copied apart from its
     * partner, an exclusive would meet the literal load of an absolute jump
     * between load and store, which may clear the monitor on every try. */
    if ((w & 0x3f800000u) == 0x08000000u && !(!(w >> 31) && ((w >> 21) & 1))) {
        out->kind = CHOOK_A64_UNRELOC;
        out->name = (w >> 22) & 1 ? "a load-exclusive" : "a store-exclusive";
    }
    return 1;
}

uint32_t chook__a64_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int chook__a64_decode_at(const uint8_t *bytes, size_t avail, uintptr_t pc,
                         chook__a64_insn *out)
{
    if (avail < CHOOK_A64_INSN) return 0;
    return chook__a64_decode(chook__a64_get32(bytes), pc, out);
}

int chook__a64_falls_through(const chook__a64_insn *in)
{
    uint32_t w = in->word;
    switch (in->kind) {
    case CHOOK_A64_B:
        return 0;
    case CHOOK_A64_BCOND:
        return (w & 15) < 14;                          /* al and nv always branch */
    case CHOOK_A64_PLAIN:
        if ((w & 0xfe000000u) == 0xd6000000u)          /* branch (register): only the */
            return (w >> 21) & 1;                      /* blr forms (opc bit 0) return */
        if ((w & 0xffe0001fu) == 0xd4200000u ||        /* brk #imm */
            (w & 0xffe0001fu) == 0xd4400000u)          /* hlt #imm */
            return 0;
        return (w & 0xffff0000u) != 0;                 /* udf #imm */
    default:
        return 1;
    }
}

int chook__a64_is_padding(const chook__a64_insn *in)
{
    return in->word == CHOOK_A64_NOP || in->word == 0;
}

int chook__a64_is_bti(uint32_t w)
{
    return (w & 0xffffff3fu) == 0xd503241fu;           /* hint #32/#34/#36/#38 */
}

uint32_t chook__a64_written_regs(const chook__a64_insn *in)
{
    uint32_t w = in->word, regs = 1u << (w & 31);
    if ((w & 0x3b200400u) == 0x38000400u ||            /* 111 V 00 .. 0 imm9 x1: pre/post-indexed */
        (w & 0x3a800000u) == 0x28800000u)              /* pair 101 V 0x1: pre/post-indexed */
        regs |= 1u << ((w >> 5) & 31);                 /* rn: writeback */
    if ((w & 0x38000000u) == 0x28000000u)              /* pairs: 101 V idx L imm7 rt2 rn rt */
        regs |= 1u << ((w >> 10) & 31);                /* rt2 */
    return regs;
}

int chook__a64_direct_target(const chook__a64_insn *in, uintptr_t *target)
{
    switch (in->kind) {
    case CHOOK_A64_B:
    case CHOOK_A64_BL:
    case CHOOK_A64_BCOND:
    case CHOOK_A64_CB:
    case CHOOK_A64_TB:
        *target = in->target;
        return 1;
    default:
        return 0;
    }
}

size_t chook__a64_lit_size(enum chook__a64_lit lit)
{
    switch (lit) {
    case CHOOK_A64_LIT_W: case CHOOK_A64_LIT_SW: case CHOOK_A64_LIT_S: return 4;
    case CHOOK_A64_LIT_X: case CHOOK_A64_LIT_D: return 8;
    case CHOOK_A64_LIT_Q: return 16;
    case CHOOK_A64_LIT_PRFM: break;
    }
    return 0;
}

int chook__a64_fits(uintptr_t pc, uintptr_t dest, unsigned bits, unsigned scale)
{
    int64_t d = (int64_t)(dest - pc);
    int64_t lim = ((int64_t)1 << (bits - 1)) * (int64_t)scale;
    return d % (int64_t)scale == 0 && d >= -lim && d < lim;
}

int chook__a64_err(int status, char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return status;
}

void chook__a64_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

void chook__a64_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
