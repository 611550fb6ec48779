/*
 * The aarch64 planner and the branch-into scan: which words a hook overwrites,
 * and when it must refuse. Each case gives the code words (with their
 * disassembly) and the expected plan. Runs on any host.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "arch.h"
#include "arch_aarch64_words.h"
#include "chook.h"

#define PC ((uintptr_t)0x401000) /* 16-byte aligned */
#define NEAR 4
#define FAR 16

static char err[CHOOK_ARCH_ERRLEN];
static uint8_t bytes[256];

static chook_arch_code code_of(const uint32_t *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 4; k++) bytes[4 * i + k] = (uint8_t)(w[i] >> (8 * k));
    return (chook_arch_code){ .bytes = bytes, .avail = 4 * n, .pc = PC };
}

#define CODE(w) code_of(w, sizeof w / 4)

static int plan(const chook_arch_code *c, size_t need, chook_arch_plan *p)
{
    err[0] = 0;
    return chook_arch_plan_patch(c, need, p, err, sizeof err);
}

static void assert_insns(const chook_arch_plan *p, unsigned n)
{
    cr_assert_eq(p->n_insns, n, "n_insns %u, want %u", p->n_insns, n);
    for (unsigned i = 0; i <= n; i++)
        cr_assert_eq(p->insn_off[i], 4 * i, "insn_off[%u] = %u", i, p->insn_off[i]);
}

Test(arch_aarch64_plan, jump_sizes)
{
    cr_assert_eq(chook_arch_jump_size(CHOOK_ARCH_JUMP_NEAR), 4);
    cr_assert_eq(chook_arch_jump_size(CHOOK_ARCH_JUMP_FAR), 16);
}

Test(arch_aarch64_plan, near_patch_takes_one_instruction)
{
    static const uint32_t w[] = {
        A_STP_FP_LR,  /* stp x29, x30, [sp, #-16]! */
        A_MOV_FP_SP,  /* mov x29, sp               */
        A_RET,        /* ret                       */
    };
    chook_arch_code c = CODE(w);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_OK, "%s", err);
    cr_assert_eq(p.skip, 0);
    cr_assert_eq(p.patch_len, 4);
    cr_assert_eq(p.padding_len, 0);
    cr_assert_eq(p.ends_function, 0);
    assert_insns(&p, 1);
}

Test(arch_aarch64_plan, far_patch_takes_four_instructions)
{
    static const uint32_t w[] = {
        A_STP_FP_LR,  /* stp x29, x30, [sp, #-16]! */
        A_MOV_FP_SP,  /* mov x29, sp               */
        A_STR_X19,    /* str x19, [sp, #16]        */
        A_MOV_X19_X0, /* mov x19, x0               */
        A_RET,        /* ret                       */
    };
    chook_arch_code c = CODE(w);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, FAR, &p), CHOOK_OK, "%s", err);
    cr_assert_eq(p.patch_len, 16);
    assert_insns(&p, 4);
}

Test(arch_aarch64_plan, bti_at_entry_is_kept)
{
    static const uint32_t w[] = {
        A_BTI_C,      /* bti c                     */
        A_STP_FP_LR,  /* stp x29, x30, [sp, #-16]! */
        A_RET,        /* ret                       */
    };
    chook_arch_code c = CODE(w);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_OK, "%s", err);
    cr_assert_eq(p.skip, 4);
    cr_assert_eq(p.patch_len, 4);
    assert_insns(&p, 1);
}

Test(arch_aarch64_plan, bti_j_is_kept_too)
{
    static const uint32_t w[] = { A_BTI_J /* bti j */, A_RET /* ret */ };
    chook_arch_code c = CODE(w);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_OK, "%s", err);
    cr_assert_eq(p.skip, 4);
    cr_assert(p.ends_function);
}

