/*
 * Shared pieces of the aarch64 back end: one decoded instruction, what it takes
 * to relocate it, and the encoders of the instructions the back end emits.
 * Private to src/arch/aarch64/.
 *
 * The decoder is hand-written: each class is a mask/value test on the 32-bit
 * word, taken from the Arm ARM's A64 encoding index. It recognises exactly the
 * classes whose meaning depends on their address (and the few the planner must
 * know: BTI, padding, instructions that never fall through); every other
 * allocated encoding is position-independent and copied as it is.
 */
#ifndef CHOOK_A64_H
#define CHOOK_A64_H

#include <stddef.h>
#include <stdint.h>

#include "arch.h"
#include "target.h"

/* Early return on a failing status. */
#define CHOOK_A64_CHECK(expr)                                                  \
    do {                                                                       \
        int chook_a64_status_ = (expr);                                        \
        if (chook_a64_status_ != 0) return chook_a64_status_;                  \
    } while (0)

/* The next 16-byte boundary at or after x. */
#define CHOOK_A64_ALIGN16(x) (((x) + 15) & ~(uintptr_t)15)

/* What relocating one instruction takes. */
enum chook__a64_kind {
    CHOOK_A64_PLAIN,    /* does not depend on its address: copied as is */
    CHOOK_A64_ADR,      /* adr xd, label           (imm21, +-1 MiB) */
    CHOOK_A64_ADRP,     /* adrp xd, page           (imm21 pages, +-4 GiB) */
    CHOOK_A64_B,        /* b label                 (imm26) */
    CHOOK_A64_BL,       /* bl label                (imm26) */
    CHOOK_A64_BCOND,    /* b.cond / bc.cond label  (imm19) */
    CHOOK_A64_CB,       /* cbz / cbnz rt, label    (imm19) */
    CHOOK_A64_TB,       /* tbz / tbnz rt, #b, label (imm14) */
    CHOOK_A64_LDR_LIT,  /* ldr wt/xt/st/dt/qt, ldrsw xt, prfm (literal) (imm19) */
    CHOOK_A64_UNRELOC,  /* depends on its address, or on staying next to other
                           instructions, in a way no rewrite can keep */
};

/* The load a literal instruction does (CHOOK_A64_LDR_LIT), from opc:V. */
enum chook__a64_lit {
    CHOOK_A64_LIT_W,     /* ldr wt    4 bytes */
    CHOOK_A64_LIT_X,     /* ldr xt    8 bytes */
    CHOOK_A64_LIT_SW,    /* ldrsw xt  4 bytes */
    CHOOK_A64_LIT_PRFM,  /* prfm op   no load */
    CHOOK_A64_LIT_S,     /* ldr st    4 bytes */
    CHOOK_A64_LIT_D,     /* ldr dt    8 bytes */
    CHOOK_A64_LIT_Q,     /* ldr qt   16 bytes */
};

/* One instruction decoded at its runtime address. */
typedef struct chook__a64_insn {
    uint32_t word;
    uintptr_t pc;               /* runtime address of the word */
    enum chook__a64_kind kind;
    uintptr_t target;           /* branch target, literal or adr address, adrp page */
    unsigned rt;                /* rt / rd field (bits 4:0) */
    enum chook__a64_lit lit;    /* for CHOOK_A64_LDR_LIT */
    const char *name;           /* mnemonic for messages ("tbnz", "ldxr") */
} chook__a64_insn;

/* The little-endian word at p. */
uint32_t chook__a64_get32(const uint8_t *p);
/* Little-endian field writers. */
void chook__a64_put32(uint8_t *p, uint32_t v);
void chook__a64_put64(uint8_t *p, uint64_t v);

/* Decodes the word w that runs at pc. Returns 1, or 0 for an unallocated
 * encoding (which no compiler emits: the bytes are data, not code). */
int chook__a64_decode(uint32_t w, uintptr_t pc, chook__a64_insn *out);

/* Decodes the instruction at bytes[0..avail) running at pc: 0 when fewer than 4
 * bytes are readable or the word is unallocated. */
