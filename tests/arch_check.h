/*
 * An independent check of a trampoline made by chook_arch_relocate(): decodes the
 * original instructions and their copies with Zydis and compares what they do
 * (same operation, same absolute branch target, same rip-relative address, same
 * jump back). Shared by the relocator tests and the relocator fuzz target.
 */
#ifndef CHOOK_TEST_ARCH_CHECK_H
#define CHOOK_TEST_ARCH_CHECK_H

#include <stdio.h>
#include <string.h>

#include <Zydis/Zydis.h>

#include "arch.h"

typedef struct ac_insn {
    ZydisDecodedInstruction zi;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
} ac_insn;

static int ac_decode(const uint8_t *b, size_t n, ac_insn *in)
{
    ZydisDecoder d;
    ZydisDecoderInit(&d, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    return n && ZYAN_SUCCESS(ZydisDecoderDecodeFull(&d, b, n, &in->zi, in->ops));
}

static const ZydisDecodedOperand *ac_rel(const ac_insn *in)
{
    for (unsigned i = 0; i < in->zi.operand_count; i++)
        if (in->ops[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE && in->ops[i].imm.is_relative)
            return &in->ops[i];
    return NULL;
}

static const ZydisDecodedOperand *ac_ripmem(const ac_insn *in)
{
    for (unsigned i = 0; i < in->zi.operand_count; i++)
        if (in->ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
            in->ops[i].mem.base == ZYDIS_REGISTER_RIP)
            return &in->ops[i];
    return NULL;
}

static uint64_t ac_abs(const ac_insn *in, const ZydisDecodedOperand *op, uint64_t pc)
{
    ZyanU64 a = 0;
    ZydisCalcAbsoluteAddress(&in->zi, op, pc, &a);
    return a;
}

static uint64_t ac_quad(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static int ac_is_loop(ZydisMnemonic m)
{
    return m == ZYDIS_MNEMONIC_LOOP || m == ZYDIS_MNEMONIC_LOOPE ||
           m == ZYDIS_MNEMONIC_LOOPNE || m == ZYDIS_MNEMONIC_JRCXZ ||
           m == ZYDIS_MNEMONIC_JECXZ;
}

/* Where the jump at t->bytes[off] finally goes, following the trampoline's own
 * forms: jmp/call [rip+x] reading a .quad in the trampoline. Returns 0 when the
 * bytes are no jump. *mn receives the mnemonic of the first instruction. */
static uint64_t ac_dest(const chook_arch_tramp *t, uintptr_t tramp_pc, size_t off,
                        ZydisMnemonic *mn)
{
    ac_insn in;
    const ZydisDecodedOperand *op;
    if (off >= t->len || !ac_decode(t->bytes + off, t->len - off, &in)) return 0;
    if (mn) *mn = in.zi.mnemonic;
    if ((op = ac_rel(&in)) != NULL) return ac_abs(&in, op, tramp_pc + off);
    if ((op = ac_ripmem(&in)) != NULL &&
        (in.zi.mnemonic == ZYDIS_MNEMONIC_JMP || in.zi.mnemonic == ZYDIS_MNEMONIC_CALL)) {
        uint64_t slot = ac_abs(&in, op, tramp_pc + off);
        if (slot >= tramp_pc && slot + 8 <= tramp_pc + t->len)
            return ac_quad(t->bytes + (slot - tramp_pc));
    }
    return 0;
}

/* Where a jump to original address a must go from the trampoline: the copy of a
 * patched instruction (or of the first one, for the kept endbr64 at the entry),
 * else a. */
static uint64_t ac_map(const chook_arch_code *c, const chook_arch_plan *p,
                       const chook_arch_tramp *t, uintptr_t tramp_pc, uint64_t a)
{
    uintptr_t lo = c->pc + p->skip;
    if (a == c->pc && p->skip) return tramp_pc + t->insn_off[0];
    for (unsigned i = 0; i < p->n_insns; i++)
        if (a == lo + p->insn_off[i]) return tramp_pc + t->insn_off[i];
    return a;
}

#define AC_FAIL(...) do { snprintf(why, whylen, __VA_ARGS__); return 0; } while (0)

/* Returns 1 when the trampoline does what the patched instructions did. */
static int arch_check_tramp(const chook_arch_code *code, const chook_arch_plan *p,
                            const chook_arch_tramp *t, uintptr_t tramp_pc,
                            char *why, size_t whylen)
{
    uintptr_t lo = code->pc + p->skip;
    for (unsigned i = 0; i < p->n_insns; i++) {
        size_t o = p->skip + p->insn_off[i], c = t->insn_off[i];
        size_t cend = t->insn_off[i + 1];
        uintptr_t opc = code->pc + o, cpc = tramp_pc + c;
        ac_insn oi, ci;
        const ZydisDecodedOperand *op;
        if (!ac_decode(code->bytes + o, code->avail - o, &oi)) AC_FAIL("insn %u: no decode", i);
        if (cend <= c || cend > t->len) AC_FAIL("insn %u: copy extent %zu..%zu", i, c, cend);
        if (!ac_decode(t->bytes + c, cend - c, &ci)) AC_FAIL("insn %u: copy does not decode", i);
        if ((op = ac_rel(&oi)) != NULL) {
            uint64_t want = ac_abs(&oi, op, opc), got;
            ZydisMnemonic m = ZYDIS_MNEMONIC_INVALID;
            /* Jumps into the patched bytes (or onto the kept endbr64) go to copies;
             * calls keep their target. */
            if (oi.zi.mnemonic != ZYDIS_MNEMONIC_CALL) want = ac_map(code, p, t, tramp_pc, want);
            if (ac_is_loop(oi.zi.mnemonic)) {
                /* loop +2 lands on the jump after the jmp short. */
                if (ci.zi.mnemonic != oi.zi.mnemonic || ci.zi.length != oi.zi.length ||
                    ac_dest(t, tramp_pc, c, NULL) != cpc + ci.zi.length + 2)
                    AC_FAIL("insn %u: loop copy is not '%s +2'", i,
                            ZydisMnemonicGetString(oi.zi.mnemonic));
                got = ac_dest(t, tramp_pc, c + ci.zi.length + 2, &m);
            } else if (oi.zi.meta.category == ZYDIS_CATEGORY_COND_BR &&
                       ci.zi.mnemonic != oi.zi.mnemonic) {
                /* Far jcc: the inverted condition skips an absolute jump. */
                if (ci.zi.length != 2 || ac_dest(t, tramp_pc, c, NULL) != cpc + 16)
                    AC_FAIL("insn %u: far jcc copy is not an inverted skip", i);
                got = ac_dest(t, tramp_pc, c + 2, &m);
            } else {
                got = ac_dest(t, tramp_pc, c, &m);
                if (m != oi.zi.mnemonic) AC_FAIL("insn %u: copy is '%s', not '%s'", i,
                                                 ZydisMnemonicGetString(m),
                                                 ZydisMnemonicGetString(oi.zi.mnemonic));
            }
            if (got != want)
                AC_FAIL("insn %u: copy goes to 0x%llx, original to 0x%llx", i,
                        (unsigned long long)got, (unsigned long long)want);
        } else if ((op = ac_ripmem(&oi)) != NULL) {
            uint64_t want = ac_abs(&oi, op, opc);
            const ZydisDecodedOperand *cop = ac_ripmem(&ci);
            if (cop) {
                if (ci.zi.mnemonic != oi.zi.mnemonic || ci.zi.length != oi.zi.length)
                    AC_FAIL("insn %u: copy differs in form", i);
                if (ac_abs(&ci, cop, cpc) != want)
                    AC_FAIL("insn %u: copy refers to 0x%llx, original to 0x%llx", i,
                            (unsigned long long)ac_abs(&ci, cop, cpc),
                            (unsigned long long)want);
            } else if (ci.zi.mnemonic != ZYDIS_MNEMONIC_MOV ||
                       ci.ops[0].reg.value != oi.ops[0].reg.value ||
                       ci.ops[1].type != ZYDIS_OPERAND_TYPE_IMMEDIATE ||
                       ci.ops[1].imm.value.u != want) {
                AC_FAIL("insn %u: absolute form does not load 0x%llx", i,
                        (unsigned long long)want);
            } else if (oi.zi.mnemonic == ZYDIS_MNEMONIC_MOV) {
                /* mov r64, [rip+x] becomes mov r64, imm64; mov r64, [r64]. */
                ac_insn li;
                size_t l = c + ci.zi.length;
                if (!ac_decode(t->bytes + l, cend - l, &li) || li.zi.mnemonic != ZYDIS_MNEMONIC_MOV ||
                    l + li.zi.length != cend || li.ops[1].type != ZYDIS_OPERAND_TYPE_MEMORY ||
                    li.ops[1].mem.base != oi.ops[0].reg.value ||
                    li.ops[1].mem.index != ZYDIS_REGISTER_NONE || li.ops[1].mem.disp.value != 0 ||
                    li.ops[0].reg.value != oi.ops[0].reg.value)
                    AC_FAIL("insn %u: absolute form does not load through the register", i);
            }
        } else if (cend - c != oi.zi.length ||
                   memcmp(t->bytes + c, code->bytes + o, oi.zi.length) != 0) {
            AC_FAIL("insn %u: position-independent copy differs", i);
        }
    }
    if (p->ends_function) {
        if (t->insn_off[p->n_insns] != t->len) AC_FAIL("code after a function end");
    } else {
        ZydisMnemonic m = ZYDIS_MNEMONIC_INVALID;
        uint64_t back = ac_dest(t, tramp_pc, t->insn_off[p->n_insns], &m);
        if (m != ZYDIS_MNEMONIC_JMP || back != lo + p->patch_len)
            AC_FAIL("jump back goes to 0x%llx, not 0x%llx", (unsigned long long)back,
                    (unsigned long long)(lo + p->patch_len));
    }
    return 1;
}

#undef AC_FAIL

#endif /* CHOOK_TEST_ARCH_CHECK_H */
