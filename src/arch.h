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

/*
 * The per-architecture constants (the shape of libffi's ffitarget.h), each back
 * end's src/arch/<arch>/target.h, defines at least:
 *   CHOOK_ARCH_MAX_INSNS   instructions one patch may cover
 *   CHOOK_ARCH_MAX_PATCH   bytes one patch may cover (skip excluded)
 *   CHOOK_ARCH_MAX_TRAMP   bytes one trampoline may take
 *   CHOOK_ARCH_NEAR_REACH  how far a near jump reaches; allocations meant to be
 *                          reached by near jumps keep a margin inside it
 * and, once the back end has interception (see "Interception" below):
 *   CHOOK_ARCH_ICPT_GP / CHOOK_ARCH_ICPT_FP  integer / vector argument registers
 *   CHOOK_ARCH_ICPT_THUNK_MAX                bytes of the largest thunk
 *   struct chook_arch_iregs                  the registers the dispatcher saves
 * The header is chosen by the architecture being built: the native one, or the
 * one a mechanism library names (CHOOK_ARCH_aarch64 / CHOOK_ARCH_x86_64, defined
 * by the build), so every arch's mechanism compiles on any host.
 */
#if defined(CHOOK_ARCH_aarch64) || (!defined(CHOOK_ARCH_x86_64) && defined(__aarch64__))
#include "arch/aarch64/target.h"
#elif defined(CHOOK_ARCH_x86_64) || defined(__x86_64__)
#include "arch/x86_64/target.h"
#else
#error "chook: no back end for this architecture"
#endif

#define CHOOK_ARCH_ERRLEN 192     /* size of the err buffers below */

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
 * message in err ("instruction 'xbegin' at +3 cannot be relocated"), or
 * CHOOK_EINVAL for NULL arguments or a need of 0 or over CHOOK_ARCH_MAX_PATCH.
 */
int chook_arch_plan_patch(const chook_arch_code *code, size_t need,
                          chook_arch_plan *plan, char *err, size_t errlen);

/*
 * Writes the trampoline for `plan` as it will run at tramp_pc: each overwritten
 * instruction relocated (rip-relative operands, direct branches, loop/jrcxz...)
 * and a jump back to pc + skip + patch_len unless plan->ends_function.
 * Returns CHOOK_OK, or CHOOK_EUNRELOC (e.g. a rip-relative operand out of reach of
 * tramp_pc) with a message in err, or CHOOK_EINVAL for NULL arguments or a plan
 * that does not match the code.
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

/* What chook_arch_scan_function found (addresses 0 when not found). */
typedef struct chook_arch_scan {
    uintptr_t into_from, into_to; /* a direct branch strictly into (lo, hi) */
    uintptr_t back_from, back_to; /* a back edge: a jump or conditional branch (not
                                     a call) to the entry or to lo */
} chook_arch_scan;
#define CHOOK_ARCH_SCAN_INTO 1
#define CHOOK_ARCH_SCAN_BACK 2

/*
 * chook_arch_find_branch_into() and, when entry != 0, a search for a back edge to
 * the entry in the same sweep: a direct jump or conditional branch from outside
 * [lo, hi) to entry or lo (a loop through the function's first instruction; a
 * call there is recursion and does not count). Returns a mask of
 * CHOOK_ARCH_SCAN_INTO and CHOOK_ARCH_SCAN_BACK, each for the first one found.
 */
int chook_arch_scan_function(const chook_arch_code *code, uintptr_t lo, uintptr_t hi,
                             uintptr_t entry, chook_arch_scan *out);

/* Called for each direct branch the module sweep finds: the branch's address,
 * its target, and whether it is a call. */
typedef void (*chook_arch_branch_fn)(void *data, uintptr_t from, uintptr_t to, int is_call);

/*
 * Decodes code->bytes linearly from code->pc, every instruction that starts
 * before offset `until` (it may end up to code->avail), and calls fn for each one
 * with a direct (relative) branch target: jmp, jcc, call, loop family, xbegin. A
 * byte that does not start an instruction is stepped over. Returns the offset
 * where the sweep stopped (>= until, or code->avail).
 */
size_t chook_arch_sweep_branches(const chook_arch_code *code, size_t until,
                                 chook_arch_branch_fn fn, void *data);

/*
 * Decodes linearly from code->pc (a function's start) up to addr. Returns 1 when
 * addr starts an instruction; 0 when it lies inside one, with that instruction's
 * address and length in *insn and *len; -1 when the bytes before addr do not
 * decode (or addr is before code->pc), so nothing can be said.
 */
int chook_arch_insn_boundary(const chook_arch_code *code, uintptr_t addr,
                             uintptr_t *insn, size_t *len);

/* The mnemonic of the instruction at bytes (running at pc), for messages ("jmp");
 * "?" when it does not decode. A static string. */
const char *chook_arch_insn_name(const uint8_t *bytes, size_t avail, uintptr_t pc);

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

/*
 * Makes code just written at [addr, addr + len) visible to instruction fetch:
 * cleans the data cache and invalidates the instruction cache over the range to
 * the point of unification, then waits for both (aarch64: DC CVAU / IC IVAU /
 * DSB ISH / ISB). The core calls it after every code write, before the code may
 * run (chook__code_write_raw). Async-signal-safe; never calls libc.
 * x86-64: a no-op, documented as such: instruction fetch is coherent with
 * stores to the same memory, and other cores are serialised separately
 * (chook_arch_serialize / membarrier SYNC_CORE).
 */
