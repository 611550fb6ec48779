/*
 * libFuzzer target for the x86-64 planner, relocator and branch-into scan.
 *
 * Input: pc (8 bytes), tramp_pc (8), a control byte, then the code. Whatever the
 * bytes, planning and relocation must not crash, a plan must be self-consistent,
 * and a trampoline must do what the patched instructions did (arch_check.h:
 * same operations, same absolute branch targets and rip-relative addresses, the
 * jump back to the right place). Any mismatch traps.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arch.h"
#include "chook.h"
#include "../arch_check.h"

#define USER_MASK ((uint64_t)0x7fffffffffff) /* canonical user-space addresses */

static uint64_t take64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void check_plan(const chook_arch_code *c, size_t need, const chook_arch_plan *p)
{
    if (p->patch_len < need || p->patch_len > CHOOK_ARCH_MAX_PATCH) __builtin_trap();
    if (p->skip + p->patch_len > c->avail) __builtin_trap();
    if (p->n_insns == 0 || p->n_insns > CHOOK_ARCH_MAX_INSNS) __builtin_trap();
    if (p->insn_off[0] != 0) __builtin_trap();
    for (unsigned i = 0; i < p->n_insns; i++)
        if (p->insn_off[i + 1] <= p->insn_off[i]) __builtin_trap();
    if (p->insn_off[p->n_insns] + p->padding_len != p->patch_len) __builtin_trap();
    if (p->padding_len && !p->ends_function) __builtin_trap();
    /* Padding is only int3 and nops. */
    for (size_t o = p->insn_off[p->n_insns]; o < p->patch_len;) {
        ac_insn in;
        size_t at = p->skip + o;
        if (!ac_decode(c->bytes + at, c->avail - at, &in)) __builtin_trap();
        if (in.zi.mnemonic != ZYDIS_MNEMONIC_NOP && in.zi.mnemonic != ZYDIS_MNEMONIC_INT3)
            __builtin_trap();
        o += in.zi.length;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    chook_arch_code c;
    chook_arch_plan p;
    chook_arch_tramp t;
    char err[CHOOK_ARCH_ERRLEN], why[256];
    uintptr_t pc, tramp_pc, from, to;
    uint8_t ctl;
    size_t need;
    int st;

    if (size < 17) return 0;
    pc = (uintptr_t)(take64(data) & USER_MASK);
    tramp_pc = (uintptr_t)(take64(data + 8) & USER_MASK);
    ctl = data[16];
    data += 17;
    size -= 17;
    /* Near trampolines are the common case: most inputs get one within reach. */
    if ((ctl & 3) == 0) tramp_pc = pc + (uintptr_t)(int64_t)(int32_t)(uint32_t)tramp_pc;
    else if ((ctl & 3) == 1) tramp_pc = pc + 0x7fff0000u - (tramp_pc & 0xffff);
    tramp_pc &= USER_MASK;
    need = (ctl & 4) ? 14 : 5;

    c = (chook_arch_code){ .bytes = data, .avail = size, .pc = pc };
    if (ctl & 8) c.func_end = pc + (ctl >> 4);
    if (ctl & 0x80) c.next_start = ((pc + size + 15) & ~(uintptr_t)15);

    if (chook_arch_find_branch_into(&c, pc + 2, pc + 9, &from, &to) &&
        ((from >= pc + 2 && from < pc + 9) || to <= pc + 2 || to >= pc + 9))
        __builtin_trap();

    err[0] = 0;
    st = chook_arch_plan_patch(&c, need, &p, err, sizeof err);
    if (st != CHOOK_OK) {
        if (st != CHOOK_EDECODE && st != CHOOK_ETOOSHORT && st != CHOOK_EUNRELOC)
            __builtin_trap();
        if (!err[0]) __builtin_trap();
        return 0;
    }
    check_plan(&c, need, &p);

    /* The chosen trampoline address, then one out of rel32 reach of everything. */
    for (int round = 0; round < 2; round++) {
        uintptr_t at = round ? (pc + ((uintptr_t)1 << 45)) & USER_MASK : tramp_pc;
        st = chook_arch_relocate(&c, &p, at, &t, err, sizeof err);
        if (st != CHOOK_OK) {
            /* Only an operand out of reach of the trampoline may fail now. */
            if (st != CHOOK_EUNRELOC || !strstr(err, "out of rel32 reach")) __builtin_trap();
            continue;
        }
        if (t.len > CHOOK_ARCH_MAX_TRAMP) __builtin_trap();
        if (!arch_check_tramp(&c, &p, &t, at, why, sizeof why)) __builtin_trap();
    }
    return 0;
}
