/*
 * The aarch64 relocator, word for word: each case gives the patched instructions
 * and the trampoline expected at a near (N, 4 KiB away), a middle (M, 8 MiB away:
 * in reach of b/bl and adrp, out of reach of the 19- and 14-bit forms) or a far
 * (F, more than 4 GiB away) address, each word with its disassembly. Runs on any
 * host: the back end is pure mechanism.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "arch.h"
#include "arch_aarch64_check.h"
#include "arch_aarch64_words.h"
#include "chook.h"
#include "target.h"

#define PC ((uintptr_t)0x401000)      /* where the original code runs */
#define N (PC + 0x1000)               /* a trampoline 4 KiB away */
#define M (PC + 0x800000)             /* a trampoline 8 MiB away */
#define F ((uintptr_t)0x7f0000001000) /* a trampoline out of every reach */

static char err[CHOOK_ARCH_ERRLEN];

static void to_bytes(uint8_t *b, const uint32_t *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 4; k++) b[4 * i + k] = (uint8_t)(w[i] >> (8 * k));
}

static void words(char *out, size_t len, const uint8_t *b, size_t n)
{
    out[0] = 0;
    for (size_t i = 0; i + 4 <= n && 9 * (i / 4) + 10 < len; i += 4)
        snprintf(out + 9 * (i / 4), len - 9 * (i / 4), "%08x ",
                 (unsigned)(b[i] | b[i + 1] << 8 | b[i + 2] << 16 | (uint32_t)b[i + 3] << 24));
}

/* Plans `need` bytes of `in` at PC, relocates to tramp_pc and compares. */
static void relocates_to(const uint32_t *in, size_t n, size_t need, uintptr_t tramp_pc,
                         const uint32_t *want, size_t want_n, chook_arch_plan *p,
                         chook_arch_tramp *out)
{
    uint8_t code[64], exp[CHOOK_ARCH_MAX_TRAMP];
    chook_arch_code c = { .bytes = code, .avail = 4 * n, .pc = PC };
    char got_s[600], want_s[600], why[256];

    to_bytes(code, in, n);
    to_bytes(exp, want, want_n);
    cr_assert_eq(chook_arch_plan_patch(&c, need, p, err, sizeof err), CHOOK_OK, "plan: %s", err);
    cr_assert_eq(chook_arch_relocate(&c, p, tramp_pc, out, err, sizeof err), CHOOK_OK,
                 "relocate: %s", err);
    words(got_s, sizeof got_s, out->bytes, out->len);
    words(want_s, sizeof want_s, exp, 4 * want_n);
    cr_assert(out->len == 4 * want_n && memcmp(out->bytes, exp, 4 * want_n) == 0,
              "trampoline\n  got  %s\n  want %s", got_s, want_s);
    cr_assert(arch_a64_check_tramp(&c, p, out, tramp_pc, why, sizeof why), "%s", why);
}

#define RELOCATES_TO(in, need, tramp_pc, want)                                           \
    do {                                                                                 \
        chook_arch_plan p_;                                                              \
        chook_arch_tramp out_;                                                           \
        relocates_to(in, sizeof in / 4, need, tramp_pc, want, sizeof want / 4, &p_, &out_); \
    } while (0)

/* The status of planning, then (when the plan succeeds) relocating. */
static int refusal(const uint32_t *in, size_t n, size_t need, uintptr_t tramp_pc)
{
    uint8_t code[64];
    chook_arch_code c = { .bytes = code, .avail = 4 * n, .pc = PC };
    chook_arch_plan p;
    chook_arch_tramp out;
    int st;
    to_bytes(code, in, n);
    err[0] = 0;
    st = chook_arch_plan_patch(&c, need, &p, err, sizeof err);
    if (st != CHOOK_OK) return st;
    return chook_arch_relocate(&c, &p, tramp_pc, &out, err, sizeof err);
}

#define REFUSAL(in, need, tramp_pc) refusal(in, sizeof in / 4, need, tramp_pc)

/* ---- position-independent code -------------------------------------------------- */

Test(arch_aarch64_relocate, plain_prologue_is_copied_then_jumps_back)
{
    static const uint32_t in[] = {
        A_STP_FP_LR,          /* stp x29, x30, [sp, #-16]! */
        A_MOV_FP_SP,          /* mov x29, sp               */
        A_RET,                /* ret                       */
    };
    const uint32_t want[] = {
        A_STP_FP_LR,          /* stp x29, x30, [sp, #-16]! */
        A_B(N + 4, PC + 4),   /* b PC+4                    */
    };
    chook_arch_plan p;
    chook_arch_tramp out;
    relocates_to(in, 3, 4, N, want, 2, &p, &out);
    cr_assert_eq(out.insn_off[0], 0);
    cr_assert_eq(out.insn_off[1], 4);
}