int chook__a64_decode_at(const uint8_t *bytes, size_t avail, uintptr_t pc,
                         chook__a64_insn *out);

/* 0 when execution never continues with the next instruction (b, br, ret and
 * their pointer-authenticating forms, b.al/b.nv, brk, hlt, udf). */
int chook__a64_falls_through(const chook__a64_insn *in);

/* 1 for the words used as padding between functions: nop (the assembler's
 * alignment fill in code) and 0x00000000 (udf #0, the linker's fill). */
int chook__a64_is_padding(const chook__a64_insn *in);

/* 1 for a bti landing pad (bti, bti c, bti j, bti jc). */
int chook__a64_is_bti(uint32_t w);

/* The general-purpose registers (bit n: xn) the instruction may write, over-
 * approximated cheaply: the rd/rt field (bits 4:0) of every instruction, rt2 of
 * load/store pairs, rn of pre/post-indexed loads and stores (writeback). Used to
 * keep the relocator's scratch registers off values the patched code sets. */
uint32_t chook__a64_written_regs(const chook__a64_insn *in);

/* A direct branch (b, bl, b.cond, cbz/cbnz, tbz/tbnz): 1 and its target. */
int chook__a64_direct_target(const chook__a64_insn *in, uintptr_t *target);

/* Bytes a literal load reads (0 for prfm). */
size_t chook__a64_lit_size(enum chook__a64_lit lit);

/* Whether a field of `bits` bits scaled by `scale` bytes, in an instruction at
 * pc, reaches dest. */
int chook__a64_fits(uintptr_t pc, uintptr_t dest, unsigned bits, unsigned scale);

/* snprintf into an optional err buffer (err may be NULL or errlen 0). Returns
 * status, so callers can write `return chook__a64_err(...)`. */
int chook__a64_err(int status, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Checks the planned instructions ins[0..plan->n_insns) against the rules the
 * relocator relies on. Returns CHOOK_OK, CHOOK_EUNRELOC or CHOOK_ETOOSHORT with a
 * message. */
int chook__a64_check_insns(const chook_arch_code *code, const chook_arch_plan *plan,
                           const chook__a64_insn *ins, char *err, size_t errlen);

/* ---- encoders of emitted instructions -------------------------------------------
 * Each returns the word; a field out of range for its form is the caller's bug
 * and yields brk #0xdead instead (as Linux's aarch64_insn_gen_* return a faulting
 * instruction), so a check of the output catches any mistake. */
#define CHOOK_A64_NOP 0xd503201fu      /* nop                       */
#define CHOOK_A64_BRK0 0xd4200000u     /* brk #0                    */
#define CHOOK_A64_BAD 0xd43bd5a0u      /* brk #0xdead (encoder misuse) */

uint32_t chook__a64_enc_b(uintptr_t pc, uintptr_t dest, int link);     /* b / bl      */
uint32_t chook__a64_enc_ldr_lit_x(unsigned rt, int32_t off);           /* ldr xt, .+off */
uint32_t chook__a64_enc_br(unsigned rn, int link);                     /* br / blr xn */
/* The branch `in` (b.cond, cbz/cbnz, tbz/tbnz, b, bl) re-encoded at pc to reach
 * dest, with its condition inverted when `invert`. */
uint32_t chook__a64_enc_rebranch(const chook__a64_insn *in, uintptr_t pc, uintptr_t dest,
                                 int invert);
/* adr / adrp rd re-encoded at pc for the same address or page. */
uint32_t chook__a64_enc_readr(const chook__a64_insn *in, uintptr_t pc);
/* A literal load re-encoded at pc for the same address. */
uint32_t chook__a64_enc_relit(const chook__a64_insn *in, uintptr_t pc);
/* The load a literal instruction does, from [xn] instead (unsigned offset 0). */
uint32_t chook__a64_enc_load_base(const chook__a64_insn *in, unsigned rn);

#endif /* CHOOK_A64_H */
