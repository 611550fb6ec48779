/*
 * Planning a patch on x86-64: which whole instructions the jump overwrites, the
 * endbr64 kept at the entry, and the padding a short function may lend.
 *
 * Rules (each failure names the rule in its message):
 *   1. An endbr64 at the entry stays: indirect calls must still land on it.
 *   2. The patch covers whole instructions until it has `need` bytes.
 *   3. An instruction that never falls through (ret, jmp, ud2, int3, hlt) ends
 *      the function. If the patch is still short there, the rest may only come
 *      from padding (int3 or any nop) that lies at or after the function's symbol
 *      end and before the next symbol (or, when that is unknown, before the next
 *      16-byte boundary). Otherwise the function is too short.
 *   4. Nothing may be relocated that depends on its own address in a way the
 *      relocator cannot rewrite (xbegin, a call into the patched bytes as in the
 *      call/pop idiom, a branch into the middle of a patched instruction).
 *   5. The patch never overwrites the start of another symbol.
 */
#include <stdio.h>

#include "chook.h"
#include "x86.h"

/* Builds the message of a too-short function: how many bytes it has and why no
 * padding could be used. */
static int too_short(const chook_arch_code *code, size_t skip, size_t need,
                     const chook__x86_insn *last, const char *why,
                     char *err, size_t errlen)
{
    size_t end = (size_t)(last->pc + last->zi.length - code->pc);
    return chook__x86_err(CHOOK_ETOOSHORT, err, errlen,
                          "function has only %zu byte%s%s (it ends with '%s' at +%zu) "
                          "and %s: the jump needs %zu",
                          end - skip, end - skip == 1 ? "" : "s", skip ? " after its endbr64" : "",
                          chook__x86_name(last), (size_t)(last->pc - code->pc), why, need);
}

/* Rule 3: takes padding after the function's last instruction `last` (which
 * ends at offset pos) until the patch has `need` bytes. */
static int take_padding(const chook_arch_code *code, chook_arch_plan *plan, size_t need,
                        size_t pos, uintptr_t func_end, uintptr_t next_start,
                        const chook__x86_insn *last, char *err, size_t errlen)
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
    limit = next_start ? next_start : CHOOK_X86_ALIGN16(fend);
    while (p - plan->skip < need) {
        chook__x86_insn pad;
        size_t room = code->pc + p < limit ? (size_t)(limit - (code->pc + p)) : 0;
        if (room > code->avail - p) room = code->avail - p;
        if (room == 0 || !chook__x86_decode(code->bytes + p, room, code->pc + p, &pad) ||
            !chook__x86_is_padding(&pad)) {
            if (code->pc + p >= limit)
                snprintf(why, sizeof why, "only %zu byte%s of padding before %s at +%zu",
                         p - pos, p - pos == 1 ? "" : "s", next_start ? "the next symbol" : "the next 16-byte boundary",
                         (size_t)(limit - code->pc));
            else if (p == pos)
                snprintf(why, sizeof why, "no padding after it");
            else
                snprintf(why, sizeof why, "only %zu byte%s of padding after it", p - pos,
                         p - pos == 1 ? "" : "s");
            return too_short(code, plan->skip, need, last, why, err, errlen);
        }
        p += pad.zi.length;
    }
    plan->padding_len = p - pos;
    return CHOOK_OK;
}

int chook__x86_check_insns(const chook_arch_code *code, const chook_arch_plan *plan,
                           const chook__x86_insn *ins, char *err, size_t errlen)
{
    uintptr_t lo = code->pc + plan->skip;
    uintptr_t insn_end = lo + plan->insn_off[plan->n_insns];
    uintptr_t patch_end = lo + plan->patch_len;

    for (unsigned i = 0; i < plan->n_insns; i++) {
        const chook__x86_insn *in = &ins[i];
        size_t at = (size_t)(in->pc - code->pc);
        uintptr_t t;
        enum chook__x86_kind k = chook__x86_classify(in, &t);

        if (k == CHOOK_X86_UNRELOC)
            return chook__x86_err(CHOOK_EUNRELOC, err, errlen,
                                  "instruction '%s' at +%zu cannot be relocated",
                                  chook__x86_name(in), at);
        if (k == CHOOK_X86_RIPREL || k == CHOOK_X86_PLAIN) continue;
        /* A call into the patched bytes (or to the very next instruction) reads its
         * own return address, as in the call/pop idiom: moved, it would see the
         * trampoline's. A call of the entry itself is recursion and stays one. */
        if (k == CHOOK_X86_CALL && t > lo && t <= insn_end)
            return chook__x86_err(CHOOK_EUNRELOC, err, errlen,
                                  "instruction 'call' at +%zu calls +%zu inside the "
                                  "patched bytes and cannot be relocated",
                                  at, (size_t)(t - code->pc));
        if (k == CHOOK_X86_CALL) continue;
        if (t >= insn_end && t < patch_end)
            return chook__x86_err(CHOOK_ETOOSHORT, err, errlen,
                                  "instruction '%s' at +%zu jumps to +%zu: the bytes "
                                  "after the function's end are code, not padding",
                                  chook__x86_name(in), at, (size_t)(t - code->pc));
        /* Into the kept endbr64 only at its first byte (which then goes to the
         * first copy); anywhere else inside a patched instruction is refused. */
        if (t > code->pc && t < lo)
            return chook__x86_err(CHOOK_EUNRELOC, err, errlen,
                                  "instruction '%s' at +%zu jumps into the middle of "
                                  "the endbr64 at +0 and cannot be relocated",
                                  chook__x86_name(in), at);
        if (t > lo && t < insn_end) {
            int boundary = 0;
            for (unsigned j = 0; j < plan->n_insns; j++)
                if (lo + plan->insn_off[j] == t) boundary = 1;
            if (!boundary)
                return chook__x86_err(CHOOK_EUNRELOC, err, errlen,
                                      "instruction '%s' at +%zu jumps into the middle of "
                                      "a patched instruction (+%zu) and cannot be relocated",
                                      chook__x86_name(in), at, (size_t)(t - code->pc));
        }
    }
    return CHOOK_OK;
}