Test(arch_aarch64_plan, paciasp_at_entry_is_patched_not_kept)
{
    static const uint32_t w[] = {
        A_PACIASP,    /* paciasp                   */
        A_STP_FP_LR,  /* stp x29, x30, [sp, #-16]! */
        A_RET,        /* ret                       */
    };
    chook_arch_code c = CODE(w);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_OK, "%s", err);
    cr_assert_eq(p.skip, 0);
    assert_insns(&p, 1);
}

Test(arch_aarch64_plan, a_lone_ret_takes_a_near_patch)
{
    static const uint32_t w[] = { A_RET /* ret */ };
    chook_arch_code c = CODE(w);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_OK, "%s", err);
    cr_assert_eq(p.patch_len, 4);
    cr_assert(p.ends_function);
}

Test(arch_aarch64_plan, too_short_before_ret)
{
    static const uint32_t w[] = {
        A_MOV_W0_1,   /* mov w0, #1        */
        A_RET,        /* ret               */
        A_STP_FP_LR,  /* (next function)   */
        A_MOV_FP_SP,
    };
    chook_arch_code c = CODE(w);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, FAR, &p), CHOOK_ETOOSHORT);
    cr_assert(strstr(err, "only 8 bytes") && strstr(err, "'ret' at +4"), "%s", err);
    cr_assert(strstr(err, "no padding"), "%s", err);
}

Test(arch_aarch64_plan, too_short_before_b)
{
    static const uint32_t w[] = {
        A_ADD_X0_1,           /* add x0, x0, #1 */
        A_B(PC + 4, 0x500000), /* b 0x500000     */
        A_STP_FP_LR,          /* (next function) */
        A_MOV_FP_SP,
    };
    chook_arch_code c = CODE(w);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, FAR, &p), CHOOK_ETOOSHORT);
    cr_assert(strstr(err, "'b' at +4"), "%s", err);
}

Test(arch_aarch64_plan, short_function_uses_nop_padding_to_the_16_byte_boundary)
{
    static const uint32_t w[] = {
        A_MOV_W0_1,   /* mov w0, #1 */
        A_RET,        /* ret        */
        A_NOP,        /* nop        */
        A_NOP,        /* nop        */
        A_STP_FP_LR,  /* (next function at +16) */
    };
    chook_arch_code c = CODE(w);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, FAR, &p), CHOOK_OK, "%s", err);
    cr_assert_eq(p.patch_len, 16);
    cr_assert_eq(p.padding_len, 8);
    cr_assert(p.ends_function);
    assert_insns(&p, 2);
}

Test(arch_aarch64_plan, udf_zero_fill_is_padding_too)
{
    static const uint32_t w[] = {
        A_MOV_W0_1,   /* mov w0, #1 */
        A_BR_X1,      /* br x1      */
        A_UDF0,       /* udf #0     */
        A_UDF0,       /* udf #0     */
    };
    chook_arch_code c = CODE(w);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, FAR, &p), CHOOK_OK, "%s", err);
    cr_assert_eq(p.padding_len, 8);
}

Test(arch_aarch64_plan, padding_stops_at_the_next_symbol)
{
    static const uint32_t w[] = {
        A_MOV_W0_1,   /* mov w0, #1              */
        A_RET,        /* ret                     */
        A_NOP,        /* nop                     */
        A_NOP,        /* nop: next symbol starts here (+12) */
    };
    chook_arch_code c = CODE(w);
    chook_arch_plan p;
    c.next_start = PC + 12;
    cr_assert_eq(plan(&c, FAR, &p), CHOOK_ETOOSHORT);
    cr_assert(strstr(err, "only 4 bytes of padding before the next symbol"), "%s", err);
}

Test(arch_aarch64_plan, padding_is_not_taken_inside_the_symbol)
{
    static const uint32_t w[] = {
        A_MOV_W0_1,   /* mov w0, #1 */
        A_RET,        /* ret        */
        A_NOP,        /* nop (still the function by its symbol size) */
        A_NOP,
    };
    chook_arch_code c = CODE(w);
    chook_arch_plan p;
    c.func_end = PC + 16;
    cr_assert_eq(plan(&c, FAR, &p), CHOOK_ETOOSHORT);
    cr_assert(strstr(err, "goes on after it"), "%s", err);
}

