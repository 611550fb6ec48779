/*
 * Shared pieces of the x86-64 back end: one decoded instruction and what it
 * takes to relocate it. Private to src/arch/x86_64/.
 */
#ifndef CHOOK_X86_H
#define CHOOK_X86_H

#include <stddef.h>
#include <stdint.h>

#include <Zydis/Zydis.h>

#include "arch.h"

/* Early return on a failing status. */
#define CHOOK_X86_CHECK(expr)                                                  \
    do {                                                                       \
        int chook_x86_status_ = (expr);                                        \
        if (chook_x86_status_ != 0) return chook_x86_status_;                  \
    } while (0)

/* The next 16-byte boundary at or after x. */
#define CHOOK_X86_ALIGN16(x) (((x) + 15) & ~(uintptr_t)15)

/* The longest x86 instruction. */
#define CHOOK_X86_MAX_INSN 15

/* One instruction decoded at its runtime address. */
typedef struct chook__x86_insn {
    ZydisDecodedInstruction zi;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    const uint8_t *bytes; /* its bytes (a copy, not necessarily at pc) */
    uintptr_t pc;         /* runtime address of bytes[0] */
} chook__x86_insn;

/* What relocating one instruction takes. */
enum chook__x86_kind {
    CHOOK_X86_PLAIN,   /* does not depend on its address: copied as is */
    CHOOK_X86_RIPREL,  /* rip-relative memory operand: its disp32 is rewritten */
    CHOOK_X86_JMP,     /* jmp rel8 / rel32 */
    CHOOK_X86_JCC,     /* jcc rel8 / rel32 */
    CHOOK_X86_CALL,    /* call rel32 */
    CHOOK_X86_LOOP,    /* loop / loope / loopne / jrcxz / jecxz rel8 */
    CHOOK_X86_UNRELOC, /* depends on its address in a way no rewrite can keep */
};

/* Decodes the instruction at bytes[0..avail) that runs at pc. Returns 1, or 0 when
 * the bytes are not a valid (complete) instruction. */
int chook__x86_decode(const uint8_t *bytes, size_t avail, uintptr_t pc,
                      chook__x86_insn *out);

/* The same without operands (ops[] is not filled): enough for the mnemonic, the
 * category, the length and a direct branch's target (chook__x86_direct_target_lite),
 * at about half the cost. For sweeps over whole functions. */
int chook__x86_decode_lite(const uint8_t *bytes, size_t avail, uintptr_t pc,
                           chook__x86_insn *out);
int chook__x86_direct_target_lite(const chook__x86_insn *in, uintptr_t *target);

/* Classifies an instruction. For branches *target is the branch target, for
 * CHOOK_X86_RIPREL the address the memory operand refers to. */
enum chook__x86_kind chook__x86_classify(const chook__x86_insn *in, uintptr_t *target);

/* 0 when execution never continues with the next instruction (ret, jmp, ud2,
 * int3, hlt): the function may end there. */
int chook__x86_falls_through(const chook__x86_insn *in);

/* 1 for the instructions compilers and assemblers use as padding between
 * functions: int3 and every nop encoding. */
int chook__x86_is_padding(const chook__x86_insn *in);

/* A direct branch (relative immediate): 1 and its target, else 0. */
int chook__x86_direct_target(const chook__x86_insn *in, uintptr_t *target);

/* The instruction's mnemonic, for messages ("xbegin"). */
const char *chook__x86_name(const chook__x86_insn *in);

/* snprintf into an optional err buffer (err may be NULL or errlen 0). Returns
 * status, so callers can write `return chook__x86_err(...)`. */
int chook__x86_err(int status, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Whether dest can be reached by a rel32 field whose instruction ends at next. */
int chook__x86_rel32_fits(uintptr_t next, uintptr_t dest);

/* Checks the planned instructions ins[0..plan->n_insns) against the rules the
 * relocator relies on (nothing unrelocatable, no call into the patched bytes, no
 * branch into the middle of an instruction or into the padding). Returns CHOOK_OK,
 * CHOOK_EUNRELOC or CHOOK_ETOOSHORT with a message. */
int chook__x86_check_insns(const chook_arch_code *code, const chook_arch_plan *plan,
                           const chook__x86_insn *ins, char *err, size_t errlen);

/* Little-endian field writers. */
void chook__x86_put32(uint8_t *p, uint32_t v);
void chook__x86_put64(uint8_t *p, uint64_t v);

#endif /* CHOOK_X86_H */
