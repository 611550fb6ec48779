/*
 * An independent check of an aarch64 trampoline made by chook_arch_relocate():
 * runs each copy in a small interpreter of the forms a copy may hold (literal and
 * register loads of addresses, adr/adrp, b, bl, br, blr, and both outcomes of
 * every conditional branch) and compares what it does with what the original
 * instruction did: the same branch target (or its copy, for a target among the
 * patched instructions) under the same condition, the same call, the same address
 * in the same register, the same load from the same address, and the jump back.
 * Shared by the byte-exact cases and the random ones.
 */
#ifndef CHOOK_TEST_ARCH_AARCH64_CHECK_H
#define CHOOK_TEST_ARCH_AARCH64_CHECK_H

#include <stdio.h>
#include <string.h>

#include "arch.h"

typedef struct a64c_ctx {
    const chook_arch_tramp *t;
    uintptr_t tpc;            /* runtime address of t->bytes */
    uintptr_t c0, c1;         /* the copy being run */
    uint64_t x[32];
    int known[32];
    /* What one run did. */
    int n_calls;
    uint64_t call;            /* the last call's target */
    int load_kind;            /* -1: none; else the top 10 bits of the load word */
    unsigned load_rt;
    uint64_t load_addr;
    int fall;                 /* reached c1 */
    uint64_t jump;            /* else: left the copy for this address */
} a64c_ctx;

