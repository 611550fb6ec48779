/*
 * Planning a patch on aarch64: which whole instructions the jump overwrites, the
 * bti kept at the entry, and the padding a short function may lend.
 *
 * Rules (each failure names the rule in its message):
 *   1. A bti at the entry stays: indirect calls must still land on it (on pages
 *      mapped with PROT_BTI, a br/blr to anything but a landing pad faults). A
 *      paciasp is not kept: it signs the return address for the code that
 *      follows, so it is copied with it.
 *   2. The patch covers whole instructions (4 bytes each) until it has `need`.
 *   3. An instruction that never falls through (b, br, ret, brk, udf, ...) ends
 *      the function. If the patch is still short there, the rest may only come
 *      from padding (nop or udf #0) at or after the function's symbol end and
 *      before the next symbol (or, when that is unknown, the next 16-byte
 *      boundary). Otherwise the function is too short.
 *   4. Nothing may be relocated that depends on its address in a way the
 *      relocator cannot rewrite: an exclusive load or store, an unknown branch-
 *      group encoding, a bl into the patched bytes (it reads its own return
 *      address), a literal load from the patched bytes (they change), a branch
 *      into padding the patch uses (it is code after all).
 *   5. The patch never overwrites the start of another symbol.
 */
#include <stdio.h>

#include "chook.h"
#include "a64.h"

static int too_short(const chook_arch_code *code, size_t skip, size_t need,
                     const chook__a64_insn *last, const char *why,
                     char *err, size_t errlen)
{
    size_t end = (size_t)(last->pc + CHOOK_A64_INSN - code->pc);
    return chook__a64_err(CHOOK_ETOOSHORT, err, errlen,
                          "function has only %zu bytes%s (it ends with '%s' at +%zu) "
                          "and %s: the jump needs %zu",
                          end - skip, skip ? " after its bti" : "",
                          last->name, (size_t)(last->pc - code->pc), why, need);
}

/* Rule 3: takes padding after the function's last instruction `last` (which
 * ends at offset pos) until the patch has `need` bytes. */
static int take_padding(const chook_arch_code *code, chook_arch_plan *plan, size_t need,
                        size_t pos, uintptr_t func_end, uintptr_t next_start,
                        const chook__a64_insn *last, char *err, size_t errlen)
{
    uintptr_t fend = code->pc + pos;
    uintptr_t limit;
    size_t p = pos;
    char why[96];

    if (func_end && fend < func_end) {
        snprintf(why, sizeof why, "the function goes on after it (its symbol ends at +%zu)",
                 (size_t)(func_end - code->pc));
        return too_short(code, plan->skip, need, last, why, err, errlen);
    }
    limit = next_start ? next_start : CHOOK_A64_ALIGN16(fend);
    while (p - plan->skip < need) {
        chook__a64_insn pad;
        if (code->pc + p + CHOOK_A64_INSN > limit ||
            !chook__a64_decode_at(code->bytes + p, code->avail - p, code->pc + p, &pad) ||
            !chook__a64_is_padding(&pad)) {
            if (code->pc + p + CHOOK_A64_INSN > limit)
                snprintf(why, sizeof why, "only %zu bytes of padding before %s at +%zu",
                         p - pos, next_start ? "the next symbol" : "the next 16-byte boundary",
                         (size_t)(limit - code->pc));
            else if (p == pos)
                snprintf(why, sizeof why, "no padding after it");
            else
                snprintf(why, sizeof why, "only %zu bytes of padding after it", p - pos);
            return too_short(code, plan->skip, need, last, why, err, errlen);
        }
        p += CHOOK_A64_INSN;
    }
    plan->padding_len = p - pos;
    return CHOOK_OK;
}

