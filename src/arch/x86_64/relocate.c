/*
 * Relocation on x86-64: the trampoline holds a copy of every patched instruction,
 * rewritten where its meaning depends on its address, then a jump back.
 *
 * Rewrites, by class (T = the original target or referenced address):
 *   rip-relative operand   same bytes, disp32 recomputed for the new address; out
 *                          of reach: lea r64 / mov r64 become mov r64, imm64 (+
 *                          a load through r64); anything else is refused.
 *   jmp rel8/rel32         e9 rel32 T, or ff 25 00 00 00 00; .quad T
 *   jcc rel8/rel32         0f 8x rel32 T, or the inverted jcc rel8 over
 *                          ff 25 00 00 00 00; .quad T
 *   call rel32             e8 rel32 T, or ff 15 02 00 00 00; eb 08; .quad T
 *   loop/loope/loopne/     the same instruction (prefixes kept, since 67 selects
 *   jrcxz/jecxz rel8       ecx) with rel8 = 2, then jmp short over the next jump,
 *                          then a near or far jmp to T
 * A jmp/jcc/loop whose target lies in the patched instructions (or on the kept
 * endbr64) goes to the matching copy in the trampoline instead, always with the
 * rel32 form.
 *
 * Two passes: the first lays out each copy (its size depends only on whether T is
 * within rel32 reach of the copy's own address, so the layout is exact), the
 * second writes the bytes with every internal target known.
 */
#include "chook.h"
#include "x86.h"

/* Opcodes used in emitted code. */
#define OP_JMP_REL8 0xeb   /* jmp rel8 */
#define OP_JMP_REL32 0xe9  /* jmp rel32 */
#define OP_CALL_REL32 0xe8 /* call rel32 */
#define OP_0F 0x0f         /* two-byte opcode escape */
#define OP_JCC_REL8 0x70   /* 70+cc: jcc rel8 */
#define OP_JCC_REL32 0x80  /* 0f 80+cc: jcc rel32 */
#define OP_GRP5 0xff       /* ff /2 call, ff /4 jmp */
#define MODRM_CALL_RIP 0x15 /* ff 15: call [rip+disp32] */
#define OP_MOV_R_IMM64 0xb8 /* REX.W b8+r: mov r64, imm64 */
#define OP_MOV_R_RM 0x8b   /* 8b /r: mov r, r/m */
#define OP_LEA 0x8d        /* 8d /r: lea */
#define REX_W 0x48
#define REX_R 0x04
#define REX_B 0x01

typedef struct reloc {
    const chook_arch_code *code;
    const chook_arch_plan *plan;
    uintptr_t tramp_pc;
    uintptr_t lo;       /* pc + skip: first patched byte */
    uintptr_t insn_end; /* end of the last patched instruction */
    chook_arch_tramp *out;
    char *err;
    size_t errlen;
} reloc;

/* Where a jump to t must go: the copy in the trampoline when t is a patched
 * instruction (or the kept endbr64 before them), else t itself. */
static uintptr_t map_target(const reloc *r, uintptr_t t, int *internal)
{
    *internal = 0;
    if (t < r->code->pc || t >= r->insn_end) return t;
    *internal = 1;
    if (t < r->lo) return r->tramp_pc + r->out->insn_off[0]; /* the endbr64 at pc */
    for (unsigned i = 0; i < r->plan->n_insns; i++)
        if (r->lo + r->plan->insn_off[i] == t) return r->tramp_pc + r->out->insn_off[i];
    return t; /* the middle of an instruction: refused by the checks before */
}

static size_t emit_rel32(uint8_t *p, uintptr_t at, size_t len, uintptr_t dest)
{
    chook__x86_put32(p + len - 4, (uint32_t)(dest - (at + len)));
    return len;
}

/* jmp to dest from at: the rel32 form when it reaches (always for internal
 * targets), else the absolute form. */
static size_t emit_jmp(uint8_t *p, uintptr_t at, uintptr_t dest, int internal)
{
    if (internal || chook__x86_rel32_fits(at + 5, dest)) {
        p[0] = OP_JMP_REL32;                                   /* e9 <rel32>  jmp dest */
        return emit_rel32(p, at, 5, dest);
    }
    return chook_arch_write_jump(p, at, dest, CHOOK_ARCH_JUMP_FAR); /* jmp [rip+0]; .quad */
}

static size_t emit_jcc(uint8_t *p, uintptr_t at, unsigned cc, uintptr_t dest, int internal)
{
    if (internal || chook__x86_rel32_fits(at + 6, dest)) {
        p[0] = OP_0F;                                          /* 0f 8x <rel32> jcc dest */
        p[1] = (uint8_t)(OP_JCC_REL32 | cc);
        return emit_rel32(p, at, 6, dest);
    }
    /* Inverting the low bit of the condition code negates it. */
    p[0] = (uint8_t)(OP_JCC_REL8 | (cc ^ 1));                  /* 7x 0e  j!cc +14     */
    p[1] = 14;
    return 2 + chook_arch_write_jump(p + 2, at + 2, dest, CHOOK_ARCH_JUMP_FAR);
}

