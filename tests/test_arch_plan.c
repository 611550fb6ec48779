/*
 * The x86-64 planner: which bytes a hook overwrites, and when it must refuse.
 * Each case gives the code bytes (with their disassembly) and the expected plan.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "arch.h"
#include "chook.h"

#define PC ((uintptr_t)0x401000) /* 16-byte aligned */
#define NEAR 5
#define FAR 14

static char err[CHOOK_ARCH_ERRLEN];

static chook_arch_code code_of(const uint8_t *b, size_t n, uintptr_t pc)
{
    return (chook_arch_code){ .bytes = b, .avail = n, .pc = pc };
}

static int plan(const chook_arch_code *c, size_t need, chook_arch_plan *p)
{
    err[0] = 0;
    return chook_arch_plan_patch(c, need, p, err, sizeof err);
}

static void assert_offsets(const chook_arch_plan *p, const uint8_t *want, unsigned n)
{
    cr_assert_eq(p->n_insns, n, "n_insns %u, want %u", p->n_insns, n);
    for (unsigned i = 0; i <= n; i++)
        cr_assert_eq(p->insn_off[i], want[i], "insn_off[%u] = %u, want %u", i,
                     p->insn_off[i], want[i]);
}

Test(arch_plan, jump_sizes)
{
    cr_assert_eq(chook_arch_jump_size(CHOOK_ARCH_JUMP_NEAR), 5);
    cr_assert_eq(chook_arch_jump_size(CHOOK_ARCH_JUMP_FAR), 14);
}

Test(arch_plan, plain_prologue_takes_whole_instructions)
{
    static const uint8_t b[] = {
        0x55,                   /* push rbp        */
        0x48, 0x89, 0xe5,       /* mov rbp, rsp    */
        0x48, 0x83, 0xec, 0x20, /* sub rsp, 0x20   */
        0x89, 0x7d, 0xfc,       /* mov [rbp-4], edi */
        0xc9, 0xc3,             /* leave; ret      */
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_OK, "%s", err);
    cr_assert_eq(p.skip, 0);
    cr_assert_eq(p.patch_len, 8);
    cr_assert_eq(p.padding_len, 0);
    cr_assert_eq(p.ends_function, 0);
    assert_offsets(&p, (const uint8_t[]){ 0, 1, 4, 8 }, 3);
}

Test(arch_plan, far_jump_plan_covers_14_bytes)
{
    static const uint8_t b[] = {
        0x55,                   /* push rbp             */
        0x48, 0x89, 0xe5,       /* mov rbp, rsp         */
        0x48, 0x83, 0xec, 0x20, /* sub rsp, 0x20        */
        0x89, 0x7d, 0xfc,       /* mov [rbp-4], edi     */
        0x89, 0x75, 0xf8,       /* mov [rbp-8], esi     */
        0x8b, 0x45, 0xfc,       /* mov eax, [rbp-4]     */
        0xc9, 0xc3,             /* leave; ret           */
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, FAR, &p), CHOOK_OK, "%s", err);
    cr_assert_eq(p.patch_len, 14);
    assert_offsets(&p, (const uint8_t[]){ 0, 1, 4, 8, 11, 14 }, 5);
}

Test(arch_plan, endbr64_at_entry_is_kept)
{
    static const uint8_t b[] = {
        0xf3, 0x0f, 0x1e, 0xfa, /* endbr64          */
        0x55,                   /* push rbp         */
        0x48, 0x89, 0xe5,       /* mov rbp, rsp     */
        0x41, 0x54,             /* push r12         */
        0x53,                   /* push rbx         */
        0xc3,                   /* ret              */
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_OK, "%s", err);
    cr_assert_eq(p.skip, 4);
    cr_assert_eq(p.patch_len, 6);
    assert_offsets(&p, (const uint8_t[]){ 0, 1, 4, 6 }, 3);
}

