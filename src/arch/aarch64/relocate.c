/*
 * Relocation on aarch64: the trampoline holds a copy of every patched instruction,
 * rewritten where its meaning depends on its address, then a jump back.
 *
 * Rewrites, by class (T = the original target, literal or page; the in-reach form
 * is the same instruction with its offset recomputed from the copy's address):
 *   adr xd, T        in +-1 MiB: adr;  else  ldr xd, .+8; b .+12; .quad T
 *   adrp xd, T       in +-4 GiB: adrp; else  ldr xd, .+8; b .+12; .quad T
 *   b T              in +-128 MiB: b;  else  ldr x16, .+8; br x16; .quad T
 *   bl T             in +-128 MiB: bl; else  ldr x16, .+12; blr x16; b .+12; .quad T
 *   b.cond T         in +-1 MiB: b.cond; else  b.!cond .+20; <the absolute b>
 *                    (b.al and b.nv have no negation: they are a plain b)
 *   cbz/cbnz T       in +-1 MiB; else  cbnz/cbz .+20; <the absolute b>
 *   tbz/tbnz T       in +-32 KiB; else tbnz/tbz .+20; <the absolute b>
 *   ldr/ldrsw (literal) xt / wt
 *                    in +-1 MiB; else  ldr xt, .+8; b .+12; .quad T; ldr[sw] t, [xt]
 *   ldr st/dt/qt, prfm (literal), and ldr to xzr
 *                    in +-1 MiB; else  ldr x17, .+8; b .+12; .quad T; ldr/prfm t, [x17]
 * Every other instruction (paciasp included) is copied as it is.
 * A branch whose target lies in the patched instructions (or on the kept bti) goes
 * to the matching copy in the trampoline instead, always in the short form.
 * x16/x17 are dead at a function entry (target.h), where every patch is, but the
 * patched instructions themselves may set them (GCC's prologue of a large frame:
 * mov x16, #size; sub sp, sp, x16). Absolute jumps then go through x17 instead of
 * x16, literal addresses through x16 instead of x17; when the patched code may
 * write both and a form needs one, the relocation is refused.
 *
 * Two passes: the first lays out each copy (its size depends only on whether T is
 * within reach of the copy's own address, so the layout is exact), the second
 * writes the words with every internal target known.
 */
#include "chook.h"
#include "a64.h"

#define B_PC12 0x14000003u       /* b .+12: over a .quad after it */

typedef struct reloc {
    const chook_arch_code *code;
    const chook_arch_plan *plan;
    uintptr_t tramp_pc;
    uintptr_t lo;       /* pc + skip: first patched byte */
    uintptr_t insn_end; /* end of the last patched instruction */
    chook_arch_tramp *out;
    unsigned jreg;      /* scratch of absolute jumps: x16, else x17, else NO_REG */
    unsigned lreg;      /* scratch of literal addresses: x17, else x16, else NO_REG */
    int bad;            /* an encoder returned CHOOK_A64_BAD */
    int no_scratch;     /* a form needed a scratch register the code may set */
} reloc;

#define NO_REG 32u

static void put(reloc *r, uint8_t *p, uint32_t w)
{
    if (w == CHOOK_A64_BAD) r->bad = 1;
    chook__a64_put32(p, w);
}

/* Where a branch to t must go: the copy in the trampoline when t is a patched
 * instruction (or the kept bti before them), else t itself. */
static uintptr_t map_target(const reloc *r, uintptr_t t, int *internal)
{
    *internal = 0;
    if (t < r->code->pc || t >= r->insn_end) return t;
    *internal = 1;
    if (t < r->lo) return r->tramp_pc + r->out->insn_off[0]; /* the bti at pc */
    for (unsigned i = 0; i < r->plan->n_insns; i++)
        if (r->lo + r->plan->insn_off[i] == t) return r->tramp_pc + r->out->insn_off[i];
    return t; /* not an instruction boundary: impossible for aligned code */
}

/* reg <- the 8 bytes after a skip: ldr xreg, .+8; b .+12; .quad v (16 bytes). */
static size_t emit_abs_value(reloc *r, uint8_t *p, unsigned reg, uint64_t v)
{
    put(r, p, chook__a64_enc_ldr_lit_x(reg, 8));               /* ldr xreg, .+8  */
    put(r, p + 4, B_PC12);                                     /* b .+12         */
    chook__a64_put64(p + 8, v);                                /* .quad v        */
    return 16;
}

/* A scratch register, or x16 with r->no_scratch set when there is none (the
 * relocation then fails as a whole). */
static unsigned scratch(reloc *r, unsigned reg)
{
    if (reg != NO_REG) return reg;
    r->no_scratch = 1;
    return CHOOK_A64_IP0;
}