Test(arch_aarch64_relocate, far_patch_copies_four_and_jumps_back_absolute)
{
    static const uint32_t in[] = {
        A_STP_FP_LR,          /* stp x29, x30, [sp, #-16]! */
        A_MOV_FP_SP,          /* mov x29, sp               */
        A_STR_X19,            /* str x19, [sp, #16]        */
        A_MOV_X19_X0,         /* mov x19, x0               */
        A_RET,                /* ret                       */
    };
    const uint32_t want[] = {
        A_STP_FP_LR,          /* stp x29, x30, [sp, #-16]! */
        A_MOV_FP_SP,          /* mov x29, sp               */
        A_STR_X19,            /* str x19, [sp, #16]        */
        A_MOV_X19_X0,         /* mov x19, x0               */
        A_LDR_X16_8,          /* ldr x16, .+8              */
        A_BR_X16,             /* br x16                    */
        A_QUAD(PC + 16),      /* .quad PC+16               */
    };
    RELOCATES_TO(in, 16, F, want);
}

Test(arch_aarch64_relocate, bti_is_kept_and_paciasp_copied)
{
    static const uint32_t in[] = {
        A_BTI_C,              /* bti c                     */
        A_PACIASP,            /* paciasp                   */
        A_STP_FP_LR,          /* stp x29, x30, [sp, #-16]! */
        A_RET,                /* ret                       */
    };
    const uint32_t want[] = {
        A_PACIASP,            /* paciasp                   */
        A_B(N + 4, PC + 8),   /* b PC+8                    */
    };
    chook_arch_plan p;
    chook_arch_tramp out;
    relocates_to(in, 4, 4, N, want, 2, &p, &out);
    cr_assert_eq(p.skip, 4);
}

Test(arch_aarch64_relocate, casp_is_not_an_exclusive_and_is_copied)
{
    static const uint32_t in[] = {
        A_CASP,               /* casp x0, x1, x2, x3, [x4] */
        A_RET,                /* ret                       */
    };
    const uint32_t want[] = {
        A_CASP,               /* casp x0, x1, x2, x3, [x4] */
        A_B(N + 4, PC + 4),   /* b PC+4                    */
    };
    RELOCATES_TO(in, 4, N, want);
}

/* ---- adr / adrp ----------------------------------------------------------------- */

Test(arch_aarch64_relocate, adr_in_reach_is_recomputed)
{
    static const uint32_t in[] = {
        A_ADR(PC, PC + 0x100, 0),      /* adr x0, PC+0x100 */
        A_ADR(PC + 4, PC - 0x40, 1),   /* adr x1, PC-0x40  */
        A_RET,
    };
    const uint32_t want[] = {
        A_ADR(N, PC + 0x100, 0),       /* adr x0, PC+0x100 */
        A_ADR(N + 4, PC - 0x40, 1),    /* adr x1, PC-0x40  */
        A_B(N + 8, PC + 8),            /* b PC+8           */
    };
    RELOCATES_TO(in, 8, N, want);
}

Test(arch_aarch64_relocate, adr_out_of_reach_loads_the_address)
{
    static const uint32_t in[] = {
        A_ADR(PC, PC + 0x100, 0),      /* adr x0, PC+0x100 */
        A_RET,
    };
    const uint32_t want[] = {
        A_LDR_X(F, F + 8, 0),          /* ldr x0, .+8      */
        A_B_12,                        /* b .+12           */
        A_QUAD(PC + 0x100),            /* .quad PC+0x100   */
        A_LDR_X16_8,                   /* ldr x16, .+8     */
        A_BR_X16,                      /* br x16           */
        A_QUAD(PC + 4),                /* .quad PC+4       */
    };
    RELOCATES_TO(in, 4, F, want);
}

Test(arch_aarch64_relocate, adrp_in_reach_is_recomputed)
{
    static const uint32_t in[] = {
        A_ADRP(PC, 0x412000, 2),       /* adrp x2, 0x412000 */
        A_RET,
    };
    const uint32_t want[] = {
        A_ADRP(M, 0x412000, 2),        /* adrp x2, 0x412000 */
        A_B(M + 4, PC + 4),            /* b PC+4            */
    };
    RELOCATES_TO(in, 4, M, want);
}

Test(arch_aarch64_relocate, adrp_beyond_4gib_loads_the_page)
{
    static const uint32_t in[] = {
        A_ADRP(PC, 0x412000, 2),       /* adrp x2, 0x412000 */
        A_RET,
    };
    const uint32_t want[] = {
        A_LDR_X(F, F + 8, 2),          /* ldr x2, .+8       */
        A_B_12,                        /* b .+12            */
        A_QUAD(0x412000),              /* .quad 0x412000    */
        A_LDR_X16_8,                   /* ldr x16, .+8      */
        A_BR_X16,                      /* br x16            */
        A_QUAD(PC + 4),                /* .quad PC+4        */
    };
    RELOCATES_TO(in, 4, F, want);
}

/* ---- b / bl --------------------------------------------------------------------- */

Test(arch_aarch64_relocate, b_in_reach_is_recomputed_and_ends_the_trampoline)
{
    static const uint32_t in[] = {
        A_B(PC, PC + 0x2000),          /* b PC+0x2000 */
    };
    const uint32_t want[] = {
        A_B(M, PC + 0x2000),           /* b PC+0x2000 */
    };
    RELOCATES_TO(in, 4, M, want);
}

Test(arch_aarch64_relocate, b_out_of_reach_is_absolute)
{
    static const uint32_t in[] = {
        A_B(PC, PC + 0x2000),          /* b PC+0x2000      */
    };
    const uint32_t want[] = {
        A_LDR_X16_8,                   /* ldr x16, .+8     */
        A_BR_X16,                      /* br x16           */
        A_QUAD(PC + 0x2000),           /* .quad PC+0x2000  */
    };
    RELOCATES_TO(in, 4, F, want);
}