static size_t emit_call(uint8_t *p, uintptr_t at, uintptr_t dest)
{
    if (chook__x86_rel32_fits(at + 5, dest)) {
        p[0] = OP_CALL_REL32;                                  /* e8 <rel32> call dest */
        return emit_rel32(p, at, 5, dest);
    }
    p[0] = OP_GRP5;                                            /* ff 15 02 00 00 00   */
    p[1] = MODRM_CALL_RIP;                                     /*   call [rip+2]      */
    chook__x86_put32(p + 2, 2);
    p[6] = OP_JMP_REL8;                                        /* eb 08  jmp +8       */
    p[7] = 8;                                                  /*   (over the .quad)  */
    chook__x86_put64(p + 8, (uint64_t)dest);                   /* .quad dest          */
    return 16;
}

/* loop/jrcxz: the original with rel8 = 2 lands on the jump to dest; when the
 * branch is not taken, jmp short skips that jump. */
static size_t emit_loop(uint8_t *p, uintptr_t at, const chook__x86_insn *in,
                        uintptr_t dest, int internal)
{
    size_t n = in->zi.length, far;
    for (size_t i = 0; i < n; i++) p[i] = in->bytes[i];        /* [67] e0..e3 02      */
    p[n - 1] = 2;                                              /*   loop/jrcxz +2     */
    far = !internal && !chook__x86_rel32_fits(at + n + 2 + 5, dest);
    p[n] = OP_JMP_REL8;                                        /* eb 05 / eb 0e       */
    p[n + 1] = far ? 14 : 5;                                   /*   jmp over the jump */
    return n + 2 + emit_jmp(p + n + 2, at + n + 2, dest, internal);
}

/* A rip-relative operand out of reach: lea r64, [rip+x] is mov r64, imm64, and
 * mov r64, [rip+x] is that followed by mov r64, [r64]. Only the plain REX.W forms
 * (no other prefix, 7 bytes) qualify. Returns 0 when the instruction is neither. */
static size_t emit_abs_load(uint8_t *p, const chook__x86_insn *in, uintptr_t t)
{
    const uint8_t *b = in->bytes;
    unsigned reg, lowr;
    size_t n;
    if (in->zi.length != 7 || (b[0] & 0xf8) != REX_W || (b[0] & REX_B) ||
        (b[1] != OP_LEA && b[1] != OP_MOV_R_RM) ||
        in->ops[0].type != ZYDIS_OPERAND_TYPE_REGISTER)
        return 0;
    reg = (unsigned)ZydisRegisterGetId(in->ops[0].reg.value) & 15;
    lowr = reg & 7;
    p[0] = (uint8_t)(REX_W | (reg >= 8 ? REX_B : 0));          /* 48/49 b8+r <imm64>  */
    p[1] = (uint8_t)(OP_MOV_R_IMM64 + lowr);                   /*   mov r64, t        */
    chook__x86_put64(p + 2, (uint64_t)t);
    if (b[1] == OP_LEA) return 10;
    n = 10;
    p[n++] = (uint8_t)(REX_W | (reg >= 8 ? REX_R | REX_B : 0)); /* 48/4d 8b modrm   */
    p[n++] = OP_MOV_R_RM;                                      /*   mov r64, [r64]    */
    if (lowr == 5) {                       /* rbp/r13 as base needs a disp8 (mod 01) */
        p[n++] = (uint8_t)(0x40 | (lowr << 3) | lowr);         /*   modrm 01 r 101    */
        p[n++] = 0;                                            /*   disp8 0           */
    } else if (lowr == 4) {                /* rsp/r12 as base needs a SIB byte */
        p[n++] = (uint8_t)((lowr << 3) | 4);                   /*   modrm 00 r 100    */
        p[n++] = 0x24;                                         /*   sib: base r, no index */
    } else {
        p[n++] = (uint8_t)((lowr << 3) | lowr);                /*   modrm 00 r r      */
    }
    return n;
}

/* The largest copy one instruction can take: a loop-family instruction (with
 * every prefix) + jmp short + the absolute jump. Every other form is smaller. */
#define MAX_COPY (CHOOK_X86_MAX_INSN + 2 + 14)