/* The absolute jump: ldr xj, .+8; br xj; .quad dest (16 bytes). */
static size_t emit_abs_jump(reloc *r, uint8_t *p, uintptr_t dest)
{
    unsigned j = scratch(r, r->jreg);
    put(r, p, chook__a64_enc_ldr_lit_x(j, 8));                 /* ldr xj, .+8    */
    put(r, p + 4, chook__a64_enc_br(j, 0));                    /* br xj          */
    chook__a64_put64(p + 8, (uint64_t)dest);                   /* .quad dest     */
    return 16;
}

/* b to dest from at: the short form when it reaches (always for internal
 * targets), else the absolute form. */
static size_t emit_b(reloc *r, uint8_t *p, uintptr_t at, uintptr_t dest)
{
    if (chook__a64_fits(at, dest, 26, 4)) {
        put(r, p, chook__a64_enc_b(at, dest, 0));              /* b dest         */
        return 4;
    }
    return emit_abs_jump(r, p, dest);
}

static size_t emit_bl(reloc *r, uint8_t *p, uintptr_t at, uintptr_t dest)
{
    unsigned j;
    if (chook__a64_fits(at, dest, 26, 4)) {
        put(r, p, chook__a64_enc_b(at, dest, 1));              /* bl dest        */
        return 4;
    }
    j = scratch(r, r->jreg);
    put(r, p, chook__a64_enc_ldr_lit_x(j, 12));                /* ldr xj, .+12   */
    put(r, p + 4, chook__a64_enc_br(j, 1));                    /* blr xj         */
    put(r, p + 8, B_PC12);                                     /* b .+12         */
    chook__a64_put64(p + 12, (uint64_t)dest);                  /* .quad dest     */
    return 20;
}

/* b.cond, cbz/cbnz, tbz/tbnz with `bits` of offset. */
static size_t emit_cond(reloc *r, uint8_t *p, uintptr_t at, const chook__a64_insn *in,
                        unsigned bits, uintptr_t dest)
{
    if (chook__a64_fits(at, dest, bits, 4)) {
        put(r, p, chook__a64_enc_rebranch(in, at, dest, 0));   /* b.cond/cbz/tbz dest */
        return 4;
    }
    if (in->kind == CHOOK_A64_BCOND && (in->word & 15) >= 14)  /* b.al / b.nv */
        return emit_b(r, p, at, dest);
    put(r, p, chook__a64_enc_rebranch(in, at, at + 20, 1));    /* b.!cond/cbnz/tbnz .+20 */
    return 4 + emit_abs_jump(r, p + 4, dest);                  /* ldr xj, .+8; br xj; .quad */
}

static size_t emit_lit(reloc *r, uint8_t *p, uintptr_t at, const chook__a64_insn *in)
{
    unsigned reg;
    if (chook__a64_fits(at, in->target, 19, 4)) {
        put(r, p, chook__a64_enc_relit(in, at));               /* ldr t, T       */
        return 4;
    }
    /* A general-purpose destination holds the address itself; a vector one, a
     * prefetch or xzr needs a scratch register. */
    reg = (in->lit == CHOOK_A64_LIT_W || in->lit == CHOOK_A64_LIT_X ||
           in->lit == CHOOK_A64_LIT_SW) && in->rt != 31 ? in->rt : scratch(r, r->lreg);
    emit_abs_value(r, p, reg, (uint64_t)in->target);           /* xreg <- T      */
    put(r, p + 16, chook__a64_enc_load_base(in, reg));         /* ldr t, [xreg]  */
    return 20;
}

/* Writes the copy of `in` at out->bytes[off]; returns its length. */
static size_t emit_one(reloc *r, const chook__a64_insn *in, size_t off)
{
    uint8_t *p = r->out->bytes + off;
    uintptr_t at = r->tramp_pc + off;
    uintptr_t dest;
    int internal;

    switch (in->kind) {
    case CHOOK_A64_ADR:
        if (chook__a64_fits(at, in->target, 21, 1)) {
            put(r, p, chook__a64_enc_readr(in, at));           /* adr xd, T      */
            return 4;
        }
        return emit_abs_value(r, p, in->rt, (uint64_t)in->target);
    case CHOOK_A64_ADRP:
        if (chook__a64_fits(at & ~(uintptr_t)0xfff, in->target, 21, 4096)) {
            put(r, p, chook__a64_enc_readr(in, at));           /* adrp xd, T     */
            return 4;
        }
        return emit_abs_value(r, p, in->rt, (uint64_t)in->target);
    case CHOOK_A64_B:
        dest = map_target(r, in->target, &internal);
        return emit_b(r, p, at, dest);
    case CHOOK_A64_BL:
        return emit_bl(r, p, at, in->target);
    case CHOOK_A64_BCOND:
    case CHOOK_A64_CB:
        dest = map_target(r, in->target, &internal);
        return emit_cond(r, p, at, in, 19, dest);
    case CHOOK_A64_TB:
        dest = map_target(r, in->target, &internal);
        return emit_cond(r, p, at, in, 14, dest);
    case CHOOK_A64_LDR_LIT:
        return emit_lit(r, p, at, in);
    case CHOOK_A64_PLAIN:
    case CHOOK_A64_UNRELOC: /* refused by the checks before */
        break;
    }
    put(r, p, in->word);                                       /* the original   */
    return 4;
}

