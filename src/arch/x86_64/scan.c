/*
 * Branch scans: linear sweeps with Zydis looking for direct branches.
 *
 * The branch-into scan sweeps one function looking for a direct branch, from
 * outside the bytes a patch overwrites, to a byte strictly inside them (such a
 * branch would land in the middle of the written jump), and for a back edge: a
 * jump (not a call) to the entry, which would run the hook again on every turn of
 * the loop.
 *
 * Where that sweep stops: at the symbol end when it is known; otherwise at the
 * first instruction that does not decode, the end of the readable bytes, or
 * padding right after an instruction that never falls through (the next function
 * starts after it), and never past SCAN_LIMIT bytes. Indirect branches (jump
 * tables) cannot be seen by a sweep; compilers do not aim them at a prologue.
 *
 * The module sweep (chook_arch_sweep_branches) reports every direct branch of a
 * range of code, for the core's per-module index of branch targets; the boundary
 * walk (chook_arch_insn_boundary) says whether an address inside a function is
 * the start of one of its instructions.
 */
#include "chook.h"
#include "x86.h"

#define SCAN_LIMIT 4096

int chook_arch_scan_function(const chook_arch_code *code, uintptr_t lo, uintptr_t hi,
                             uintptr_t entry, chook_arch_scan *out)
{
    size_t end, pos = 0;
    int after_end = 0, found = 0;

    if (out) *out = (chook_arch_scan){0};
    if (!code || !code->bytes || !out || lo >= hi) return 0;
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
        if ((a < lo || a >= hi) && chook__x86_direct_target_lite(&in, &t)) {
            if (!(found & CHOOK_ARCH_SCAN_INTO) && t > lo && t < hi) {
                out->into_from = a;
                out->into_to = t;
                found |= CHOOK_ARCH_SCAN_INTO;
            }
            /* A call of the entry is recursion: a real call, hooked as such. */
            if (!(found & CHOOK_ARCH_SCAN_BACK) && entry && (t == entry || t == lo) &&
                in.zi.meta.category != ZYDIS_CATEGORY_CALL) {
                out->back_from = a;
                out->back_to = t;
                found |= CHOOK_ARCH_SCAN_BACK;
            }
            if (found == (CHOOK_ARCH_SCAN_INTO | (entry ? CHOOK_ARCH_SCAN_BACK : 0))) break;
        }
        pos += in.zi.length;
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
    ZydisDecoder dec;
    size_t pos = 0;

    if (!code || !code->bytes || !fn) return 0;
    if (until > code->avail) until = code->avail;
    if (!ZYAN_SUCCESS(ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64)))
        return until;
    /* Minimal mode: no operand details, only what a length and a relative
     * immediate need (the sweep covers whole libraries). */
    ZydisDecoderEnableMode(&dec, ZYDIS_DECODER_MODE_MINIMAL, ZYAN_TRUE);
    while (pos < until) {
        ZydisDecodedInstruction zi;
        if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&dec, NULL, code->bytes + pos,
                                                        code->avail - pos, &zi))) {
            /* Not code (or cut off): step over one byte; x86 decoding falls back
             * into step within a few instructions. */
            pos++;
            continue;
        }
        if (zi.raw.imm[0].is_relative) {
            uintptr_t a = code->pc + pos;
            fn(data, a, a + zi.length + (uintptr_t)(intptr_t)zi.raw.imm[0].value.s,
               zi.meta.category == ZYDIS_CATEGORY_CALL);
        }
        pos += zi.length;
    }
    return pos;
}

int chook_arch_insn_boundary(const chook_arch_code *code, uintptr_t addr,
                             uintptr_t *insn, size_t *len)
{
    size_t pos = 0;

    if (!code || !code->bytes || addr < code->pc) return -1;
    while (code->pc + pos < addr) {
        chook__x86_insn in;
        if (pos >= code->avail ||
            !chook__x86_decode_lite(code->bytes + pos, code->avail - pos, code->pc + pos, &in))
            return -1;
        if (code->pc + pos + in.zi.length > addr) {
            if (insn) *insn = code->pc + pos;
            if (len) *len = in.zi.length;
            return 0;
        }
        pos += in.zi.length;
    }
    return 1;
}

const char *chook_arch_insn_name(const uint8_t *bytes, size_t avail, uintptr_t pc)
{
    chook__x86_insn in;
    if (!bytes || !chook__x86_decode_lite(bytes, avail, pc, &in)) return "?";
    return chook__x86_name(&in);
}