Test(arch_aarch64_relocate, bl_in_reach_is_recomputed)
{
    static const uint32_t in[] = {
        A_BL(PC, 0x500000),            /* bl 0x500000 */
        A_RET,
    };
    const uint32_t want[] = {
        A_BL(M, 0x500000),             /* bl 0x500000 */
        A_B(M + 4, PC + 4),            /* b PC+4      */
    };
    RELOCATES_TO(in, 4, M, want);
}

Test(arch_aarch64_relocate, bl_out_of_reach_calls_through_x16)
{
    static const uint32_t in[] = {
        A_BL(PC, 0x500000),            /* bl 0x500000     */
        A_RET,
    };
    const uint32_t want[] = {
        A_LDR_X16_12,                  /* ldr x16, .+12   */
        A_BLR_X16,                     /* blr x16         */
        A_B_12,                        /* b .+12          */
        A_QUAD(0x500000),              /* .quad 0x500000  */
        A_LDR_X16_8,                   /* ldr x16, .+8    */
        A_BR_X16,                      /* br x16          */
        A_QUAD(PC + 4),                /* .quad PC+4      */
    };
    RELOCATES_TO(in, 4, F, want);
}

Test(arch_aarch64_relocate, bl_of_the_entry_is_recursion_and_stays_a_call)
{
    static const uint32_t in[] = {
        A_STP_FP_LR,                   /* stp x29, x30, [sp, #-16]! */
        A_BL(PC + 4, PC),              /* bl PC                     */
        A_MOV_W0_1,                    /* mov w0, #1                */
        A_NOP,                         /* nop                       */
        A_RET,
    };
    const uint32_t want[] = {
        A_STP_FP_LR,                   /* stp x29, x30, [sp, #-16]! */
        A_BL(M + 4, PC),               /* bl PC                     */
        A_MOV_W0_1,                    /* mov w0, #1                */
        A_NOP,                         /* nop                       */
        A_B(M + 16, PC + 16),          /* b PC+16                   */
    };
    RELOCATES_TO(in, 16, M, want);
}

/* ---- conditional branches ------------------------------------------------------- */

Test(arch_aarch64_relocate, bcond_in_reach_is_recomputed)
{
    static const uint32_t in[] = {
        A_BCOND(PC, PC + 0x80, A_NE),  /* b.ne PC+0x80 */
        A_RET,
    };
    const uint32_t want[] = {
        A_BCOND(N, PC + 0x80, A_NE),   /* b.ne PC+0x80 */
        A_B(N + 4, PC + 4),            /* b PC+4       */
    };
    RELOCATES_TO(in, 4, N, want);
}

Test(arch_aarch64_relocate, bcond_out_of_reach_is_inverted_over_an_absolute_jump)
{
    static const uint32_t in[] = {
        A_BCOND(PC, PC + 0x80, A_NE),  /* b.ne PC+0x80     */
        A_RET,
    };
    const uint32_t want[] = {
        A_BCOND(M, M + 20, A_EQ),      /* b.eq .+20        */
        A_LDR_X16_8,                   /* ldr x16, .+8     */
        A_BR_X16,                      /* br x16           */
        A_QUAD(PC + 0x80),             /* .quad PC+0x80    */
        A_B(M + 20, PC + 4),           /* b PC+4           */
    };
    RELOCATES_TO(in, 4, M, want);
}

Test(arch_aarch64_relocate, bc_cond_keeps_its_hint_bit)
{
    static const uint32_t in[] = {
        A_BCOND(PC, PC + 0x80, A_NE) | 0x10,  /* bc.ne PC+0x80 */
        A_RET,
    };
    const uint32_t want[] = {
        A_BCOND(N, PC + 0x80, A_NE) | 0x10,   /* bc.ne PC+0x80 */
        A_B(N + 4, PC + 4),                   /* b PC+4        */
    };
    RELOCATES_TO(in, 4, N, want);
}

Test(arch_aarch64_relocate, b_al_out_of_reach_becomes_b_since_al_has_no_negation)
{
    static const uint32_t in[] = {
        A_BCOND(PC, PC + 0x80, A_AL),  /* b.al PC+0x80 */
    };
    const uint32_t want[] = {
        A_B(M, PC + 0x80),             /* b PC+0x80    */
    };
    RELOCATES_TO(in, 4, M, want);
}

Test(arch_aarch64_relocate, cbz_in_reach_is_recomputed)
{
    static const uint32_t in[] = {
        A_CBZ_W(PC, PC + 0x40, 3),     /* cbz w3, PC+0x40 */
        A_RET,
    };
    const uint32_t want[] = {
        A_CBZ_W(N, PC + 0x40, 3),      /* cbz w3, PC+0x40 */
        A_B(N + 4, PC + 4),            /* b PC+4          */
    };
    RELOCATES_TO(in, 4, N, want);
}