/* Writes the copy of `in` at out->bytes[off]; returns its length or 0 (err set). */
static size_t emit_one(const reloc *r, const chook__x86_insn *in, size_t off, int *status)
{
    uint8_t *p = r->out->bytes + off;
    uintptr_t at = r->tramp_pc + off;
    size_t at_orig = (size_t)(in->pc - r->code->pc);
    uintptr_t t, dest;
    int internal;
    size_t n;

    if (off + MAX_COPY > CHOOK_ARCH_MAX_TRAMP) {
        *status = chook__x86_err(CHOOK_EUNRELOC, r->err, r->errlen,
                                 "the relocated code would exceed %d bytes",
                                 CHOOK_ARCH_MAX_TRAMP);
        return 0;
    }
    switch (chook__x86_classify(in, &t)) {
    case CHOOK_X86_PLAIN:
        for (size_t i = 0; i < in->zi.length; i++) p[i] = in->bytes[i];
        return in->zi.length;
    case CHOOK_X86_RIPREL:
        n = in->zi.length;
        if (chook__x86_rel32_fits(at + n, t)) {
            for (size_t i = 0; i < n; i++) p[i] = in->bytes[i];
            chook__x86_put32(p + in->zi.raw.disp.offset, (uint32_t)(t - (at + n)));
            return n;
        }
        n = emit_abs_load(p, in, t);
        if (n) return n;
        *status = chook__x86_err(CHOOK_EUNRELOC, r->err, r->errlen,
                                 "instruction '%s' at +%zu refers to 0x%lx, out of rel32 "
                                 "reach of the trampoline at 0x%lx",
                                 chook__x86_name(in), at_orig, (unsigned long)t,
                                 (unsigned long)r->tramp_pc);
        return 0;
    case CHOOK_X86_JMP:
        dest = map_target(r, t, &internal);
        return emit_jmp(p, at, dest, internal);
    case CHOOK_X86_JCC:
        dest = map_target(r, t, &internal);
        return emit_jcc(p, at, in->zi.opcode & 0x0f, dest, internal);
    case CHOOK_X86_CALL:
        return emit_call(p, at, t);
    case CHOOK_X86_LOOP:
        dest = map_target(r, t, &internal);
        return emit_loop(p, at, in, dest, internal);
    case CHOOK_X86_UNRELOC:
        break;
    }
    *status = chook__x86_err(CHOOK_EUNRELOC, r->err, r->errlen,
                             "instruction '%s' at +%zu cannot be relocated",
                             chook__x86_name(in), at_orig);
    return 0;
}

/* Decodes the planned instructions again and checks they are what the plan says. */
static int decode_plan(const chook_arch_code *code, const chook_arch_plan *plan,
                       chook__x86_insn *ins, char *err, size_t errlen)
{
    if (plan->n_insns == 0 || plan->n_insns > CHOOK_ARCH_MAX_INSNS ||
        plan->patch_len > CHOOK_ARCH_MAX_PATCH ||
        plan->skip + plan->patch_len > code->avail ||
        plan->insn_off[plan->n_insns] + plan->padding_len != plan->patch_len)
        return chook__x86_err(CHOOK_EINVAL, err, errlen, "the plan does not fit the code");
    for (unsigned i = 0; i < plan->n_insns; i++) {
        size_t off = plan->skip + plan->insn_off[i];
        size_t len = (size_t)(plan->insn_off[i + 1] - plan->insn_off[i]);
        if (plan->insn_off[i + 1] <= plan->insn_off[i] ||
            !chook__x86_decode(code->bytes + off, code->avail - off, code->pc + off, &ins[i]) ||
            ins[i].zi.length != len)
            return chook__x86_err(CHOOK_EINVAL, err, errlen,
                                  "the plan does not match the instruction at +%zu", off);
    }
    return CHOOK_OK;
}

int chook_arch_relocate(const chook_arch_code *code, const chook_arch_plan *plan,
                        uintptr_t tramp_pc, chook_arch_tramp *out,
                        char *err, size_t errlen)
{
    chook__x86_insn ins[CHOOK_ARCH_MAX_INSNS];
    reloc r;
    size_t off = 0;
    int status = CHOOK_OK;

    if (!code || !code->bytes || !plan || !out)
        return chook__x86_err(CHOOK_EINVAL, err, errlen, "invalid relocation request");
    *out = (chook_arch_tramp){0};
    CHOOK_X86_CHECK(decode_plan(code, plan, ins, err, errlen));
    CHOOK_X86_CHECK(chook__x86_check_insns(code, plan, ins, err, errlen));

    r = (reloc){ .code = code, .plan = plan, .tramp_pc = tramp_pc,
                 .lo = code->pc + plan->skip,
                 .insn_end = code->pc + plan->skip + plan->insn_off[plan->n_insns],
                 .out = out, .err = err, .errlen = errlen };
    for (int pass = 0; pass < 2; pass++) {
        off = 0;
        for (unsigned i = 0; i < plan->n_insns; i++) {
            size_t n;
            out->insn_off[i] = (uint16_t)off;
            n = emit_one(&r, &ins[i], off, &status);
            if (!n) return status;
            off += n;
        }
    }
    out->insn_off[plan->n_insns] = (uint16_t)off;
    if (!plan->ends_function) {
        uintptr_t back = code->pc + plan->skip + plan->patch_len;
        if (off + 14 > CHOOK_ARCH_MAX_TRAMP)
            return chook__x86_err(CHOOK_EUNRELOC, err, errlen,
                                  "the relocated code would exceed %d bytes",
                                  CHOOK_ARCH_MAX_TRAMP);
        off += emit_jmp(out->bytes + off, tramp_pc + off, back, 0);
    }
    out->len = off;
    return CHOOK_OK;
}