int chook__a64_check_insns(const chook_arch_code *code, const chook_arch_plan *plan,
                           const chook__a64_insn *ins, char *err, size_t errlen)
{
    uintptr_t lo = code->pc + plan->skip;
    uintptr_t insn_end = lo + plan->insn_off[plan->n_insns];
    uintptr_t patch_end = lo + plan->patch_len;

    for (unsigned i = 0; i < plan->n_insns; i++) {
        const chook__a64_insn *in = &ins[i];
        size_t at = (size_t)(in->pc - code->pc);
        uintptr_t t = in->target;
        size_t n;

        switch (in->kind) {
        case CHOOK_A64_UNRELOC:
            return chook__a64_err(CHOOK_EUNRELOC, err, errlen,
                                  "instruction '%s' (0x%08x) at +%zu cannot be relocated",
                                  in->name, (unsigned)in->word, at);
        case CHOOK_A64_BL:
            /* A bl into the patched bytes (or to the very next instruction) reads
             * its own return address, as in `bl .+4; mov x0, x30`: moved, it would
             * see the trampoline's. A bl of the entry itself is recursion. */
            if (t > lo && t <= insn_end)
                return chook__a64_err(CHOOK_EUNRELOC, err, errlen,
                                      "instruction 'bl' at +%zu calls +%zu inside the "
                                      "patched bytes and cannot be relocated",
                                      at, (size_t)(t - code->pc));
            break;
        case CHOOK_A64_LDR_LIT:
            n = chook__a64_lit_size(in->lit);
            if (n && t < patch_end && t + n > lo)
                return chook__a64_err(CHOOK_EUNRELOC, err, errlen,
                                      "instruction '%s' at +%zu loads from +%zu, bytes the "
                                      "patch overwrites, and cannot be relocated",
                                      in->name, at, (size_t)(t - code->pc));
            break;
        case CHOOK_A64_B:
        case CHOOK_A64_BCOND:
        case CHOOK_A64_CB:
        case CHOOK_A64_TB:
            if (t >= insn_end && t < patch_end)
                return chook__a64_err(CHOOK_ETOOSHORT, err, errlen,
                                      "instruction '%s' at +%zu jumps to +%zu: the bytes "
                                      "after the function's end are code, not padding",
                                      in->name, at, (size_t)(t - code->pc));
            break;
        default:
            break;
        }
    }
    return CHOOK_OK;
}

int chook_arch_plan_patch(const chook_arch_code *code, size_t need,
                          chook_arch_plan *plan, char *err, size_t errlen)
{
    chook__a64_insn ins[CHOOK_ARCH_MAX_INSNS];
    uintptr_t func_end, next_start;
    size_t pos = 0;
    int ends = 0;

    if (!code || !code->bytes || !plan || need == 0 || need > CHOOK_ARCH_MAX_PATCH ||
        (code->pc & 3))
        return chook__a64_err(CHOOK_EINVAL, err, errlen,
                              "invalid plan request (need %zu bytes at 0x%lx)", need,
                              code ? (unsigned long)code->pc : 0ul);
    *plan = (chook_arch_plan){0};
    func_end = code->func_end > code->pc ? code->func_end : 0;
    next_start = code->next_start > code->pc ? code->next_start : 0;

    /* Rule 1. */
    if (code->avail >= CHOOK_A64_INSN && chook__a64_is_bti(chook__a64_get32(code->bytes)))
        pos = plan->skip = CHOOK_A64_INSN;

    /* Rule 2. */
    while (pos - plan->skip < need) {
        chook__a64_insn *in = &ins[plan->n_insns];
        if (plan->n_insns == CHOOK_ARCH_MAX_INSNS)
            return chook__a64_err(CHOOK_EUNRELOC, err, errlen,
                                  "the first %zu bytes hold more than %d instructions",
                                  need, CHOOK_ARCH_MAX_INSNS);
        if (pos + CHOOK_A64_INSN > code->avail)
            return chook__a64_err(CHOOK_EDECODE, err, errlen,
                                  "only %zu bytes readable at the target: the jump needs %zu",
                                  code->avail - plan->skip, need);
        if (!chook__a64_decode_at(code->bytes + pos, code->avail - pos, code->pc + pos, in))
            return chook__a64_err(CHOOK_EDECODE, err, errlen,
                                  "the word at +%zu (0x%08x) is not an allocated A64 "
                                  "instruction", pos, (unsigned)chook__a64_get32(code->bytes + pos));
        if (func_end && code->pc + pos + CHOOK_A64_INSN > func_end)
            return chook__a64_err(CHOOK_ETOOSHORT, err, errlen,
                                  "function has only %zu bytes (symbol size) and never "
                                  "ends with ret or b in them: the jump needs %zu",
                                  (size_t)(func_end - code->pc - plan->skip), need);
        plan->insn_off[plan->n_insns++] = (uint8_t)(pos - plan->skip);
        pos += CHOOK_A64_INSN;
        if (!chook__a64_falls_through(in)) {
            ends = 1;
            break;
        }
    }
    plan->insn_off[plan->n_insns] = (uint8_t)(pos - plan->skip);
    plan->ends_function = ends;

    /* Rule 3. */
    if (pos - plan->skip < need)
        CHOOK_A64_CHECK(take_padding(code, plan, need, pos, func_end, next_start,
                                     &ins[plan->n_insns - 1], err, errlen));
    plan->patch_len = pos - plan->skip + plan->padding_len;

    /* Rule 4. */
    CHOOK_A64_CHECK(chook__a64_check_insns(code, plan, ins, err, errlen));

    /* Rule 5. */
    if (next_start && next_start > code->pc + plan->skip &&
        next_start < code->pc + plan->skip + plan->patch_len)
        return chook__a64_err(CHOOK_ETOOSHORT, err, errlen,
                              "the jump would overwrite the start of the next symbol at "
                              "+%zu: the function has only %zu bytes",
                              (size_t)(next_start - code->pc),
                              (size_t)(next_start - code->pc - plan->skip));
    return CHOOK_OK;
}