Test(arch_aarch64_relocate, cbnz_out_of_reach_is_inverted_over_an_absolute_jump)
{
    static const uint32_t in[] = {
        A_CBNZ_X(PC, PC + 0x40, 3),    /* cbnz x3, PC+0x40 */
        A_RET,
    };
    const uint32_t want[] = {
        A_CBZ_X(F, F + 20, 3),         /* cbz x3, .+20     */
        A_LDR_X16_8,                   /* ldr x16, .+8     */
        A_BR_X16,                      /* br x16           */
        A_QUAD(PC + 0x40),             /* .quad PC+0x40    */
        A_LDR_X16_8,                   /* ldr x16, .+8     */
        A_BR_X16,                      /* br x16           */
        A_QUAD(PC + 4),                /* .quad PC+4       */
    };
    RELOCATES_TO(in, 4, F, want);
}

Test(arch_aarch64_relocate, tbz_in_reach_is_recomputed)
{
    static const uint32_t in[] = {
        A_TBZ(PC, PC + 0x40, 33, 5),   /* tbz x5, #33, PC+0x40 */
        A_RET,
    };
    const uint32_t want[] = {
        A_TBZ(N, PC + 0x40, 33, 5),    /* tbz x5, #33, PC+0x40 */
        A_B(N + 4, PC + 4),            /* b PC+4               */
    };
    RELOCATES_TO(in, 4, N, want);
}

Test(arch_aarch64_relocate, tbnz_beyond_32kib_is_inverted_over_an_absolute_jump)
{
    static const uint32_t in[] = {
        A_TBNZ(PC, PC + 0x40, 3, 5),   /* tbnz w5, #3, PC+0x40 */
        A_RET,
    };
    const uint32_t want[] = {
        A_TBZ(M, M + 20, 3, 5),        /* tbz w5, #3, .+20     */
        A_LDR_X16_8,                   /* ldr x16, .+8         */
        A_BR_X16,                      /* br x16               */
        A_QUAD(PC + 0x40),             /* .quad PC+0x40        */
        A_B(M + 20, PC + 4),           /* b PC+4               */
    };
    RELOCATES_TO(in, 4, M, want);
}

/* ---- branches between relocated instructions ------------------------------------ */

Test(arch_aarch64_relocate, branches_into_the_patch_go_to_the_copies)
{
    static const uint32_t in[] = {
        A_CBZ_X(PC, PC + 12, 0),           /* cbz x0, PC+12     */
        A_ADD_X0_1,                        /* add x0, x0, #1    */
        A_BCOND(PC + 8, PC + 4, A_NE),     /* b.ne PC+4         */
        A_MOV_W0_1,                        /* mov w0, #1        */
        A_RET,
    };
    const uint32_t want[] = {
        A_CBZ_X(F, F + 12, 0),             /* cbz x0, F+12      */
        A_ADD_X0_1,                        /* add x0, x0, #1    */
        A_BCOND(F + 8, F + 4, A_NE),       /* b.ne F+4          */
        A_MOV_W0_1,                        /* mov w0, #1        */
        A_LDR_X16_8,                       /* ldr x16, .+8      */
        A_BR_X16,                          /* br x16            */
        A_QUAD(PC + 16),                   /* .quad PC+16       */
    };
    RELOCATES_TO(in, 16, F, want);
}

Test(arch_aarch64_relocate, internal_targets_follow_grown_copies)
{
    static const uint32_t in[] = {
        A_ADR(PC, PC + 0x100, 1),          /* adr x1, PC+0x100  */
        A_TBZ(PC + 4, PC, 0, 0),           /* tbz w0, #0, PC    */
        A_BCOND(PC + 8, PC + 0x80, A_EQ),  /* b.eq PC+0x80      */
        A_B(PC + 12, PC + 4),              /* b PC+4            */
    };
    const uint32_t want[] = {
        A_LDR_X(F, F + 8, 1),              /* ldr x1, .+8       */
        A_B_12,                            /* b .+12            */
        A_QUAD(PC + 0x100),                /* .quad PC+0x100    */
        A_TBZ(F + 16, F, 0, 0),            /* tbz w0, #0, F     */
        A_BCOND(F + 20, F + 40, A_NE),     /* b.ne .+20         */
        A_LDR_X16_8,                       /* ldr x16, .+8      */
        A_BR_X16,                          /* br x16            */
        A_QUAD(PC + 0x80),                 /* .quad PC+0x80     */
        A_B(F + 40, F + 16),               /* b F+16            */
    };
    chook_arch_plan p;
    chook_arch_tramp out;
    relocates_to(in, 4, 16, F, want, sizeof want / 4, &p, &out);
    cr_assert(p.ends_function);
    cr_assert_eq(out.insn_off[1], 16);
    cr_assert_eq(out.insn_off[2], 20);
    cr_assert_eq(out.insn_off[3], 40);
    cr_assert_eq(out.insn_off[4], 44);
}