Test(arch_plan, endbr64_later_in_the_code_is_an_ordinary_instruction)
{
    static const uint8_t b[] = {
        0x90,                   /* nop     */
        0xf3, 0x0f, 0x1e, 0xfa, /* endbr64 */
        0xc3,                   /* ret     */
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_OK, "%s", err);
    cr_assert_eq(p.skip, 0);
    cr_assert_eq(p.patch_len, 5);
}

Test(arch_plan, jmp_that_fills_the_patch_ends_the_function)
{
    static const uint8_t b[] = {
        0x8d, 0x47, 0x07, /* lea eax, [rdi+7] */
        0xeb, 0x03,       /* jmp +3           */
        0xcc, 0xcc, 0xcc, /* int3 x3          */
        0x01, 0xc0, 0xc3, /* add eax, eax; ret */
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_OK, "%s", err);
    cr_assert_eq(p.patch_len, 5);
    cr_assert_eq(p.padding_len, 0);
    cr_assert_eq(p.ends_function, 1);
}

Test(arch_plan, short_function_uses_int3_padding)
{
    static const uint8_t b[16] = {
        0x89, 0xf8, /* mov eax, edi */
        0xc3,       /* ret          */
        0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    chook_arch_plan p;
    c.func_end = PC + 3;
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_OK, "%s", err);
    cr_assert_eq(p.patch_len, 5);
    cr_assert_eq(p.padding_len, 2);
    cr_assert_eq(p.ends_function, 1);
    assert_offsets(&p, (const uint8_t[]){ 0, 2, 3 }, 2);
    /* The far jump also fits: 3 bytes + 11 of the 13 bytes of padding. */
    cr_assert_eq(plan(&c, FAR, &p), CHOOK_OK, "%s", err);
    cr_assert_eq(p.patch_len, 14);
    cr_assert_eq(p.padding_len, 11);
}

Test(arch_plan, short_function_uses_multibyte_nop_padding_whole)
{
    static const uint8_t b[16] = {
        0x8d, 0x47, 0xff,                   /* lea eax, [rdi-1]       */
        0xc3,                               /* ret                    */
        0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00, /* nop word [rax+rax+0]   */
        0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00, /* nop word [rax+rax+0]   */
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_OK, "%s", err);
    /* The nop is taken whole: patch = 4 + 6. */
    cr_assert_eq(p.patch_len, 10);
    cr_assert_eq(p.padding_len, 6);
    assert_offsets(&p, (const uint8_t[]){ 0, 3, 4 }, 2);
}

Test(arch_plan, too_short_without_padding)
{
    static const uint8_t b[] = {
        0x89, 0xf8,       /* mov eax, edi                    */
        0xc3,             /* ret                             */
        0x8d, 0x47, 0x05, /* lea eax, [rdi+5]: the next function */
        0xc3,             /* ret                             */
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_ETOOSHORT);
    cr_assert(strstr(err, "only 3 bytes"), "%s", err);
    cr_assert(strstr(err, "'ret' at +2"), "%s", err);
    cr_assert(strstr(err, "no padding"), "%s", err);
}

Test(arch_plan, too_short_when_padding_runs_into_the_next_symbol)
{
    static const uint8_t b[16] = {
        0x89, 0xf8, /* mov eax, edi */
        0xc3,       /* ret          */
        0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    chook_arch_plan p;
    c.next_start = PC + 4; /* a symbol starts at the second int3 */
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_ETOOSHORT);
    cr_assert(strstr(err, "only 1 byte of padding before the next symbol at +4"), "%s", err);
    /* Exactly enough room is enough. */
    c.next_start = PC + 5;
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_OK, "%s", err);
    cr_assert_eq(p.patch_len, 5);
}

Test(arch_plan, too_short_when_padding_crosses_the_16_byte_boundary)
{
    static const uint8_t b[] = {
        0x89, 0xf8, /* mov eax, edi   (at 0x40100c) */
        0xc3,       /* ret                           */
        0xcc,       /* int3           (at 0x40100f) */
        0xcc, 0xcc, 0xcc, /* int3 x3 past the boundary at 0x401010 */
    };
    chook_arch_code c = code_of(b, sizeof b, PC + 12);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_ETOOSHORT);
    cr_assert(strstr(err, "16-byte boundary"), "%s", err);
}