int chook_arch_plan_patch(const chook_arch_code *code, size_t need,
                          chook_arch_plan *plan, char *err, size_t errlen)
{
    chook__x86_insn ins[CHOOK_ARCH_MAX_INSNS];
    uintptr_t func_end, next_start;
    size_t pos = 0;
    int ends = 0;

    if (!code || !code->bytes || !plan || need == 0 || need > CHOOK_ARCH_MAX_PATCH)
        return chook__x86_err(CHOOK_EINVAL, err, errlen,
                              "invalid plan request (need %zu bytes)", need);
    *plan = (chook_arch_plan){0};
    /* A symbol end or next start at or before the entry says nothing. */
    func_end = code->func_end > code->pc ? code->func_end : 0;
    next_start = code->next_start > code->pc ? code->next_start : 0;

    /* Rule 1. */
    if (chook__x86_decode(code->bytes, code->avail, code->pc, &ins[0]) &&
        ins[0].zi.mnemonic == ZYDIS_MNEMONIC_ENDBR64)
        pos = plan->skip = ins[0].zi.length;

    /* Rule 2. */
    while (pos - plan->skip < need) {
        chook__x86_insn *in = &ins[plan->n_insns];
        if (plan->n_insns == CHOOK_ARCH_MAX_INSNS)
            return chook__x86_err(CHOOK_EUNRELOC, err, errlen,
                                  "the first %zu bytes hold more than %d instructions",
                                  need, CHOOK_ARCH_MAX_INSNS);
        if (pos >= code->avail || !chook__x86_decode(code->bytes + pos, code->avail - pos,
                                                     code->pc + pos, in)) {
            char hex[3 * 4 + 1] = "";
            for (size_t i = 0; i < 4 && pos + i < code->avail; i++)
                snprintf(hex + 3 * i, sizeof hex - 3 * i, " %02x", code->bytes[pos + i]);
            return chook__x86_err(CHOOK_EDECODE, err, errlen,
                                  "the bytes at +%zu (%s%s) do not decode as an instruction",
                                  pos, hex[0] ? hex + 1 : "none readable",
                                  pos + 4 < code->avail ? " ..." : "");
        }
        if (func_end && code->pc + pos + in->zi.length > func_end)
            return chook__x86_err(CHOOK_ETOOSHORT, err, errlen,
                                  "function has only %zu byte%s (symbol size) and never "
                                  "ends with ret or jmp in them: the jump needs %zu",
                                  (size_t)(func_end - code->pc - plan->skip),
                                  func_end - code->pc - plan->skip == 1 ? "" : "s", need);
        plan->insn_off[plan->n_insns++] = (uint8_t)(pos - plan->skip);
        pos += in->zi.length;
        if (!chook__x86_falls_through(in)) {
            ends = 1;
            break;
        }
    }
    plan->insn_off[plan->n_insns] = (uint8_t)(pos - plan->skip);
    plan->ends_function = ends;

    /* Rule 3. */
    if (pos - plan->skip < need)
        CHOOK_X86_CHECK(take_padding(code, plan, need, pos, func_end, next_start,
                                     &ins[plan->n_insns - 1], err, errlen));
    plan->patch_len = pos - plan->skip + plan->padding_len;

    /* Rule 4. */
    CHOOK_X86_CHECK(chook__x86_check_insns(code, plan, ins, err, errlen));

    /* Rule 5. */
    if (next_start && next_start > code->pc + plan->skip &&
        next_start < code->pc + plan->skip + plan->patch_len)
        return chook__x86_err(CHOOK_ETOOSHORT, err, errlen,
                              "the jump would overwrite the start of the next symbol at "
                              "+%zu: the function has only %zu byte%s",
                              (size_t)(next_start - code->pc),
                              (size_t)(next_start - code->pc - plan->skip),
                              next_start - code->pc - plan->skip == 1 ? "" : "s");
    return CHOOK_OK;
}