Test(arch_aarch64_relocate, branch_to_the_kept_bti_goes_to_the_first_copy)
{
    static const uint32_t in[] = {
        A_BTI_C,                           /* bti c             */
        A_ADD_X0_1,                        /* add x0, x0, #1    */
        A_BCOND(PC + 8, PC, A_NE),         /* b.ne PC           */
        A_MOV_W0_1,                        /* mov w0, #1        */
        A_STR_X19,                         /* str x19, [sp, #16] */
        A_RET,
    };
    const uint32_t want[] = {
        A_ADD_X0_1,                        /* add x0, x0, #1    */
        A_BCOND(F + 4, F, A_NE),           /* b.ne F            */
        A_MOV_W0_1,                        /* mov w0, #1        */
        A_STR_X19,                         /* str x19, [sp, #16] */
        A_LDR_X16_8,                       /* ldr x16, .+8      */
        A_BR_X16,                          /* br x16            */
        A_QUAD(PC + 20),                   /* .quad PC+20       */
    };
    RELOCATES_TO(in, 16, F, want);
}

Test(arch_aarch64_relocate, branch_to_the_end_of_the_patch_goes_back_to_the_original)
{
    static const uint32_t in[] = {
        A_CBZ_X(PC, PC + 4, 0),            /* cbz x0, PC+4      */
        A_RET,
    };
    const uint32_t want[] = {
        A_CBZ_X(N, PC + 4, 0),             /* cbz x0, PC+4      */
        A_B(N + 4, PC + 4),                /* b PC+4            */
    };
    RELOCATES_TO(in, 4, N, want);
}

/* ---- literal loads -------------------------------------------------------------- */

Test(arch_aarch64_relocate, ldr_literal_in_reach_is_recomputed)
{
    static const uint32_t in[] = {
        A_LDR_X(PC, PC + 0x800, 1),        /* ldr x1, PC+0x800  */
        A_LDR_Q(PC + 4, PC + 0x810, 0),    /* ldr q0, PC+0x810  */
        A_RET,
    };
    const uint32_t want[] = {
        A_LDR_X(N, PC + 0x800, 1),         /* ldr x1, PC+0x800  */
        A_LDR_Q(N + 4, PC + 0x810, 0),     /* ldr q0, PC+0x810  */
        A_B(N + 8, PC + 8),                /* b PC+8            */
    };
    RELOCATES_TO(in, 8, N, want);
}

Test(arch_aarch64_relocate, ldr_x_literal_out_of_reach_loads_through_its_register)
{
    static const uint32_t in[] = {
        A_LDR_X(PC, PC + 0x800, 1),        /* ldr x1, PC+0x800  */
        A_RET,
    };
    const uint32_t want[] = {
        A_LDR_X(F, F + 8, 1),              /* ldr x1, .+8       */
        A_B_12,                            /* b .+12            */
        A_QUAD(PC + 0x800),                /* .quad PC+0x800    */
        0xf9400021u,                       /* ldr x1, [x1]      */
        A_LDR_X16_8,                       /* ldr x16, .+8      */
        A_BR_X16,                          /* br x16            */
        A_QUAD(PC + 4),                    /* .quad PC+4        */
    };
    RELOCATES_TO(in, 4, F, want);
}

Test(arch_aarch64_relocate, ldr_w_and_ldrsw_literal_out_of_reach)
{
    static const uint32_t in[] = {
        A_LDR_W(PC, PC + 0x800, 2),        /* ldr w2, PC+0x800   */
        A_LDRSW(PC + 4, PC + 0x804, 4),    /* ldrsw x4, PC+0x804 */
        A_RET,
    };
    const uint32_t want[] = {
        A_LDR_X(M, M + 8, 2),              /* ldr x2, .+8        */
        A_B_12,                            /* b .+12             */
        A_QUAD(PC + 0x800),                /* .quad PC+0x800     */
        0xb9400042u,                       /* ldr w2, [x2]       */
        A_LDR_X(M + 20, M + 28, 4),        /* ldr x4, .+8        */
        A_B_12,                            /* b .+12             */
        A_QUAD(PC + 0x804),                /* .quad PC+0x804     */
        0xb9800084u,                       /* ldrsw x4, [x4]     */
        A_B(M + 40, PC + 8),               /* b PC+8             */
    };
    RELOCATES_TO(in, 8, M, want);
}

Test(arch_aarch64_relocate, simd_literals_out_of_reach_load_through_x17)
{
    static const uint32_t in[] = {
        A_LDR_Q(PC, PC + 0x800, 0),        /* ldr q0, PC+0x800   */
        A_LDR_D(PC + 4, PC + 0x810, 1),    /* ldr d1, PC+0x810   */
        A_LDR_S(PC + 8, PC + 0x818, 2),    /* ldr s2, PC+0x818   */
        A_NOP,                             /* nop                */
        A_RET,
    };
    const uint32_t want[] = {
        A_LDR_X(M, M + 8, 17),             /* ldr x17, .+8       */
        A_B_12,                            /* b .+12             */
        A_QUAD(PC + 0x800),                /* .quad PC+0x800     */
        0x3dc00220u,                       /* ldr q0, [x17]      */
        A_LDR_X(M + 20, M + 28, 17),       /* ldr x17, .+8       */
        A_B_12,                            /* b .+12             */
        A_QUAD(PC + 0x810),                /* .quad PC+0x810     */
        0xfd400221u,                       /* ldr d1, [x17]      */
        A_LDR_X(M + 40, M + 48, 17),       /* ldr x17, .+8       */
        A_B_12,                            /* b .+12             */
        A_QUAD(PC + 0x818),                /* .quad PC+0x818     */
        0xbd400222u,                       /* ldr s2, [x17]      */
        A_NOP,                             /* nop                */
        A_B(M + 64, PC + 16),              /* b PC+16            */
    };
    RELOCATES_TO(in, 16, M, want);
}