Test(arch_plan, padding_must_lie_after_the_symbol_end)
{
    static const uint8_t b[] = {
        0x85, 0xff,       /* test edi, edi   */
        0xc3,             /* ret             */
        0x90, 0x90,       /* nop; nop: still inside the symbol */
        0xc3,             /* ret             */
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    chook_arch_plan p;
    c.func_end = PC + 6;
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_ETOOSHORT);
    cr_assert(strstr(err, "goes on after it"), "%s", err);
}

Test(arch_plan, relocated_code_must_not_run_past_the_symbol_end)
{
    static const uint8_t b[] = {
        0x89, 0xf8,                   /* mov eax, edi              */
        0xe8, 0x00, 0x10, 0x00, 0x00, /* call +0x1000 (noreturn): symbol ends here */
        0x55,                         /* push rbp: the next function */
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    chook_arch_plan p;
    c.func_end = PC + 2;
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_ETOOSHORT);
    cr_assert(strstr(err, "only 2 bytes"), "%s", err);
}

Test(arch_plan, patch_must_not_overwrite_the_next_symbol)
{
    static const uint8_t b[] = {
        0x31, 0xc0,       /* xor eax, eax                            */
        0xff, 0xc0,       /* inc eax: a second entry point starts here */
        0xff, 0xc0,       /* inc eax                                  */
        0xc3,             /* ret                                      */
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    chook_arch_plan p;
    c.next_start = PC + 2;
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_ETOOSHORT);
    cr_assert(strstr(err, "next symbol at +2"), "%s", err);
}

Test(arch_plan, undecodable_bytes_give_edecode)
{
    static const uint8_t b[] = {
        0x55, /* push rbp                              */
        0x06, /* push es: invalid in 64-bit mode       */
        0x90, 0x90, 0x90, 0x90,
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_EDECODE);
    cr_assert(strstr(err, "+1 (06 90 90 90"), "%s", err);
}

Test(arch_plan, truncated_instruction_gives_edecode)
{
    static const uint8_t b[] = {
        0x90,             /* nop                                  */
        0x48, 0x8b, 0x05, /* mov rax, [rip+...]: disp32 missing   */
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_EDECODE);
}

Test(arch_plan, cannot_relocate_xbegin)
{
    static const uint8_t b[] = {
        0x55,                               /* push rbp     */
        0x90, 0x90,                         /* nop; nop     */
        0xc7, 0xf8, 0x02, 0x00, 0x00, 0x00, /* xbegin +2    */
        0xc3,
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_EUNRELOC);
    cr_assert_str_eq(err, "instruction 'xbegin' at +3 cannot be relocated");
}

Test(arch_plan, cannot_relocate_call_into_relocated_range)
{
    static const uint8_t b[] = {
        0xe8, 0x00, 0x00, 0x00, 0x00, /* call +0: pushes its own address */
        0x58,                         /* pop rax                          */
        0xc3,                         /* ret                              */
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_EUNRELOC);
    cr_assert(strstr(err, "'call' at +0 calls +5"), "%s", err);
}

Test(arch_plan, cannot_relocate_call_to_a_later_patched_instruction)
{
    static const uint8_t b[] = {
        0xe8, 0x01, 0x00, 0x00, 0x00, /* call +1 (to the pop at +6)    */
        0x90,                         /* nop                          */
        0x58,                         /* pop rax                      */
        0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90,
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, FAR, &p), CHOOK_EUNRELOC);
}

Test(arch_plan, cannot_relocate_branch_into_the_middle_of_an_instruction)
{
    static const uint8_t b[] = {
        0x75, 0xff,       /* jnz -1: into its own second byte */
        0x90, 0x90, 0x90, 0xc3,
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_EUNRELOC);
    cr_assert(strstr(err, "middle"), "%s", err);
}

