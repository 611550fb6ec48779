/*
 * Decoding and classifying single x86-64 instructions with Zydis: everything the
 * planner, the relocator and the branch scan need to know about one instruction.
 */
#include <stdarg.h>
#include <stdio.h>

#include "chook.h"
#include "x86.h"

int chook__x86_decode(const uint8_t *bytes, size_t avail, uintptr_t pc,
                      chook__x86_insn *out)
{
    ZydisDecoder dec;
    if (!ZYAN_SUCCESS(ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64,
                                       ZYDIS_STACK_WIDTH_64)))
        return 0;
    if (avail == 0) return 0;
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, bytes, avail, &out->zi, out->ops)))
        return 0;
    out->bytes = bytes;
    out->pc = pc;
    return 1;
}

int chook__x86_decode_lite(const uint8_t *bytes, size_t avail, uintptr_t pc,
                           chook__x86_insn *out)
{
    ZydisDecoder dec;
    if (avail == 0 ||
        !ZYAN_SUCCESS(ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64)))
        return 0;
    /* No decoder context: the operands are not decoded (about half the work). */
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&dec, NULL, bytes, avail, &out->zi)))
        return 0;
    out->bytes = bytes;
    out->pc = pc;
    return 1;
}

int chook__x86_direct_target_lite(const chook__x86_insn *in, uintptr_t *target)
{
    /* Direct branches carry their displacement as the first, relative immediate:
     * the target is the end of the instruction plus it. */
    if (!in->zi.raw.imm[0].is_relative) return 0;
    *target = in->pc + in->zi.length + (uintptr_t)(intptr_t)in->zi.raw.imm[0].value.s;
    return 1;
}

/* The relative immediate operand of a direct branch, or NULL. */
static const ZydisDecodedOperand *rel_imm(const chook__x86_insn *in)
{
    for (unsigned i = 0; i < in->zi.operand_count; i++) {
        const ZydisDecodedOperand *op = &in->ops[i];
        if (op->type == ZYDIS_OPERAND_TYPE_IMMEDIATE && op->imm.is_relative) return op;
    }
    return NULL;
}

/* The memory operand based on rip or eip, or NULL. */
static const ZydisDecodedOperand *ip_mem(const chook__x86_insn *in)
{
    for (unsigned i = 0; i < in->zi.operand_count; i++) {
        const ZydisDecodedOperand *op = &in->ops[i];
        if (op->type == ZYDIS_OPERAND_TYPE_MEMORY &&
            (op->mem.base == ZYDIS_REGISTER_RIP || op->mem.base == ZYDIS_REGISTER_EIP))
            return op;
    }
    return NULL;
}

int chook__x86_direct_target(const chook__x86_insn *in, uintptr_t *target)
{
    const ZydisDecodedOperand *op = rel_imm(in);
    ZyanU64 t;
    if (!op || !ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&in->zi, op, in->pc, &t)))
        return 0;
    *target = (uintptr_t)t;
    return 1;
}

static int is_loop_family(ZydisMnemonic m)
{
    return m == ZYDIS_MNEMONIC_LOOP || m == ZYDIS_MNEMONIC_LOOPE ||
           m == ZYDIS_MNEMONIC_LOOPNE || m == ZYDIS_MNEMONIC_JRCXZ ||
           m == ZYDIS_MNEMONIC_JECXZ || m == ZYDIS_MNEMONIC_JCXZ;
}

/* The encodings the relocator knows how to rewrite: jcc is 70+cc rel8 or
 * 0f 80+cc rel32; jmp is eb rel8 or e9 rel32; call is e8 rel32; the loop family is
 * e0..e3 rel8. A branch with a 16-bit displacement (66 prefix, which AMD honours)
 * is not among them. */
static enum chook__x86_kind classify_branch(const chook__x86_insn *in)
{
    const ZydisDecodedInstruction *zi = &in->zi;
    uint8_t op = zi->opcode;
    int legacy = zi->encoding == ZYDIS_INSTRUCTION_ENCODING_LEGACY;
    int map0 = zi->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT;
    int map0f = zi->opcode_map == ZYDIS_OPCODE_MAP_0F;
    uint8_t size = zi->raw.imm[0].size;

    if (!legacy || (size != 8 && size != 32)) return CHOOK_X86_UNRELOC;
    if (zi->mnemonic == ZYDIS_MNEMONIC_JMP && map0 && (op == 0xeb || op == 0xe9))
        return CHOOK_X86_JMP;
    if (zi->mnemonic == ZYDIS_MNEMONIC_CALL && map0 && op == 0xe8) return CHOOK_X86_CALL;
    if (is_loop_family(zi->mnemonic) && map0 && op >= 0xe0 && op <= 0xe3 && size == 8)
        return CHOOK_X86_LOOP;
    if (zi->meta.category == ZYDIS_CATEGORY_COND_BR &&
        ((map0 && op >= 0x70 && op <= 0x7f) || (map0f && op >= 0x80 && op <= 0x8f)))
        return CHOOK_X86_JCC;
    return CHOOK_X86_UNRELOC; /* xbegin and anything else with a relative operand */
}

enum chook__x86_kind chook__x86_classify(const chook__x86_insn *in, uintptr_t *target)
{
    const ZydisDecodedOperand *op = rel_imm(in);
    ZyanU64 t = 0;
    *target = 0;
    if (op) {
        enum chook__x86_kind k = classify_branch(in);
        if (!ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&in->zi, op, in->pc, &t)))
            return CHOOK_X86_UNRELOC;
        *target = (uintptr_t)t;
        return k;
    }
    op = ip_mem(in);
    if (op) {
        /* eip-relative addressing (67 prefix) wraps at 4 GiB: it cannot be moved
         * to another address in general. */
        if (op->mem.base != ZYDIS_REGISTER_RIP || in->zi.raw.disp.size != 32)
            return CHOOK_X86_UNRELOC;
        if (!ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&in->zi, op, in->pc, &t)))
            return CHOOK_X86_UNRELOC;
        *target = (uintptr_t)t;
        return CHOOK_X86_RIPREL;
    }
    return CHOOK_X86_PLAIN;
}

int chook__x86_falls_through(const chook__x86_insn *in)
{
    switch (in->zi.meta.category) {
    case ZYDIS_CATEGORY_RET:
    case ZYDIS_CATEGORY_UNCOND_BR:
        return 0;
    default:
        break;
    }
    switch (in->zi.mnemonic) {
    case ZYDIS_MNEMONIC_UD0:
    case ZYDIS_MNEMONIC_UD1:
    case ZYDIS_MNEMONIC_UD2:
    case ZYDIS_MNEMONIC_INT3:
    case ZYDIS_MNEMONIC_HLT:
    case ZYDIS_MNEMONIC_IRET:
    case ZYDIS_MNEMONIC_IRETD:
    case ZYDIS_MNEMONIC_IRETQ:
        return 0;
    default:
        return 1;
    }
}

int chook__x86_is_padding(const chook__x86_insn *in)
{
    return in->zi.mnemonic == ZYDIS_MNEMONIC_INT3 || in->zi.mnemonic == ZYDIS_MNEMONIC_NOP;
}

const char *chook__x86_name(const chook__x86_insn *in)
{
    const char *s = ZydisMnemonicGetString(in->zi.mnemonic);
    return s ? s : "?";
}

int chook__x86_err(int status, char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return status;
}

int chook__x86_rel32_fits(uintptr_t next, uintptr_t dest)
{
    int64_t d = (int64_t)(dest - next);
    return d >= INT32_MIN && d <= INT32_MAX;
}

void chook__x86_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

void chook__x86_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