Test(arch_aarch64_plan, symbol_size_shorter_than_the_jump)
{
    static const uint32_t w[] = {
        A_ADD_X0_1, A_ADD_X0_1, A_ADD_X0_1, A_ADD_X0_1, /* add x0, x0, #1 (x4) */
    };
    chook_arch_code c = CODE(w);
    chook_arch_plan p;
    c.func_end = PC + 8;
    cr_assert_eq(plan(&c, FAR, &p), CHOOK_ETOOSHORT);
    cr_assert(strstr(err, "symbol size"), "%s", err);
}

Test(arch_aarch64_plan, branch_into_the_padding_is_refused)
{
    static const uint32_t w[] = {
        A_CBZ_X(PC, PC + 8, 0), /* cbz x0, PC+8: the "padding" is code */
        A_RET,                  /* ret                                  */
        A_NOP,                  /* nop                                  */
        A_NOP,                  /* nop                                  */
    };
    chook_arch_code c = CODE(w);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, FAR, &p), CHOOK_ETOOSHORT);
    cr_assert(strstr(err, "jumps to +8"), "%s", err);
}

Test(arch_aarch64_plan, next_symbol_inside_the_patch_is_refused)
{
    static const uint32_t w[] = {
        A_ADD_X0_1, A_ADD_X0_1, A_ADD_X0_1, A_ADD_X0_1, /* add x0, x0, #1 (x4) */
    };
    chook_arch_code c = CODE(w);
    chook_arch_plan p;
    c.next_start = PC + 8;
    cr_assert_eq(plan(&c, FAR, &p), CHOOK_ETOOSHORT);
    cr_assert(strstr(err, "next symbol"), "%s", err);
}

Test(arch_aarch64_plan, functions_end_at_brk_hlt_udf_and_b_al)
{
    static const uint32_t ends[] = {
        A_BRK0,                          /* brk #0       */
        A_HLT0,                          /* hlt #0       */
        0x00000001u,                     /* udf #1       */
        A_BCOND(PC, PC + 0x40, A_AL),    /* b.al PC+0x40 */
        A_BR_X1,                         /* br x1        */
        0xd65f0bffu,                     /* retaa        */
    };
    for (size_t i = 0; i < sizeof ends / 4; i++) {
        uint32_t w[2] = { ends[i], A_RET };
        chook_arch_code c = code_of(w, 2);
        chook_arch_plan p;
        cr_assert_eq(plan(&c, NEAR, &p), CHOOK_OK, "%08x: %s", ends[i], err);
        cr_assert(p.ends_function, "%08x falls through", ends[i]);
    }
}

Test(arch_aarch64_plan, calls_and_conditional_branches_fall_through)
{
    static const uint32_t goes_on[] = {
        A_BLR_X1,                        /* blr x1       */
        A_BL(PC, 0x500000),              /* bl 0x500000  */
        A_BCOND(PC, PC + 0x40, A_NE),    /* b.ne PC+0x40 */
        A_CBZ_X(PC, PC + 0x40, 0),       /* cbz x0, ...  */
        A_TBZ(PC, PC + 0x40, 1, 0),      /* tbz w0, #1   */
        0xd63f083fu,                     /* blraaz x1    */
    };
    for (size_t i = 0; i < sizeof goes_on / 4; i++) {
        uint32_t w[2] = { goes_on[i], A_RET };
        chook_arch_code c = code_of(w, 2);
        chook_arch_plan p;
        cr_assert_eq(plan(&c, NEAR, &p), CHOOK_OK, "%08x: %s", goes_on[i], err);
        cr_assert(!p.ends_function, "%08x ends the function", goes_on[i]);
    }
}

Test(arch_aarch64_plan, unallocated_word_does_not_decode)
{
    static const uint32_t w[] = {
        A_ADD_X0_1,   /* add x0, x0, #1          */
        0x02000000u,  /* (op0 = 0001, unallocated) */
        A_NOP, A_RET,
    };
    chook_arch_code c = CODE(w);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, FAR, &p), CHOOK_EDECODE);
    cr_assert(strstr(err, "+4") && strstr(err, "0x02000000"), "%s", err);
}