Test(arch_aarch64_relocate, prfm_and_ldr_xzr_out_of_reach_use_x17)
{
    static const uint32_t in[] = {
        A_PRFM(PC, PC + 0x800, 0),         /* prfm pldl1keep, PC+0x800 */
        A_LDR_X(PC + 4, PC + 0x808, 31),   /* ldr xzr, PC+0x808        */
        A_RET,
    };
    const uint32_t want[] = {
        A_LDR_X(M, M + 8, 17),             /* ldr x17, .+8             */
        A_B_12,                            /* b .+12                   */
        A_QUAD(PC + 0x800),                /* .quad PC+0x800           */
        0xf9800220u,                       /* prfm pldl1keep, [x17]    */
        A_LDR_X(M + 20, M + 28, 17),       /* ldr x17, .+8             */
        A_B_12,                            /* b .+12                   */
        A_QUAD(PC + 0x808),                /* .quad PC+0x808           */
        0xf940023fu,                       /* ldr xzr, [x17]           */
        A_B(M + 40, PC + 8),               /* b PC+8                   */
    };
    RELOCATES_TO(in, 8, M, want);
}

Test(arch_aarch64_relocate, literal_after_a_near_patch_is_not_overwritten)
{
    static const uint32_t in[] = {
        A_LDR_X(PC, PC + 8, 0),            /* ldr x0, PC+8      */
        A_RET,                             /* ret               */
        A_QUAD(0x1122334455667788),        /* .quad (data)      */
    };
    const uint32_t want[] = {
        A_LDR_X(N, PC + 8, 0),             /* ldr x0, PC+8      */
        A_B(N + 4, PC + 4),                /* b PC+4            */
    };
    RELOCATES_TO(in, 4, N, want);
}

Test(arch_aarch64_relocate, prfm_of_the_patched_bytes_relocates)
{
    static const uint32_t in[] = {
        A_PRFM(PC, PC + 8, 0),             /* prfm pldl1keep, PC+8 */
        A_ADD_X0_1, A_ADD_X0_1, A_ADD_X0_1,/* add x0, x0, #1 (x3)  */
        A_RET,
    };
    const uint32_t want[] = {
        A_PRFM(N, PC + 8, 0),              /* prfm pldl1keep, PC+8 */
        A_ADD_X0_1, A_ADD_X0_1, A_ADD_X0_1,/* add x0, x0, #1 (x3)  */
        A_B(N + 16, PC + 16),              /* b PC+16              */
    };
    RELOCATES_TO(in, 16, N, want);
}

/* ---- scratch registers ---------------------------------------------------------- */

Test(arch_aarch64_relocate, jump_back_uses_x17_when_the_patch_sets_x16)
{
    static const uint32_t in[] = {
        0xd2820010u,                       /* mov x16, #0x1000      */
        0xcb3063ffu,                       /* sub sp, sp, x16       */
        A_STP_FP_LR,                       /* stp x29, x30, [sp, #-16]! */
        A_MOV_FP_SP,                       /* mov x29, sp           */
        A_RET,
    };
    const uint32_t want[] = {
        0xd2820010u,                       /* mov x16, #0x1000      */
        0xcb3063ffu,                       /* sub sp, sp, x16       */
        A_STP_FP_LR,                       /* stp x29, x30, [sp, #-16]! */
        A_MOV_FP_SP,                       /* mov x29, sp           */
        0x58000051u,                       /* ldr x17, .+8          */
        0xd61f0220u,                       /* br x17                */
        A_QUAD(PC + 16),                   /* .quad PC+16           */
    };
    RELOCATES_TO(in, 16, F, want);
}

Test(arch_aarch64_relocate, jump_back_uses_x17_when_a_load_writes_back_x16)
{
    static const uint32_t in[] = {
        0xf8408600u,                       /* ldr x0, [x16], #8     */
        A_RET,
    };
    const uint32_t want[] = {
        0xf8408600u,                       /* ldr x0, [x16], #8     */
        0x58000051u,                       /* ldr x17, .+8          */
        0xd61f0220u,                       /* br x17                */
        A_QUAD(PC + 4),                    /* .quad PC+4            */
    };
    RELOCATES_TO(in, 4, F, want);
}

Test(arch_aarch64_relocate, literal_address_uses_x16_when_the_patch_sets_x17)
{
    static const uint32_t in[] = {
        0xf9400a11u,                       /* ldr x17, [x16, #16]   */
        A_LDR_Q(PC + 4, PC + 0x800, 0),    /* ldr q0, PC+0x800      */
        A_RET,
    };
    const uint32_t want[] = {
        0xf9400a11u,                       /* ldr x17, [x16, #16]   */
        A_LDR_X(M + 4, M + 12, 16),        /* ldr x16, .+8          */
        A_B_12,                            /* b .+12                */
        A_QUAD(PC + 0x800),                /* .quad PC+0x800        */
        0x3dc00200u,                       /* ldr q0, [x16]         */
        A_B(M + 24, PC + 8),               /* b PC+8                */
    };
    RELOCATES_TO(in, 8, M, want);
}