/* Decodes the planned instructions again and checks they are what the plan says. */
static int decode_plan(const chook_arch_code *code, const chook_arch_plan *plan,
                       chook__a64_insn *ins, char *err, size_t errlen)
{
    if (plan->n_insns == 0 || plan->n_insns > CHOOK_ARCH_MAX_INSNS ||
        plan->patch_len > CHOOK_ARCH_MAX_PATCH ||
        plan->skip + plan->patch_len > code->avail || (plan->skip & 3) ||
        plan->insn_off[plan->n_insns] + plan->padding_len != plan->patch_len)
        return chook__a64_err(CHOOK_EINVAL, err, errlen, "the plan does not fit the code");
    for (unsigned i = 0; i < plan->n_insns; i++) {
        size_t off = plan->skip + plan->insn_off[i];
        if (plan->insn_off[i] != i * CHOOK_A64_INSN ||
            plan->insn_off[i + 1] != (i + 1) * CHOOK_A64_INSN ||
            !chook__a64_decode_at(code->bytes + off, code->avail - off, code->pc + off, &ins[i]))
            return chook__a64_err(CHOOK_EINVAL, err, errlen,
                                  "the plan does not match the instruction at +%zu", off);
    }
    return CHOOK_OK;
}

int chook_arch_relocate(const chook_arch_code *code, const chook_arch_plan *plan,
                        uintptr_t tramp_pc, chook_arch_tramp *out,
                        char *err, size_t errlen)
{
    chook__a64_insn ins[CHOOK_ARCH_MAX_INSNS];
    reloc r;
    size_t off = 0;
    uint32_t written = 0;

    if (!code || !code->bytes || !plan || !out || (code->pc & 3) || (tramp_pc & 3))
        return chook__a64_err(CHOOK_EINVAL, err, errlen, "invalid relocation request");
    *out = (chook_arch_tramp){0};
    CHOOK_A64_CHECK(decode_plan(code, plan, ins, err, errlen));
    CHOOK_A64_CHECK(chook__a64_check_insns(code, plan, ins, err, errlen));
    if (plan->n_insns * CHOOK_A64_MAX_COPY + CHOOK_A64_JUMP_FAR_SIZE > CHOOK_ARCH_MAX_TRAMP)
        return chook__a64_err(CHOOK_EUNRELOC, err, errlen,
                              "the relocated code could exceed %d bytes", CHOOK_ARCH_MAX_TRAMP);

    for (unsigned i = 0; i < plan->n_insns; i++) written |= chook__a64_written_regs(&ins[i]);
    r = (reloc){ .code = code, .plan = plan, .tramp_pc = tramp_pc,
                 .lo = code->pc + plan->skip,
                 .insn_end = code->pc + plan->skip + plan->insn_off[plan->n_insns],
                 .out = out,
                 .jreg = !(written & 1u << CHOOK_A64_IP0) ? CHOOK_A64_IP0
                       : !(written & 1u << CHOOK_A64_IP1) ? CHOOK_A64_IP1 : NO_REG,
                 .lreg = !(written & 1u << CHOOK_A64_IP1) ? CHOOK_A64_IP1
                       : !(written & 1u << CHOOK_A64_IP0) ? CHOOK_A64_IP0 : NO_REG };
    for (int pass = 0; pass < 2; pass++) {
        off = 0;
        r.bad = 0;
        for (unsigned i = 0; i < plan->n_insns; i++) {
            out->insn_off[i] = (uint16_t)off;
            off += emit_one(&r, &ins[i], off);
        }
    }
    out->insn_off[plan->n_insns] = (uint16_t)off;
    if (!plan->ends_function)
        off += emit_b(&r, out->bytes + off, tramp_pc + off,
                      code->pc + plan->skip + plan->patch_len);
    if (r.no_scratch)
        return chook__a64_err(CHOOK_EUNRELOC, err, errlen,
                              "the patched instructions may set both x16 and x17, and "
                              "their relocation needs one of them as a scratch register");
    if (r.bad)
        return chook__a64_err(CHOOK_EINTERNAL, err, errlen,
                              "the relocator emitted an instruction out of its range");
    out->len = off;
    return CHOOK_OK;
}