Test(arch_aarch64_plan, too_few_readable_bytes)
{
    static const uint32_t w[] = { A_ADD_X0_1, A_ADD_X0_1 };
    chook_arch_code c = CODE(w);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, FAR, &p), CHOOK_EDECODE);
}

Test(arch_aarch64_plan, rejects_invalid_requests)
{
    static const uint32_t w[] = { A_ADD_X0_1, A_RET };
    chook_arch_code c = CODE(w);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, 0, &p), CHOOK_EINVAL);
    cr_assert_eq(plan(&c, CHOOK_ARCH_MAX_PATCH + 1, &p), CHOOK_EINVAL);
    cr_assert_eq(plan(NULL, NEAR, &p), CHOOK_EINVAL);
    cr_assert_eq(plan(&c, NEAR, NULL), CHOOK_EINVAL);
    c.pc = PC + 2;
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_EINVAL);
}

/* ---- the branch-into scan ------------------------------------------------------- */

Test(arch_aarch64_plan, branch_back_into_patch_is_found)
{
    static const uint32_t w[] = {
        A_CMP_X0_0,                      /* +0  cmp x0, #0     */
        A_ADD_X0_1,                      /* +4  add x0, x0, #1 */
        A_ADD_X0_1,                      /* +8  add x0, x0, #1 */
        A_ADD_X0_1,                      /* +12 add x0, x0, #1 */
        A_MOV_W0_1,                      /* +16 mov w0, #1     */
        A_BCOND(PC + 20, PC + 8, A_NE),  /* +20 b.ne PC+8      */
        A_RET,                           /* +24 ret            */
    };
    chook_arch_code c = CODE(w);
    uintptr_t from = 0, to = 0;
    cr_assert(chook_arch_find_branch_into(&c, PC, PC + 16, &from, &to));
    cr_assert_eq(from, PC + 20);
    cr_assert_eq(to, PC + 8);
    /* A near patch covers only +0: +8 is outside it. */
    cr_assert_not(chook_arch_find_branch_into(&c, PC, PC + 4, &from, &to));
}

Test(arch_aarch64_plan, branch_back_into_patch_by_tbz_cbz_and_b_is_found)
{
    const uint32_t forms[] = {
        A_TBZ(PC + 20, PC + 4, 7, 1),    /* tbz w1, #7, PC+4 */
        A_CBZ_W(PC + 20, PC + 12, 2),    /* cbz w2, PC+12    */
        A_B(PC + 20, PC + 8),            /* b PC+8           */
        A_BL(PC + 20, PC + 4),           /* bl PC+4          */
    };
    for (size_t i = 0; i < sizeof forms / 4; i++) {
        uint32_t w[] = { A_CMP_X0_0, A_ADD_X0_1, A_ADD_X0_1, A_ADD_X0_1, A_MOV_W0_1,
                         forms[i], A_RET };
        chook_arch_code c = code_of(w, 7);
        uintptr_t from = 0;
        cr_assert(chook_arch_find_branch_into(&c, PC, PC + 16, &from, NULL), "%08x", forms[i]);
        cr_assert_eq(from, PC + 20);
    }
}

Test(arch_aarch64_plan, branch_to_the_patch_start_or_from_inside_is_not_into)
{
    static const uint32_t w[] = {
        A_CMP_X0_0,                      /* +0  cmp x0, #0  */
        A_BCOND(PC + 4, PC + 8, A_EQ),   /* +4  b.eq PC+8 (inside: relocated) */
        A_ADD_X0_1,                      /* +8              */
        A_ADD_X0_1,                      /* +12             */
        A_BCOND(PC + 16, PC, A_NE),      /* +16 b.ne PC (the entry: fine) */
        A_RET,
    };
    chook_arch_code c = CODE(w);
    cr_assert_not(chook_arch_find_branch_into(&c, PC, PC + 16, NULL, NULL));
}