Test(arch_plan, cannot_relocate_branch_into_the_middle_of_the_kept_endbr64)
{
    static const uint8_t b[] = {
        0xf3, 0x0f, 0x1e, 0xfa, /* endbr64                     */
        0x75, 0xfb,             /* jnz -5 (to +1: inside it)   */
        0x90, 0x90, 0x90, 0xc3,
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_EUNRELOC);
    cr_assert(strstr(err, "middle of the endbr64"), "%s", err);
}

Test(arch_plan, cannot_relocate_eip_relative_operand)
{
    static const uint8_t b[] = {
        0x67, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00, /* mov eax, [eip+0x10] */
        0xc3,
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_EUNRELOC);
}

Test(arch_plan, branch_into_padding_means_it_is_not_padding)
{
    static const uint8_t b[16] = {
        0x74, 0x01, /* je +1 (to +3)   */
        0xc3,       /* ret             */
        0xcc,       /* int3: a branch target, so not padding */
        0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, NEAR, &p), CHOOK_ETOOSHORT);
    cr_assert(strstr(err, "not padding"), "%s", err);
}

Test(arch_plan, bad_requests_give_einval)
{
    static const uint8_t b[] = { 0x90, 0x90, 0x90, 0x90, 0x90, 0xc3 };
    chook_arch_code c = code_of(b, sizeof b, PC);
    chook_arch_plan p;
    cr_assert_eq(plan(&c, 0, &p), CHOOK_EINVAL);
    cr_assert_eq(plan(&c, CHOOK_ARCH_MAX_PATCH + 1, &p), CHOOK_EINVAL);
    cr_assert_eq(plan(NULL, NEAR, &p), CHOOK_EINVAL);
    cr_assert_eq(chook_arch_plan_patch(&c, NEAR, NULL, NULL, 0), CHOOK_EINVAL);
}

/* ---- chook_arch_find_branch_into --------------------------------------------- */

static const uint8_t backjump[] = {
    0x31, 0xc0, /* +0 xor eax, eax */
    0x01, 0xf8, /* +2 add eax, edi */
    0xff, 0xce, /* +4 dec esi      */
    0x75, 0xfa, /* +6 jnz -6 (to +2) */
    0xc3,       /* +8 ret          */
};

Test(arch_branch_into, finds_a_loop_back_into_the_prologue)
{
    chook_arch_code c = code_of(backjump, sizeof backjump, PC);
    uintptr_t from = 0, to = 0;
    cr_assert_eq(chook_arch_find_branch_into(&c, PC, PC + 6, &from, &to), 1);
    cr_assert_eq(from, PC + 6);
    cr_assert_eq(to, PC + 2);
}