static uint32_t a64c_word(const a64c_ctx *c, uint64_t at)
{
    const uint8_t *b = c->t->bytes + (at - c->tpc);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static int64_t a64c_sext(uint64_t v, unsigned bits)
{
    return (int64_t)(v << (64 - bits)) >> (64 - bits);
}

/* The target of a conditional branch word at pc, or 0 when it is none. */
static uint64_t a64c_cond_target(uint32_t w, uint64_t pc)
{
    if ((w & 0xff000000u) == 0x54000000u || (w & 0x7e000000u) == 0x34000000u)
        return pc + (uint64_t)(a64c_sext((w >> 5) & 0x7ffff, 19) * 4);
    if ((w & 0x7e000000u) == 0x36000000u)
        return pc + (uint64_t)(a64c_sext((w >> 5) & 0x3fff, 14) * 4);
    return 0;
}

/* Runs from pc; at the first conditional branch follows `taken` (*cond_word gets
 * the branch, which must be the first instruction). Returns 0 on a form the
 * interpreter does not know or a read outside the trampoline. */
static int a64c_run(a64c_ctx *c, uint64_t pc, int taken, uint32_t *cond_word)
{
    c->n_calls = 0;
    c->load_kind = -1;
    c->fall = 0;
    memset(c->known, 0, sizeof c->known);
    for (int steps = 0; steps < 16; steps++) {
        uint32_t w;
        if (pc == c->c1) { c->fall = 1; return 1; }
        if (pc < c->c0 || pc > c->c1 || (pc == c->c0 && steps)) { c->jump = pc; return 1; }
        w = a64c_word(c, pc);
        if ((w & 0xff000000u) == 0x58000000u) {                /* ldr xt, literal */
            uint64_t a = pc + (uint64_t)(a64c_sext((w >> 5) & 0x7ffff, 19) * 4);
            if (a < c->tpc || a + 8 > c->tpc + c->t->len) return 0;
            memcpy(&c->x[w & 31], c->t->bytes + (a - c->tpc), 8);
            c->known[w & 31] = 1;
            pc += 4;
        } else if ((w & 0x7c000000u) == 0x14000000u) {         /* b / bl */
            uint64_t d = pc + (uint64_t)(a64c_sext(w & 0x3ffffff, 26) * 4);
            if (w >> 31) { c->n_calls++; c->call = d; pc += 4; }
            else pc = d;
        } else if ((w & 0xffdffc1fu) == 0xd61f0000u) {         /* br / blr xn */
            unsigned n = (w >> 5) & 31;
            if (!c->known[n]) return 0;
            if (w & 0x00200000u) { c->n_calls++; c->call = c->x[n]; pc += 4; }
            else { c->jump = c->x[n]; return 1; }
        } else if (a64c_cond_target(w, pc)) {                  /* b.cond, cbz, tbz */
            if (steps) return 0;                               /* only as the first */
            *cond_word = w;
            pc = taken ? a64c_cond_target(w, pc) : pc + 4;
        } else if ((w & 0x3ffffc00u) == 0x39400000u ||         /* ldr/ldrsw/prfm [xn], */
                   (w & 0x3ffffc00u) == 0x39800000u ||         /* unsigned offset 0    */
                   (w & 0x3ffffc00u) == 0x3d400000u ||
                   (w & 0x3ffffc00u) == 0x3dc00000u) {
            unsigned n = (w >> 5) & 31;
            if (!c->known[n] || c->load_kind >= 0) return 0;
            c->load_kind = (int)(w >> 22);
            c->load_rt = w & 31;
            c->load_addr = c->x[n];
            pc += 4;
        } else {
            return 0;
        }
    }
    return 0;
}

/* Where a branch to original address a must go from the trampoline. */
static uint64_t a64c_map(const chook_arch_code *code, const chook_arch_plan *p,
                         const chook_arch_tramp *t, uintptr_t tpc, uint64_t a)
{
    uintptr_t lo = code->pc + p->skip;
    if (a == code->pc && p->skip) return tpc + t->insn_off[0];
    for (unsigned i = 0; i < p->n_insns; i++)
        if (a == lo + p->insn_off[i]) return tpc + t->insn_off[i];
    return a;
}

#define A64C_FAIL(...) do { snprintf(why, whylen, __VA_ARGS__); return 0; } while (0)

/* The load an original literal instruction does, as the top 10 bits of the
 * equivalent register-offset word (size, V, opc). */
static int a64c_lit_kind(uint32_t w)
{
    static const int kind[8] = {
        0x2e5, /* ldr w:   0xb94 >> 2 */ 0x3e5, /* ldr x:   0xf94 >> 2 */
        0x2e6, /* ldrsw:   0xb98 >> 2 */ 0x3e6, /* prfm:    0xf98 >> 2 */
        0x2f5, /* ldr s:   0xbd4 >> 2 */ 0x3f5, /* ldr d:   0xfd4 >> 2 */
        0x0f7, /* ldr q:   0x3dc >> 2 */ -1,
    };
    return kind[(w >> 30) | ((w >> 24) & 4)];
}

static int arch_a64_check_tramp(const chook_arch_code *code, const chook_arch_plan *p,
                                const chook_arch_tramp *t, uintptr_t tpc,
                                char *why, size_t whylen)
{
    a64c_ctx c = { .t = t, .tpc = tpc };
    for (unsigned i = 0; i < p->n_insns; i++) {
        size_t o = p->skip + p->insn_off[i];
        uint64_t opc = code->pc + o;
        const uint8_t *ob = code->bytes + o;
        uint32_t w = (uint32_t)ob[0] | (uint32_t)ob[1] << 8 | (uint32_t)ob[2] << 16 |
                     (uint32_t)ob[3] << 24;
        uint32_t cw = 0;
        uint64_t tgt;
        c.c0 = tpc + t->insn_off[i];
        c.c1 = tpc + t->insn_off[i + 1];
        if ((w & 0x7c000000u) == 0x14000000u) {                /* b / bl */
            tgt = opc + (uint64_t)(a64c_sext(w & 0x3ffffff, 26) * 4);
            if (!a64c_run(&c, c.c0, 0, &cw)) A64C_FAIL("insn %u: copy does not run", i);
            if (w >> 31) {
                if (c.n_calls != 1 || c.call != tgt || !c.fall)
                    A64C_FAIL("insn %u: bl copy calls 0x%llx (%d calls), original 0x%llx", i,
                              (unsigned long long)c.call, c.n_calls, (unsigned long long)tgt);
            } else if ((c.fall ? c.c1 : c.jump) != a64c_map(code, p, t, tpc, tgt) || c.n_calls) {
                A64C_FAIL("insn %u: b copy goes to 0x%llx, want 0x%llx", i,
                          (unsigned long long)c.jump,
                          (unsigned long long)a64c_map(code, p, t, tpc, tgt));
            }
        } else if ((tgt = a64c_cond_target(w, opc)) != 0) {     /* b.cond, cbz, tbz */
            uint64_t want = a64c_map(code, p, t, tpc, tgt), dest;
            int bcond = (w & 0xff000000u) == 0x54000000u;
            int always = bcond && (w & 15) >= 14;
            for (int taken = 0; taken < 2; taken++) {
                int holds;
                cw = 0;
                if (!a64c_run(&c, c.c0, taken, &cw) || c.n_calls)
                    A64C_FAIL("insn %u: copy does not run", i);
                dest = c.fall ? c.c1 : c.jump;
                if (!cw) {                                     /* b.al/b.nv become b */
                    if (!always || dest != want)
                        A64C_FAIL("insn %u: conditional copy has no condition", i);
                    continue;
                }
                /* Same class, sf/b5, register, bit, hint; the condition the same
                 * or negated (b.cond: bit 0 of cond; cbz/tbz: bit 24). */
                if ((cw & 0xfe000000u) != (w & 0xfe000000u) ||
                    (bcond ? (cw & 0x1eu) != (w & 0x1eu) : (cw & 31) != (w & 31)) ||
                    ((w & 0x7e000000u) == 0x36000000u && (cw & 0x00f80000u) != (w & 0x00f80000u)))
                    A64C_FAIL("insn %u: copy %08x tests something else than %08x", i, cw, w);
                holds = ((bcond ? (cw ^ w) & 1u : (cw ^ w) & 0x01000000u) == 0) == taken;
                if (holds && dest != want)
                    A64C_FAIL("insn %u: when the condition holds the copy goes to 0x%llx, "
                              "want 0x%llx", i, (unsigned long long)dest,
                              (unsigned long long)want);
                if (!holds && dest != c.c1)
                    A64C_FAIL("insn %u: when the condition fails the copy goes to 0x%llx",
                              i, (unsigned long long)dest);
            }
        } else if ((w & 0x1f000000u) == 0x10000000u) {         /* adr / adrp */
            int64_t imm = a64c_sext(((w >> 3) & 0x1ffffc) | ((w >> 29) & 3), 21);
            unsigned rd = w & 31;
            tgt = (w >> 31) ? (opc & ~(uint64_t)0xfff) + (uint64_t)(imm * 4096) : opc + (uint64_t)imm;
            if (c.c1 - c.c0 == 4) {
                uint32_t cwd = a64c_word(&c, c.c0);
                int64_t ci = a64c_sext(((cwd >> 3) & 0x1ffffc) | ((cwd >> 29) & 3), 21);
                uint64_t got = (cwd >> 31) ? (c.c0 & ~(uint64_t)0xfff) + (uint64_t)(ci * 4096)
                                           : c.c0 + (uint64_t)ci;
                if ((cwd & 0x9f00001fu) != (w & 0x9f00001fu) || got != tgt)
                    A64C_FAIL("insn %u: adr copy computes 0x%llx, want 0x%llx", i,
                              (unsigned long long)got, (unsigned long long)tgt);
            } else if (!a64c_run(&c, c.c0, 0, &cw) || !c.fall || !c.known[rd] ||
                       c.x[rd] != tgt || c.load_kind >= 0 || c.n_calls) {
                A64C_FAIL("insn %u: adr copy does not set x%u to 0x%llx", i, rd,
                          (unsigned long long)tgt);
            }
        } else if ((w & 0x3b000000u) == 0x18000000u) {         /* literal loads */
            tgt = opc + (uint64_t)(a64c_sext((w >> 5) & 0x7ffff, 19) * 4);
            if (c.c1 - c.c0 == 4) {
                uint32_t cwd = a64c_word(&c, c.c0);
                uint64_t got = c.c0 + (uint64_t)(a64c_sext((cwd >> 5) & 0x7ffff, 19) * 4);
                if ((cwd & 0xff00001fu) != (w & 0xff00001fu) || got != tgt)
                    A64C_FAIL("insn %u: literal copy reads 0x%llx, want 0x%llx", i,
                              (unsigned long long)got, (unsigned long long)tgt);
            } else if (!a64c_run(&c, c.c0, 0, &cw) || !c.fall || c.n_calls ||
                       c.load_kind != a64c_lit_kind(w) || c.load_rt != (w & 31) ||
                       c.load_addr != tgt) {
                A64C_FAIL("insn %u: literal copy does not load the same from 0x%llx", i,
                          (unsigned long long)tgt);
            }
        } else if (c.c1 - c.c0 != 4 || a64c_word(&c, c.c0) != w) {
            A64C_FAIL("insn %u: position-independent copy differs", i);
        }
    }
    if (p->ends_function) {
        if (t->insn_off[p->n_insns] != t->len) A64C_FAIL("code after a function end");
    } else {
        uint32_t cw = 0;
        uint64_t back = code->pc + p->skip + p->patch_len;
        c.c0 = tpc + t->insn_off[p->n_insns];
        c.c1 = tpc + t->len;
        if (!a64c_run(&c, c.c0, 0, &cw) || c.fall || c.jump != back || c.n_calls || cw)
            A64C_FAIL("jump back goes to 0x%llx, not 0x%llx", (unsigned long long)c.jump,
                      (unsigned long long)back);
    }
    return 1;
}

#undef A64C_FAIL

#endif /* CHOOK_TEST_ARCH_AARCH64_CHECK_H */