Test(arch_aarch64_relocate, plt_stub_needs_no_scratch_register)
{
    static const uint32_t in[] = {
        A_ADRP(PC, 0x420000, 16),          /* adrp x16, 0x420000    */
        0xf9400a11u,                       /* ldr x17, [x16, #16]   */
        0x91002210u,                       /* add x16, x16, #0x8    */
        0xd61f0220u,                       /* br x17                */
    };
    const uint32_t want[] = {
        A_LDR_X(F, F + 8, 16),             /* ldr x16, .+8          */
        A_B_12,                            /* b .+12                */
        A_QUAD(0x420000),                  /* .quad 0x420000        */
        0xf9400a11u,                       /* ldr x17, [x16, #16]   */
        0x91002210u,                       /* add x16, x16, #0x8    */
        0xd61f0220u,                       /* br x17                */
    };
    RELOCATES_TO(in, 16, F, want);
}

Test(arch_aarch64_relocate, cannot_relocate_when_the_patch_sets_x16_and_x17_and_a_jump_needs_one)
{
    static const uint32_t in[] = {
        0xa9404410u,                       /* ldp x16, x17, [x0]    */
        A_ADD_X0_1,                        /* add x0, x0, #1        */
        A_NOP, A_NOP,
        A_RET,
    };
    cr_assert_eq(REFUSAL(in, 16, M), CHOOK_OK, "in reach of b: no scratch needed (%s)", err);
    cr_assert_eq(REFUSAL(in, 16, F), CHOOK_EUNRELOC);
    cr_assert(strstr(err, "x16 and x17"), "%s", err);
}

/* ---- refusals ------------------------------------------------------------------- */

Test(arch_aarch64_relocate, cannot_relocate_load_exclusive)
{
    static const uint32_t in[] = {
        A_LDAXR_W1,                        /* ldaxr w1, [x0]        */
        A_ADD_X0_1,                        /* add x0, x0, #1        */
        A_STLXR_W2,                        /* stlxr w2, w1, [x0]    */
        A_RET,
    };
    cr_assert_eq(REFUSAL(in, 4, N), CHOOK_EUNRELOC);
    cr_assert(strstr(err, "load-exclusive") && strstr(err, "+0"), "%s", err);
}

Test(arch_aarch64_relocate, cannot_relocate_store_exclusive)
{
    static const uint32_t in[] = {
        A_ADD_X0_1,                        /* add x0, x0, #1        */
        A_STLXR_W2,                        /* stlxr w2, w1, [x0]    */
        A_NOP, A_NOP,
        A_RET,
    };
    cr_assert_eq(REFUSAL(in, 16, N), CHOOK_EUNRELOC);
    cr_assert(strstr(err, "store-exclusive") && strstr(err, "+4"), "%s", err);
}

Test(arch_aarch64_relocate, cannot_relocate_bl_into_the_patched_bytes)
{
    static const uint32_t in[] = {
        A_BL(PC, PC + 4),                  /* bl PC+4               */
        0xaa1e03e0u,                       /* mov x0, x30           */
        A_NOP, A_NOP,
        A_RET,
    };
    cr_assert_eq(REFUSAL(in, 16, N), CHOOK_EUNRELOC);
    cr_assert(strstr(err, "'bl'"), "%s", err);
}

Test(arch_aarch64_relocate, cannot_relocate_bl_to_the_instruction_after_the_patch)
{
    static const uint32_t in[] = {
        A_BL(PC, PC + 4),                  /* bl PC+4: reads x30 next */
        0xaa1e03e0u,                       /* mov x0, x30           */
        A_RET,
    };
    cr_assert_eq(REFUSAL(in, 4, N), CHOOK_EUNRELOC);
}

Test(arch_aarch64_relocate, cannot_relocate_literal_load_from_the_patched_bytes)
{
    static const uint32_t in[] = {
        A_LDR_X(PC, PC + 8, 0),            /* ldr x0, PC+8          */
        A_NOP,                             /* nop                   */
        A_NOP, A_NOP,                      /* (read as data)        */
        A_RET,
    };
    cr_assert_eq(REFUSAL(in, 16, N), CHOOK_EUNRELOC);
    cr_assert(strstr(err, "loads from +8"), "%s", err);
}

Test(arch_aarch64_relocate, cannot_relocate_literal_load_overlapping_the_patch_start)
{
    static const uint32_t in[] = {
        A_LDR_Q(PC, PC - 8, 0),            /* ldr q0, PC-8 (16 bytes) */
        A_RET,
    };
    cr_assert_eq(REFUSAL(in, 4, N), CHOOK_EUNRELOC);
}

Test(arch_aarch64_relocate, cannot_relocate_unknown_branch_group_word)
{
    static const uint32_t in[] = {
        0x55000000u,                       /* (unallocated in the branch group) */
        A_RET,
    };
    cr_assert_eq(REFUSAL(in, 4, N), CHOOK_EUNRELOC);
    cr_assert(strstr(err, "unknown branch"), "%s", err);
}

