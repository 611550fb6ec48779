/*
 * The branch-into scan: a linear sweep over the function looking for a direct
 * branch, from outside the bytes a patch overwrites, to a byte strictly inside
 * them. Such a branch would land in the middle of the written jump.
 *
 * Where the sweep stops: at the symbol end when it is known; otherwise at the
 * first instruction that does not decode, the end of the readable bytes, or
 * padding right after an instruction that never falls through (the next function
 * starts after it), and never past SCAN_LIMIT bytes. Indirect branches (jump
 * tables) cannot be seen by a sweep; compilers do not aim them at a prologue.
 */
#include "chook.h"
#include "x86.h"

#define SCAN_LIMIT 4096

int chook_arch_find_branch_into(const chook_arch_code *code, uintptr_t lo,
                                uintptr_t hi, uintptr_t *from, uintptr_t *to)
{
    size_t end, pos = 0;
    int after_end = 0;

    if (!code || !code->bytes || lo >= hi) return 0;
    end = code->avail;
    if (code->func_end > code->pc && code->func_end - code->pc < end)
        end = (size_t)(code->func_end - code->pc);
    else if (code->func_end <= code->pc && end > SCAN_LIMIT)
        end = SCAN_LIMIT;

    while (pos < end) {
        chook__x86_insn in;
        uintptr_t a = code->pc + pos, t;
        if (!chook__x86_decode_lite(code->bytes + pos, end - pos, a, &in)) break;
        if (code->func_end <= code->pc) {
            /* Without a symbol size, padding after a function end ends the sweep. */
            if (after_end && chook__x86_is_padding(&in)) break;
            after_end = !chook__x86_falls_through(&in);
        }
        if ((a < lo || a >= hi) && chook__x86_direct_target_lite(&in, &t) && t > lo && t < hi) {
            if (from) *from = a;
            if (to) *to = t;
            return 1;
        }
        pos += in.zi.length;
    }
    return 0;
}
