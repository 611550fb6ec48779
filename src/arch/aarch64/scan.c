/*
 * The branch-into scan: a linear sweep over the function looking for a direct
 * branch (b, bl, b.cond, cbz/cbnz, tbz/tbnz), from outside the bytes a patch
 * overwrites, to a word strictly inside them. Such a branch would land in the
 * middle of the written jump (a far jump's br or .quad).
 *
 * Where the sweep stops: at the symbol end when it is known; otherwise at the
 * first unallocated word, the end of the readable bytes, or padding right after
 * an instruction that never falls through (the next function starts after it),
 * and never past SCAN_LIMIT bytes. Indirect branches (jump tables) cannot be seen
 * by a sweep; compilers do not aim them at a prologue.
 */
#include "chook.h"
#include "a64.h"

#define SCAN_LIMIT 4096

int chook_arch_scan_function(const chook_arch_code *code, uintptr_t lo, uintptr_t hi,
                             uintptr_t entry, chook_arch_scan *out)
{
    size_t end, pos = 0;
    int after_end = 0, found = 0;

    if (out) *out = (chook_arch_scan){0};
    if (!code || !code->bytes || !out || lo >= hi || (code->pc & 3)) return 0;
    end = code->avail;
    if (code->func_end > code->pc && code->func_end - code->pc < end)
        end = (size_t)(code->func_end - code->pc);
    else if (code->func_end <= code->pc && end > SCAN_LIMIT)
        end = SCAN_LIMIT;

    while (pos + CHOOK_A64_INSN <= end) {
        chook__a64_insn in;
        uintptr_t a = code->pc + pos, t;
        if (!chook__a64_decode_at(code->bytes + pos, end - pos, a, &in)) break;
        if (code->func_end <= code->pc) {
            /* Without a symbol size, padding after a function end ends the sweep. */
            if (after_end && chook__a64_is_padding(&in)) break;
            after_end = !chook__a64_falls_through(&in);
        }
        if ((a < lo || a >= hi) && chook__a64_direct_target(&in, &t)) {
            if (!(found & CHOOK_ARCH_SCAN_INTO) && t > lo && t < hi) {
                out->into_from = a;
                out->into_to = t;
                found |= CHOOK_ARCH_SCAN_INTO;
            }
            /* A bl of the entry is recursion: a real call, hooked as such. */
            if (!(found & CHOOK_ARCH_SCAN_BACK) && entry && (t == entry || t == lo) &&
                in.kind != CHOOK_A64_BL) {
                out->back_from = a;
                out->back_to = t;
                found |= CHOOK_ARCH_SCAN_BACK;
            }
            if (found == (CHOOK_ARCH_SCAN_INTO | (entry ? CHOOK_ARCH_SCAN_BACK : 0))) break;
        }
        pos += CHOOK_A64_INSN;
    }
    return found;
}

int chook_arch_find_branch_into(const chook_arch_code *code, uintptr_t lo,
                                uintptr_t hi, uintptr_t *from, uintptr_t *to)
{
    chook_arch_scan s;
    if (!(chook_arch_scan_function(code, lo, hi, 0, &s) & CHOOK_ARCH_SCAN_INTO)) return 0;
    if (from) *from = s.into_from;
    if (to) *to = s.into_to;
    return 1;
}

size_t chook_arch_sweep_branches(const chook_arch_code *code, size_t until,
                                 chook_arch_branch_fn fn, void *data)
{
    size_t pos = 0;

    if (!code || !code->bytes || !fn) return 0;
    if (until > code->avail) until = code->avail;
    /* Instructions are 4-byte words at 4-byte addresses: start at the first. */
    pos = (size_t)((4 - (code->pc & 3)) & 3);
    while (pos < until) {
        chook__a64_insn in;
        uintptr_t t;
        /* An unallocated word is data: step over it. */
        if (chook__a64_decode_at(code->bytes + pos, code->avail - pos, code->pc + pos, &in) &&
            chook__a64_direct_target(&in, &t))
            fn(data, code->pc + pos, t, in.kind == CHOOK_A64_BL);
        pos += CHOOK_A64_INSN;
    }
    return pos < code->avail ? pos : code->avail;
}

int chook_arch_insn_boundary(const chook_arch_code *code, uintptr_t addr,
                             uintptr_t *insn, size_t *len)
{
    if (!code || !code->bytes || addr < code->pc || (code->pc & 3)) return -1;
    if (addr & 3) {
        if (insn) *insn = addr & ~(uintptr_t)3;
        if (len) *len = CHOOK_A64_INSN;
        return 0;
    }
    return 1;
}

const char *chook_arch_insn_name(const uint8_t *bytes, size_t avail, uintptr_t pc)
{
    chook__a64_insn in;
    if (!bytes || !chook__a64_decode_at(bytes, avail, pc, &in) || !in.name) return "?";
    return in.name;
}