Test(arch_aarch64_relocate, rejects_a_misaligned_trampoline_or_foreign_plan)
{
    static const uint8_t code[] = { 0xfd, 0x7b, 0xbf, 0xa9, 0xc0, 0x03, 0x5f, 0xd6 }; /* stp; ret */
    chook_arch_code c = { .bytes = code, .avail = sizeof code, .pc = PC };
    chook_arch_plan p;
    chook_arch_tramp out;
    cr_assert_eq(chook_arch_plan_patch(&c, 4, &p, err, sizeof err), CHOOK_OK);
    cr_assert_eq(chook_arch_relocate(&c, &p, N + 2, &out, err, sizeof err), CHOOK_EINVAL);
    p.insn_off[1] = 3;
    cr_assert_eq(chook_arch_relocate(&c, &p, N, &out, err, sizeof err), CHOOK_EINVAL);
    p.insn_off[1] = 4;
    p.patch_len = 12;
    cr_assert_eq(chook_arch_relocate(&c, &p, N, &out, err, sizeof err), CHOOK_EINVAL);
    cr_assert_eq(chook_arch_relocate(NULL, &p, N, &out, err, sizeof err), CHOOK_EINVAL);
}

/* ---- robustness ----------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* A word of a random class, PC-relative ones over-represented, with small offsets
 * half of the time so that branches between patched instructions occur. */
static uint32_t random_word(void)
{
    static const uint32_t cls[][2] = {
        { 0x7c000000u, 0x14000000u }, /* b / bl            */
        { 0x7e000000u, 0x34000000u }, /* cbz / cbnz        */
        { 0x7e000000u, 0x36000000u }, /* tbz / tbnz        */
        { 0xff000000u, 0x54000000u }, /* b.cond / bc.cond  */
        { 0x3b000000u, 0x18000000u }, /* literal loads     */
        { 0x1f000000u, 0x10000000u }, /* adr / adrp        */
        { 0x3f800000u, 0x08000000u }, /* exclusives, casp  */
        { 0xffffffffu, A_RET },       /* ret               */
        { 0xffffffffu, A_NOP },       /* nop               */
        { 0xffffff3fu, 0xd503241fu }, /* bti               */
        { 0, 0 },                     /* anything          */
        { 0, 0 },
    };
    unsigned k = rnd() % (sizeof cls / sizeof cls[0]);
    uint32_t w = (rnd() & ~cls[k][0]) | cls[k][1];
    if (k < 5 && (rnd() & 1)) {
        int32_t small = (int32_t)(rnd() % 17) - 8;     /* -8 .. 8 words */
        if (k == 0) w = (w & 0xfc000000u) | ((uint32_t)small & 0x03ffffffu);
        else if (k == 2) w = (w & ~(0x3fffu << 5)) | (((uint32_t)small & 0x3fffu) << 5);
        else w = (w & ~(0x7ffffu << 5)) | (((uint32_t)small & 0x7ffffu) << 5);
    }
    return w;
}

Test(arch_aarch64_relocate, random_words_relocate_within_bounds_and_do_the_same)
{
    static const uintptr_t tramps[] = { N, M, F, PC - 0x100000 };
    unsigned planned = 0, relocated = 0;
    for (int iter = 0; iter < 100000; iter++) {
        uint32_t w[10];
        uint8_t code[40];
        chook_arch_code c;
        chook_arch_plan p;
        chook_arch_tramp out;
        size_t need = rnd() & 1 ? 4 : 16;
        uintptr_t tramp = tramps[rnd() % 4];
        char why[256];
        int st;
        for (int i = 0; i < 10; i++) w[i] = random_word();
        to_bytes(code, w, 10);
        c = (chook_arch_code){ .bytes = code, .avail = 4 * (size_t)(1 + rnd() % 10), .pc = PC };
        if (rnd() & 1) c.func_end = PC + 4 * (1 + rnd() % 10);
        st = chook_arch_plan_patch(&c, need, &p, err, sizeof err);
        cr_assert(st == CHOOK_OK || st == CHOOK_ETOOSHORT || st == CHOOK_EUNRELOC ||
                  st == CHOOK_EDECODE, "plan status %d", st);
        if (st != CHOOK_OK) continue;
        planned++;
        cr_assert(p.patch_len == need && (p.skip == 0 || p.skip == 4),
                  "plan %zu+%zu for %zu", p.skip, p.patch_len, need);
        st = chook_arch_relocate(&c, &p, tramp, &out, err, sizeof err);
        cr_assert(st == CHOOK_OK || st == CHOOK_EUNRELOC, "relocate status %d: %s", st, err);
        if (st != CHOOK_OK) continue;
        relocated++;
        cr_assert(out.len <= CHOOK_A64_MAX_TRAMP && out.len % 4 == 0, "length %zu", out.len);
        for (unsigned i = 0; i < p.n_insns; i++)
            cr_assert(out.insn_off[i] < out.insn_off[i + 1] &&
                      out.insn_off[i + 1] - out.insn_off[i] <= CHOOK_A64_MAX_COPY);
        cr_assert(arch_a64_check_tramp(&c, &p, &out, tramp, why, sizeof why),
                  "%s\n  words %08x %08x %08x %08x %08x", why, w[0], w[1], w[2], w[3], w[4]);
    }
    cr_assert(planned > 10000 && relocated > 10000, "planned %u, relocated %u", planned, relocated);
}