Test(arch_branch_into, branch_to_the_first_patched_byte_is_fine)
{
    static const uint8_t b[] = {
        0x31, 0xc0, /* +0 xor eax, eax  */
        0x01, 0xf8, /* +2 add eax, edi  */
        0xff, 0xce, /* +4 dec esi       */
        0x75, 0xfa, /* +6 jnz -6 (to +2) */
        0xc3,
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    uintptr_t from = 0, to = 0;
    /* Patch from +2: the loop lands on its first byte, where the jump starts. */
    cr_assert_eq(chook_arch_find_branch_into(&c, PC + 2, PC + 6, &from, &to), 0);
    /* One byte earlier, the same loop lands inside. */
    cr_assert_eq(chook_arch_find_branch_into(&c, PC + 1, PC + 6, &from, &to), 1);
    /* A branch to the end of the range is not into it either. */
    cr_assert_eq(chook_arch_find_branch_into(&c, PC - 4, PC + 2, &from, &to), 0);
}

Test(arch_branch_into, branches_from_inside_the_range_do_not_count)
{
    static const uint8_t b[] = {
        0x83, 0xc7, 0x02, /* +0 add edi, 2     */
        0xe2, 0xfb,       /* +3 loop -5 (to +0) */
        0x89, 0xf8,       /* mov eax, edi      */
        0xc3,
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    uintptr_t from = 0, to = 0;
    cr_assert_eq(chook_arch_find_branch_into(&c, PC, PC + 5, &from, &to), 0);
}

Test(arch_branch_into, sees_jcc_call_and_loop_forms)
{
    static const uint8_t b[] = {
        0x55, 0x48, 0x89, 0xe5,             /* +0 push rbp; mov rbp, rsp   */
        0x90, 0x90,                         /* +4 nop; nop                 */
        0x0f, 0x84, 0xf6, 0xff, 0xff, 0xff, /* +6 je rel32 -10 (to +2)     */
        0xc3,
    };
    static const uint8_t l[] = {
        0x55, 0x48, 0x89, 0xe5, 0x90, /* +0 push rbp; mov rbp, rsp; nop */
        0xe0, 0xfb,                   /* +5 loopne -5 (to +2)           */
        0xc3,
    };
    static const uint8_t k[] = {
        0x55, 0x48, 0x89, 0xe5, 0x90,  /* +0 push rbp; mov rbp, rsp; nop */
        0xe8, 0xf9, 0xff, 0xff, 0xff,  /* +5 call -7 (to +3)             */
        0xc3,
    };
    uintptr_t from = 0, to = 0;
    chook_arch_code c = code_of(b, sizeof b, PC);
    cr_assert_eq(chook_arch_find_branch_into(&c, PC, PC + 5, &from, &to), 1);
    cr_assert_eq(to, PC + 2);
    c = code_of(l, sizeof l, PC);
    cr_assert_eq(chook_arch_find_branch_into(&c, PC, PC + 5, &from, &to), 1);
    cr_assert_eq(from, PC + 5);
    c = code_of(k, sizeof k, PC);
    cr_assert_eq(chook_arch_find_branch_into(&c, PC, PC + 5, &from, &to), 1);
    cr_assert_eq(to, PC + 3);
}

/* Past a ret and its padding lies another function when the symbol size is not
 * known: its branches are not this function's. */
static const uint8_t two_funcs[] = {
    0x55, 0x48, 0x89, 0xe5, 0x90, /* +0 push rbp; mov rbp, rsp; nop */
    0x5d, 0xc3,                   /* +5 pop rbp; ret                */
    0xcc,                         /* +7 int3 padding                */
    0xeb, 0xf8,                   /* +8 jmp -8 (to +2)              */
};

Test(arch_branch_into, sweep_stops_at_padding_after_the_function_end)
{
    chook_arch_code c = code_of(two_funcs, sizeof two_funcs, PC);
    uintptr_t from = 0, to = 0;
    cr_assert_eq(chook_arch_find_branch_into(&c, PC, PC + 5, &from, &to), 0);
}

Test(arch_branch_into, sweep_covers_the_symbol_when_its_size_is_known)
{
    chook_arch_code c = code_of(two_funcs, sizeof two_funcs, PC);
    uintptr_t from = 0, to = 0;
    c.func_end = PC + sizeof two_funcs;
    cr_assert_eq(chook_arch_find_branch_into(&c, PC, PC + 5, &from, &to), 1);
    cr_assert_eq(from, PC + 8);
    cr_assert_eq(to, PC + 2);
    /* ... and not beyond it. */
    c.func_end = PC + 8;
    cr_assert_eq(chook_arch_find_branch_into(&c, PC, PC + 5, &from, &to), 0);
}

/* ---- chook_arch_scan_function: back edges to the entry ------------------------- */

Test(arch_scan_function, finds_a_loop_through_the_entry)
{
    static const uint8_t b[] = {
        0x83, 0xef, 0x01, /* +0 sub edi, 1      */
        0x83, 0xff, 0x0a, /* +3 cmp edi, 10     */
        0x7f, 0xf8,       /* +6 jg -8 (to +0)   */
        0x89, 0xf8,       /* +8 mov eax, edi    */
        0xc3,             /* +10 ret            */
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    chook_arch_scan s;
    cr_assert_eq(chook_arch_scan_function(&c, PC, PC + 6, PC, &s), CHOOK_ARCH_SCAN_BACK);
    cr_assert_eq(s.back_from, PC + 6);
    cr_assert_eq(s.back_to, PC);
    /* Without an entry to protect (a point inside a function), no back edge. */
    cr_assert_eq(chook_arch_scan_function(&c, PC, PC + 6, 0, &s), 0);
}

Test(arch_scan_function, a_call_of_the_entry_is_recursion_not_a_back_edge)
{
    static const uint8_t b[] = {
        0x31, 0xc0,                   /* +0 xor eax, eax             */
        0x85, 0xff,                   /* +2 test edi, edi            */
        0x7e, 0x06,                   /* +4 jle +6 (to +12)          */
        0xe8, 0xf5, 0xff, 0xff, 0xff, /* +6 call -11 (to +0)         */
        0x90,                         /* +11 nop                     */
        0xc3,                         /* +12 ret                     */
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    chook_arch_scan s;
    cr_assert_eq(chook_arch_scan_function(&c, PC, PC + 6, PC, &s), 0);
}

Test(arch_scan_function, a_loop_to_the_first_byte_after_a_kept_endbr64_is_a_back_edge)
{
    static const uint8_t b[] = {
        0xf3, 0x0f, 0x1e, 0xfa, /* +0 endbr64            */
        0x83, 0xef, 0x01,       /* +4 sub edi, 1         */
        0x83, 0xff, 0x0a,       /* +7 cmp edi, 10        */
        0x7f, 0xf8,             /* +10 jg -8 (to +4)     */
        0xc3,                   /* +12 ret               */
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    chook_arch_scan s;
    cr_assert_eq(chook_arch_scan_function(&c, PC + 4, PC + 10, PC, &s), CHOOK_ARCH_SCAN_BACK);
    cr_assert_eq(s.back_to, PC + 4);
}

Test(arch_scan_function, reports_both_kinds_in_one_sweep)
{
    static const uint8_t b[] = {
        0x31, 0xc0, /* +0 xor eax, eax         */
        0x01, 0xf8, /* +2 add eax, edi         */
        0xff, 0xce, /* +4 dec esi              */
        0x75, 0xfa, /* +6 jnz -6 (to +2)       */
        0x74, 0xf6, /* +8 jz -10 (to +0)       */
        0xc3,       /* +10 ret                 */
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    chook_arch_scan s;
    cr_assert_eq(chook_arch_scan_function(&c, PC, PC + 6, PC, &s),
                 CHOOK_ARCH_SCAN_INTO | CHOOK_ARCH_SCAN_BACK);
    cr_assert_eq(s.into_from, PC + 6);
    cr_assert_eq(s.into_to, PC + 2);
    cr_assert_eq(s.back_from, PC + 8);
}

/* ---- chook_arch_sweep_branches ----------------------------------------------------- */

struct seen_branches {
    uintptr_t from[8], to[8];
    int call[8];
    unsigned n;
};

static void record_branch(void *data, uintptr_t from, uintptr_t to, int is_call)
{
    struct seen_branches *s = data;
    if (s->n < 8) {
        s->from[s->n] = from;
        s->to[s->n] = to;
        s->call[s->n] = is_call;
    }
    s->n++;
}

Test(arch_sweep_branches, reports_every_direct_branch_form)
{
    static const uint8_t b[] = {
        0x55,                               /* +0 push rbp               */
        0x74, 0x10,                         /* +1 jz +16 (to +0x13)      */
        0x0f, 0x85, 0x00, 0x01, 0x00, 0x00, /* +3 jnz rel32 (to +0x109)  */
        0xe8, 0xf2, 0xff, 0xff, 0xff,       /* +9 call -14 (to +0)       */
        0xe2, 0xfe,                         /* +14 loop -2 (to +14)      */
        0xff, 0xe0,                         /* +16 jmp rax (indirect)    */
        0xeb, 0x00,                         /* +18 jmp +0 (to +20)       */
        0xc3,                               /* +20 ret                   */
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    struct seen_branches s = { 0 };
    cr_assert_eq(chook_arch_sweep_branches(&c, sizeof b, record_branch, &s), sizeof b);
    cr_assert_eq(s.n, 5);
    static const uintptr_t from[] = { 1, 3, 9, 14, 18 }, to[] = { 0x13, 0x109, 0, 14, 20 };
    static const int call[] = { 0, 0, 1, 0, 0 };
    for (unsigned i = 0; i < 5; i++) {
        cr_assert_eq(s.from[i], PC + from[i], "branch %u from", i);
        cr_assert_eq(s.to[i], PC + to[i], "branch %u to", i);
        cr_assert_eq(s.call[i], call[i], "branch %u is_call", i);
    }
}

Test(arch_sweep_branches, steps_over_bytes_that_do_not_decode_and_stops_at_until)
{
    static const uint8_t b[] = {
        0x06,       /* +0 invalid in 64-bit mode                  */
        0xeb, 0x01, /* +1 jmp +1 (to +4)                          */
        0x90,       /* +3 nop                                     */
        0xeb, 0xfa, /* +4 jmp -6 (to +0): after `until` below     */
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    struct seen_branches s = { 0 };
    cr_assert_eq(chook_arch_sweep_branches(&c, 4, record_branch, &s), 4);
    cr_assert_eq(s.n, 1);
    cr_assert_eq(s.from[0], PC + 1);
    cr_assert_eq(s.to[0], PC + 4);
    /* An instruction that starts before `until` is decoded whole. */
    s.n = 0;
    cr_assert_eq(chook_arch_sweep_branches(&c, 2, record_branch, &s), 3);
    cr_assert_eq(s.n, 1);
}

/* ---- chook_arch_insn_boundary ----------------------------------------------------- */

Test(arch_insn_boundary, tells_boundaries_from_the_middle_of_an_instruction)
{
    static const uint8_t b[] = {
        0xf3, 0x0f, 0x1e, 0xfa, /* +0 endbr64        */
        0x83, 0xef, 0x01,       /* +4 sub edi, 1     */
        0x89, 0xf8,             /* +7 mov eax, edi   */
        0xc3,                   /* +9 ret            */
    };
    chook_arch_code c = code_of(b, sizeof b, PC);
    uintptr_t insn = 0;
    size_t len = 0;
    cr_assert_eq(chook_arch_insn_boundary(&c, PC, &insn, &len), 1);
    cr_assert_eq(chook_arch_insn_boundary(&c, PC + 4, &insn, &len), 1);
    cr_assert_eq(chook_arch_insn_boundary(&c, PC + 9, &insn, &len), 1);
    cr_assert_eq(chook_arch_insn_boundary(&c, PC + 1, &insn, &len), 0);
    cr_assert_eq(insn, PC);
    cr_assert_eq(len, 4);
    cr_assert_eq(chook_arch_insn_boundary(&c, PC + 6, &insn, &len), 0);
    cr_assert_eq(insn, PC + 4);
    cr_assert_eq(len, 3);
}

Test(arch_insn_boundary, says_nothing_when_the_code_before_does_not_decode)
{
    static const uint8_t b[] = { 0x06, 0x90, 0x90 }; /* invalid; nop; nop */
    chook_arch_code c = code_of(b, sizeof b, PC);
    cr_assert_eq(chook_arch_insn_boundary(&c, PC + 2, NULL, NULL), -1);
    cr_assert_eq(chook_arch_insn_boundary(&c, PC - 1, NULL, NULL), -1);
    /* Past the bytes given: nothing can be said either. */
    chook_arch_code nops = code_of(b + 1, 2, PC);
    cr_assert_eq(chook_arch_insn_boundary(&nops, PC + 2, NULL, NULL), 1);
    cr_assert_eq(chook_arch_insn_boundary(&nops, PC + 5, NULL, NULL), -1);
}

Test(arch_insn_name, names_the_instruction)
{
    static const uint8_t b[] = { 0xeb, 0xfe };
    cr_assert_str_eq(chook_arch_insn_name(b, sizeof b, PC), "jmp");
    cr_assert_str_eq(chook_arch_insn_name((const uint8_t *)"\x06", 1, PC), "?");
    cr_assert_str_eq(chook_arch_insn_name(NULL, 0, PC), "?");
}
