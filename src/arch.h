/*
 * The contract between chook's architecture-neutral core and one architecture
 * back end (src/arch/<arch>/). Nothing outside src/arch/<arch>/ knows an opcode.
 *
 * A back end is pure mechanism: bytes and the address they run at go in, bytes
 * come out. It keeps no state, maps no memory and opens no file (the only
 * exceptions are the raw system call and signal-return entry points and the
 * register accessors of a signal context, which are mechanism too). Every back end
 * provides exactly this set of functions with these parameter orders.
 *
 * Vocabulary
 *   target     the function entry the user asked to hook (pc of code[0]).
 *   skip       bytes left in place at the entry (x86-64: an endbr64); the patch
 *              starts at target + skip, so indirect calls still land on the marker.
 *   patch      the bytes overwritten by the jump, from target + skip; always whole
 *              instructions (plus, for a short function, verified padding).
 *   trampoline relocated copies of the overwritten instructions followed by a jump
 *              back to target + skip + patch_len; calling target + 0 .. skip is
 *              not needed (the kept bytes are markers only).
 */
#ifndef CHOOK_ARCH_H
#define CHOOK_ARCH_H

#include <stddef.h>
#include <stdint.h>

#define CHOOK_ARCH_MAX_INSNS 16   /* instructions one patch may cover */
#define CHOOK_ARCH_MAX_PATCH 32   /* bytes one patch may cover (skip excluded) */
#define CHOOK_ARCH_MAX_TRAMP 384  /* bytes one trampoline may take */
#define CHOOK_ARCH_ERRLEN 192     /* size of the err buffers below */

/* How far a near jump reaches (x86-64: rel32). Allocations meant to be reached by
 * near jumps keep a margin inside it. */
#define CHOOK_ARCH_NEAR_REACH ((uintptr_t)0x7fff0000u)

/* The jump written at a target. */
enum chook_arch_jump {
    CHOOK_ARCH_JUMP_NEAR = 1, /* x86-64: jmp rel32, 5 bytes */
    CHOOK_ARCH_JUMP_FAR = 2,  /* x86-64: jmp [rip+0]; .quad dest, 14 bytes */
};

/* What the planner needs to know about the code at a target. */
typedef struct chook_arch_code {
    const uint8_t *bytes; /* a copy of the code at pc (need not live at pc) */
    size_t avail;         /* how many bytes of `bytes` are valid */
    uintptr_t pc;         /* runtime address of bytes[0]: the target */
    uintptr_t func_end;   /* end of the function by its symbol size, 0 if unknown */
    uintptr_t next_start; /* start of the next function/symbol, 0 if unknown: padding
                             after the function may be used up to here, or up to
                             the next 16-byte boundary when unknown */
} chook_arch_code;

/* Where a patch goes and what it covers. */
typedef struct chook_arch_plan {
    size_t skip;          /* bytes kept at the entry */
    size_t patch_len;     /* bytes overwritten from pc + skip (>= jump size) */
    size_t padding_len;   /* of those, bytes of padding past the function's end */
    unsigned n_insns;     /* instructions relocated */
    uint8_t insn_off[CHOOK_ARCH_MAX_INSNS + 1]; /* offset from pc + skip of each
                             instruction; insn_off[n_insns] = end of the last one */
    int ends_function;    /* the last relocated instruction never falls through
                             (ret, jmp, ...): the trampoline needs no jump back */
} chook_arch_plan;

/* The result of relocation. */
typedef struct chook_arch_tramp {
    size_t len;                                  /* bytes used in `bytes` */
    uint8_t bytes[CHOOK_ARCH_MAX_TRAMP];         /* code to place at tramp_pc */
    uint16_t insn_off[CHOOK_ARCH_MAX_INSNS + 1]; /* offset in the trampoline of the
                             copy of plan.insn_off[i]; [n_insns] = the jump back */
} chook_arch_tramp;

/* Size in bytes of a jump of that kind. */
size_t chook_arch_jump_size(enum chook_arch_jump kind);

/*
 * Decides what to overwrite at code->pc for a jump of `need` bytes.
 * Returns CHOOK_OK, or CHOOK_EDECODE, CHOOK_ETOOSHORT, CHOOK_EUNRELOC with a
 * message in err ("instruction 'xbegin' at +3 cannot be relocated").
 */
int chook_arch_plan_patch(const chook_arch_code *code, size_t need,
                          chook_arch_plan *plan, char *err, size_t errlen);

/*
 * Writes the trampoline for `plan` as it will run at tramp_pc: each overwritten
 * instruction relocated (rip-relative operands, direct branches, loop/jrcxz...)
 * and a jump back to pc + skip + patch_len unless plan->ends_function.
 * Returns CHOOK_OK, or CHOOK_EUNRELOC (e.g. a rip-relative operand out of reach of
 * tramp_pc) with a message in err.
 */
int chook_arch_relocate(const chook_arch_code *code, const chook_arch_plan *plan,
                        uintptr_t tramp_pc, chook_arch_tramp *out,
                        char *err, size_t errlen);

/*
 * Decodes code->bytes linearly from code->pc (up to func_end when known, else as
 * far as avail allows and the code decodes) and looks for a direct branch from
 * outside [lo, hi) to an address strictly inside (lo, hi). Returns 1 and sets
 * *from / *to for the first one found, 0 when there is none.
 */
int chook_arch_find_branch_into(const chook_arch_code *code, uintptr_t lo,
                                uintptr_t hi, uintptr_t *from, uintptr_t *to);

/*
 * Jump writers. Each writes at buf the code for a jump that runs at pc, and returns
 * its length, or 0 when the destination is out of reach for that form.
 *   write_jump:      a jump of `kind` from pc to dest.
 *   write_slot_jump: an indirect jump through the 8-byte slot at `slot`
 *                    (x86-64: jmp [rip+disp32], 6 bytes), the slot within reach.
 * fill_trap fills len bytes with an instruction that traps (x86-64: int3).
 */
size_t chook_arch_write_jump(uint8_t *buf, uintptr_t pc, uintptr_t dest,
                             enum chook_arch_jump kind);
size_t chook_arch_write_slot_jump(uint8_t *buf, uintptr_t pc, uintptr_t slot);
void chook_arch_fill_trap(uint8_t *buf, size_t len);

/*
 * Reads the jump at `bytes` (as written by write_jump or write_slot_jump, running
 * at pc). Returns 1 and its destination (or slot address for a slot jump, with
 * *is_slot = 1), 0 when the bytes are not such a jump.
 */
int chook_arch_read_jump(const uint8_t *bytes, size_t avail, uintptr_t pc,
                         uintptr_t *dest, int *is_slot);

/* Signal contexts (ucontext_t *) of parked threads. */
uintptr_t chook_arch_context_pc(const void *ucontext);
void chook_arch_context_set_pc(void *ucontext, uintptr_t pc);

/* Makes the calling core see code written by others (x86-64: cpuid). */
void chook_arch_serialize(void);

/* Raw system call: returns the kernel's result (-errno on failure); never touches
 * errno and never goes through libc (which the user may have hooked). */
long chook_arch_syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6);

/* Signal-return trampoline for rt_sigaction's sa_restorer. */
void chook_arch_sigreturn(void);

#endif /* CHOOK_ARCH_H */