Test(arch_aarch64_plan, scan_stops_at_the_function_end)
{
    static const uint32_t w[] = {
        A_CMP_X0_0, A_ADD_X0_1, A_ADD_X0_1, A_ADD_X0_1,
        A_RET,                           /* +16 ret         */
        A_NOP,                           /* +20 padding     */
        A_B(PC + 24, PC + 8),            /* +24 another function's b PC+8 */
    };
    chook_arch_code c = CODE(w);
    cr_assert_not(chook_arch_find_branch_into(&c, PC, PC + 16, NULL, NULL));
    c.func_end = PC + 28; /* by its symbol size the b belongs to it */
    cr_assert(chook_arch_find_branch_into(&c, PC, PC + 16, NULL, NULL));
}

/* ---- back edges, the module sweep, instruction boundaries ------------------------ */

Test(arch_aarch64_plan, loop_through_the_entry_is_a_back_edge_and_bl_is_not)
{
    static const uint32_t w[] = {
        A_CMP_X0_0,                      /* +0  cmp x0, #0     */
        A_ADD_X0_1,                      /* +4                 */
        A_BL(PC + 8, PC),                /* +8  bl PC (recursion) */
        A_BCOND(PC + 12, PC, A_NE),      /* +12 b.ne PC (a loop through the entry) */
        A_RET,
    };
    chook_arch_code c = CODE(w);
    chook_arch_scan s;
    cr_assert_eq(chook_arch_scan_function(&c, PC, PC + 4, PC, &s), CHOOK_ARCH_SCAN_BACK);
    cr_assert_eq(s.back_from, PC + 12);
    cr_assert_eq(s.back_to, PC);
    cr_assert_eq(chook_arch_scan_function(&c, PC, PC + 4, 0, &s), 0);
}

struct a64_seen { uintptr_t from[4], to[4]; int call[4]; unsigned n; };

static void a64_record(void *data, uintptr_t from, uintptr_t to, int is_call)
{
    struct a64_seen *s = data;
    if (s->n < 4) {
        s->from[s->n] = from;
        s->to[s->n] = to;
        s->call[s->n] = is_call;
    }
    s->n++;
}

Test(arch_aarch64_plan, sweep_reports_direct_branches_and_steps_over_data)
{
    static const uint32_t w[] = {
        A_CMP_X0_0,                      /* +0                 */
        A_BL(PC + 4, PC + 16),           /* +4  bl PC+16       */
        0x00000000u,                     /* +8  udf #0 (data)  */
        A_CBZ_W(PC + 12, PC, 2),         /* +12 cbz w2, PC     */
        A_RET,                           /* +16                */
    };
    chook_arch_code c = CODE(w);
    struct a64_seen s = { 0 };
    cr_assert_eq(chook_arch_sweep_branches(&c, sizeof w, a64_record, &s), sizeof w);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(s.from[0], PC + 4);
    cr_assert_eq(s.to[0], PC + 16);
    cr_assert_eq(s.call[0], 1);
    cr_assert_eq(s.from[1], PC + 12);
    cr_assert_eq(s.to[1], PC);
    cr_assert_eq(s.call[1], 0);
}

Test(arch_aarch64_plan, only_word_aligned_addresses_are_instruction_boundaries)
{
    static const uint32_t w[] = { A_CMP_X0_0, A_ADD_X0_1, A_RET };
    chook_arch_code c = CODE(w);
    uintptr_t insn = 0;
    size_t len = 0;
    cr_assert_eq(chook_arch_insn_boundary(&c, PC + 4, &insn, &len), 1);
    cr_assert_eq(chook_arch_insn_boundary(&c, PC + 6, &insn, &len), 0);
    cr_assert_eq(insn, PC + 4);
    cr_assert_eq(len, 4);
    cr_assert_eq(chook_arch_insn_boundary(&c, PC - 4, &insn, &len), -1);
}
