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

int chook_arch_find_branch_into(const chook_arch_code *code, uintptr_t lo,
                                uintptr_t hi, uintptr_t *from, uintptr_t *to)
{
    size_t end, pos = 0;
    int after_end = 0;

    if (!code || !code->bytes || lo >= hi || (code->pc & 3)) return 0;
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
        if ((a < lo || a >= hi) && chook__a64_direct_target(&in, &t) && t > lo && t < hi) {
            if (from) *from = a;
            if (to) *to = t;
            return 1;
        }
        pos += CHOOK_A64_INSN;
    }
    return 0;
}