void chook_arch_flush_icache(void *addr, size_t len);

/* Raw system call: returns the kernel's result (-errno on failure); never touches
 * errno and never goes through libc (which the user may have hooked). */
long chook_arch_syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6);

/* Signal-return trampoline for rt_sigaction's sa_restorer. */
void chook_arch_sigreturn(void);

/* ============================================================================
 * Interception
 *
 * The per-target dispatch of listeners (intercept.c) and closure replacements.
 * A thunk near each intercepted target loads the target's context into a scratch
 * register and jumps to the common dispatcher; the dispatcher saves the argument
 * registers into a chook_arch_iregs at the bottom of its frame and calls into the
 * core (chook__icpt_enter / chook__icpt_leave, see src/intercept.h).
 * ========================================================================== */

#define CHOOK_ARCH_CLOSURE_RING 16    /* entries of the per-thread closure ring */

/* The registers the dispatcher saves (struct chook_arch_iregs), how many of
 * them carry arguments and the size of the thunks are the back end's
 * (target.h). */

/* The common dispatcher (intercept.S); entered only by a jump from a listener
 * thunk, never called. It follows the core's contract, src/intercept_abi.h. */
void chook_arch_icpt_dispatch(void);
/* Its entry for a context whose set has exactly one listener (the fast path of
 * intercept_abi.h; any other set found there goes the common way). */
void chook_arch_icpt_dispatch1(void);

/* The register-keeping replacement dispatcher (intercept.S): entered by a jump
 * from a thunk written by chook_arch_write_icpt_thunk() whose ctx is a
 * struct chook__keep; it calls keep->dest with the caller's arguments and stack
 * arguments and gives the caller back every register but the return ones as it
 * was. Never called. */
void chook_arch_keep_dispatch(void);

/* Writes at buf the listener thunk: it saves the caller's r11
 * (CHOOK_ARCH_ICPT_R11_SAVE), passes ctx to the dispatcher in r11 and jumps to
 * the entry word of ctx (ICPT_CTX_ENTRY of intercept_abi.h), which the core
 * points at one of the dispatcher's entries. Position-independent. Returns its
 * length (<= CHOOK_ARCH_ICPT_THUNK_MAX). */
size_t chook_arch_write_icpt_thunk(uint8_t *buf, uintptr_t ctx);

/* Writes at buf the closure thunk that runs at pc: it pushes `closure` on the
 * calling thread's closure ring (the thread-local byte counter at thread-pointer
 * offset idx_off, the ring of CHOOK_ARCH_CLOSURE_RING pointers at ring_off) with
 * one interrupt-atomic increment, then jumps to dest. It changes no argument
 * register and no flag the ABI passes. Returns its length. */
size_t chook_arch_write_closure_thunk(uint8_t *buf, uintptr_t pc, uintptr_t closure,
                                      intptr_t idx_off, intptr_t ring_off, uintptr_t dest);

/* The offset of a thread-local variable from the thread pointer (the same in
 * every thread for the static TLS block). */
intptr_t chook_arch_tls_offset(const void *tls_var);

/* 1 when the function at code->pc must only ever be entered by a jump with the
 * caller's own frame, never called from another one: it reads its own return
 * address (vfork pops it; dlsym-like functions look at their caller) or saves
 * the caller's callee-saved registers into a buffer it was given (setjmp,
 * getcontext), i.e. it returns twice or acts on its caller's frame. Looks at
 * the straight-line code at the entry; *why says what it saw. 0 otherwise. */
int chook_arch_frame_sensitive(const chook_arch_code *code, char *why, size_t whylen);

/* Places the arguments of a parsed signature (classes already in sig->arg[i].cls,
 * sizes in .size) by the ABI: sets .loc and .index of each, and stack_bytes.
 * Returns CHOOK_OK or CHOOK_ENOTSUP with a message in err. */
struct chook__sig;
int chook_arch_sig_place(struct chook__sig *sig, char *err, size_t errlen);

/* ---- ELF facts of the psABI ---------------------------------------------------- */

/* 1 when a dynamic relocation of this type fills a GOT entry with a symbol's
 * address (x86-64: R_X86_64_JUMP_SLOT, R_X86_64_GLOB_DAT). */
int chook_arch_is_got_reloc(unsigned type);

/* Calls a GNU IFUNC resolver the way the dynamic linker does on this architecture
 * (x86-64: with no arguments) and returns the implementation it selects. */
uintptr_t chook_arch_call_ifunc_resolver(uintptr_t resolver);

/* ---- Breakpoints (breakpoint-first patching) ----------------------------------- */

/* Writes a one-byte trapping instruction at buf (x86-64: int3); returns its length. */
size_t chook_arch_write_breakpoint(uint8_t *buf);

/* For a SIGTRAP (siginfo_t *, ucontext_t *): when it was raised by a breakpoint
 * instruction, sets *at to that instruction's address and returns 1. */
int chook_arch_breakpoint_address(const void *siginfo, const void *ucontext, uintptr_t *at);

#endif /* CHOOK_ARCH_H */
