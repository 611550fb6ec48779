/*
 * The x86-64 relocator, byte for byte: each case gives the patched instructions
 * and the trampoline expected at a near (T) or a far (F, more than 2 GiB away)
 * address, each with its disassembly. Every trampoline is also decoded again and
 * checked to branch to and refer to the same absolute addresses as the original
 * (arch_check.h).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "arch.h"
#include "arch_check.h"
#include "chook.h"

#define PC ((uintptr_t)0x401000)      /* where the original code runs */
#define T ((uintptr_t)0x500000)       /* a trampoline within rel32 reach */
#define F ((uintptr_t)0x7f0000001000) /* a trampoline out of rel32 reach */

/* Little-endian fields of the expected code. */
#define B4(v) (uint8_t)(v), (uint8_t)((v) >> 8), (uint8_t)((v) >> 16), (uint8_t)((v) >> 24)
#define B8(v) B4((uint64_t)(v)), B4((uint64_t)(v) >> 32)
/* rel32 of an instruction ending at `next` that goes to `dest`. */
#define REL(dest, next) B4((uint32_t)((uint64_t)(dest) - (uint64_t)(next)))

static char err[CHOOK_ARCH_ERRLEN];

static void hex(char *out, size_t len, const uint8_t *b, size_t n)
{
    out[0] = 0;
    for (size_t i = 0; i < n && 3 * i + 4 < len; i++) snprintf(out + 3 * i, len - 3 * i, "%02x ", b[i]);
}

/* Plans `need` bytes of `in` at PC, relocates to tramp_pc and compares. */
static void relocates_to(const uint8_t *in, size_t n, size_t need, uintptr_t tramp_pc,
                         const uint8_t *want, size_t want_len, chook_arch_tramp *out)
{
    chook_arch_code c = { .bytes = in, .avail = n, .pc = PC };
    chook_arch_plan p;
    char got_hex[1200], want_hex[1200], why[256];

    cr_assert_eq(chook_arch_plan_patch(&c, need, &p, err, sizeof err), CHOOK_OK, "plan: %s", err);
    cr_assert_eq(chook_arch_relocate(&c, &p, tramp_pc, out, err, sizeof err), CHOOK_OK,
                 "relocate: %s", err);
    hex(got_hex, sizeof got_hex, out->bytes, out->len);
    hex(want_hex, sizeof want_hex, want, want_len);
    cr_assert(out->len == want_len && memcmp(out->bytes, want, want_len) == 0,
              "trampoline\n  got  %s\n  want %s", got_hex, want_hex);
    cr_assert(arch_check_tramp(&c, &p, out, tramp_pc, why, sizeof why), "%s", why);
}

#define RELOCATES_TO(in, need, tramp_pc, want)                                 \
    do {                                                                       \
        chook_arch_tramp out_;                                                 \
        relocates_to(in, sizeof in, need, tramp_pc, want, sizeof want, &out_); \
    } while (0)

static int relocate_status(const uint8_t *in, size_t n, size_t need, uintptr_t tramp_pc)
{
    chook_arch_code c = { .bytes = in, .avail = n, .pc = PC };
    chook_arch_plan p;
    chook_arch_tramp out;
    cr_assert_eq(chook_arch_plan_patch(&c, need, &p, err, sizeof err), CHOOK_OK, "plan: %s", err);
    return chook_arch_relocate(&c, &p, tramp_pc, &out, err, sizeof err);
}

/* ---- position-independent code ------------------------------------------------ */

Test(arch_relocate, plain_prologue_is_copied_verbatim)
{
    static const uint8_t in[] = {
        0x55,                   /* push rbp      */
        0x48, 0x89, 0xe5,       /* mov rbp, rsp  */
        0x48, 0x83, 0xec, 0x20, /* sub rsp, 0x20 */
        0xc9, 0xc3,             /* leave; ret    */
    };
    static const uint8_t want[] = {
        0x55,                   /* push rbp      */
        0x48, 0x89, 0xe5,       /* mov rbp, rsp  */
        0x48, 0x83, 0xec, 0x20, /* sub rsp, 0x20 */
        0xe9, REL(PC + 8, T + 13), /* jmp PC+8   */
    };
    chook_arch_tramp out;
    relocates_to(in, sizeof in, 5, T, want, sizeof want, &out);
    cr_assert_eq(out.insn_off[0], 0);
    cr_assert_eq(out.insn_off[1], 1);
    cr_assert_eq(out.insn_off[2], 4);
    cr_assert_eq(out.insn_off[3], 8);
}

Test(arch_relocate, jump_back_is_absolute_out_of_reach)
{
    static const uint8_t in[] = {
        0x55,             /* push rbp     */
        0x48, 0x89, 0xe5, /* mov rbp, rsp */
        0x53,             /* push rbx     */
        0xc3,
    };
    static const uint8_t want[] = {
        0x55, 0x48, 0x89, 0xe5, 0x53,       /* push rbp; mov rbp, rsp; push rbx */
        0xff, 0x25, 0x00, 0x00, 0x00, 0x00, /* jmp [rip+0]                      */
        B8(PC + 5),                         /* .quad PC+5                       */
    };
    RELOCATES_TO(in, 5, F, want);
}

Test(arch_relocate, endbr64_is_not_copied)
{
    static const uint8_t in[] = {
        0xf3, 0x0f, 0x1e, 0xfa, /* endbr64      */
        0x55,                   /* push rbp     */
        0x48, 0x89, 0xe5,       /* mov rbp, rsp */
        0x41, 0x54,             /* push r12     */
        0xc3,
    };
    static const uint8_t want[] = {
        0x55,                       /* push rbp     */
        0x48, 0x89, 0xe5,           /* mov rbp, rsp */
        0x41, 0x54,                 /* push r12     */
        0xe9, REL(PC + 10, T + 11), /* jmp PC+10    */
    };
    RELOCATES_TO(in, 5, T, want);
}

Test(arch_relocate, function_end_needs_no_jump_back)
{
    static const uint8_t in[16] = {
        0x89, 0xf8, /* mov eax, edi */
        0xc3,       /* ret          */
        0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
    };
    static const uint8_t want[] = {
        0x89, 0xf8, /* mov eax, edi */
        0xc3,       /* ret          */
    };
    chook_arch_tramp out;
    relocates_to(in, sizeof in, 5, T, want, sizeof want, &out);
    cr_assert_eq(out.insn_off[2], 3);
}

/* ---- rip-relative operands ------------------------------------------------------ */

Test(arch_relocate, rip_relative_mov_gets_a_new_displacement)
{
    static const uint8_t in[] = {
        0x48, 0x8b, 0x05, B4(0x1000), /* mov rax, [rip+0x1000] = [PC+0x1007] */
        0xc3,
    };
    static const uint8_t want[] = {
        0x48, 0x8b, 0x05, REL(PC + 0x1007, T + 7), /* mov rax, [rip+x] = [PC+0x1007] */
        0xe9, REL(PC + 7, T + 12),                 /* jmp PC+7                      */
    };
    RELOCATES_TO(in, 5, T, want);
}

Test(arch_relocate, rip_relative_lea_and_cmp_with_immediate)
{
    static const uint8_t in[] = {
        0x48, 0x8d, 0x0d, B4(0x1000),       /* lea rcx, [rip+0x1000] = PC+0x1007   */
        0x83, 0x3d, B4(0xfffffff0), 0x07,   /* cmp dword [rip-0x10], 7 = [PC-2]    */
        0xc3,
    };
    static const uint8_t want[] = {
        0x48, 0x8d, 0x0d, REL(PC + 0x1007, T + 7),   /* lea rcx, [PC+0x1007]           */
        0x83, 0x3d, REL(PC - 2, T + 14), 0x07,       /* cmp dword [PC-2], 7: imm kept  */
        0xe9, REL(PC + 14, T + 19),                  /* jmp PC+14                      */
    };
    RELOCATES_TO(in, 14, T, want);
}

Test(arch_relocate, rip_relative_sse_avx_and_avx512_operands)
{
    static const uint8_t in[] = {
        0xf2, 0x0f, 0x10, 0x05, B4(0x100),             /* movsd xmm0, [rip+0x100]     */
        0xc5, 0xfa, 0x6f, 0x0d, B4(0x200),             /* vmovdqu xmm1, [rip+0x200]   */
        0x62, 0xf1, 0xfe, 0x48, 0x6f, 0x15, B4(0x300), /* vmovdqu64 zmm2, [rip+0x300] */
        0xc3,
    };
    static const uint8_t want[] = {
        0xf2, 0x0f, 0x10, 0x05, REL(PC + 8 + 0x100, T + 8),               /* movsd     */
        0xc5, 0xfa, 0x6f, 0x0d, REL(PC + 16 + 0x200, T + 16),             /* vmovdqu   */
        0x62, 0xf1, 0xfe, 0x48, 0x6f, 0x15, REL(PC + 26 + 0x300, T + 26), /* vmovdqu64 */
        0xe9, REL(PC + 26, T + 31),                                       /* jmp PC+26 */
    };
    RELOCATES_TO(in, 17, T, want);
}

Test(arch_relocate, rip_relative_indirect_jmp_and_call)
{
    static const uint8_t in[] = {
        0xff, 0x15, B4(0x1000), /* call [rip+0x1000] = [PC+0x1006] */
        0xff, 0x25, B4(0x2000), /* jmp [rip+0x2000] = [PC+0x200c]  */
    };
    static const uint8_t want[] = {
        0xff, 0x15, REL(PC + 0x1006, T + 6),  /* call [PC+0x1006]            */
        0xff, 0x25, REL(PC + 0x200c, T + 12), /* jmp [PC+0x200c]: no jump back */
    };
    RELOCATES_TO(in, 12, T, want);
}

Test(arch_relocate, rip_relative_lea_out_of_reach_becomes_mov_imm64)
{
    static const uint8_t in[] = {
        0x48, 0x8d, 0x0d, B4(0x1000), /* lea rcx, [rip+0x1000] = PC+0x1007 */
        0xc3,
    };
    static const uint8_t want[] = {
        0x48, 0xb9, B8(PC + 0x1007),        /* mov rcx, PC+0x1007 */
        0xff, 0x25, 0x00, 0x00, 0x00, 0x00, /* jmp [rip+0]        */
        B8(PC + 7),                         /* .quad PC+7         */
    };
    RELOCATES_TO(in, 5, F, want);
}

Test(arch_relocate, rip_relative_mov_out_of_reach_loads_through_the_register)
{
    static const uint8_t in[] = {
        0x48, 0x8b, 0x05, B4(0x1000), /* mov rax, [rip+0x1000] = [PC+0x1007]  */
        0x4c, 0x8b, 0x2d, B4(0x1000), /* mov r13, [rip+0x1000] = [PC+0x100e]  */
        0x4c, 0x8b, 0x25, B4(0x1000), /* mov r12, [rip+0x1000] = [PC+0x1015]  */
        0xc3,
    };
    static const uint8_t want[] = {
        0x48, 0xb8, B8(PC + 0x1007),        /* mov rax, PC+0x1007 */
        0x48, 0x8b, 0x00,                   /* mov rax, [rax]     */
        0x49, 0xbd, B8(PC + 0x100e),        /* mov r13, PC+0x100e */
        0x4d, 0x8b, 0x6d, 0x00,             /* mov r13, [r13+0]   */
        0x49, 0xbc, B8(PC + 0x1015),        /* mov r12, PC+0x1015 */
        0x4d, 0x8b, 0x24, 0x24,             /* mov r12, [r12]     */
        0xff, 0x25, 0x00, 0x00, 0x00, 0x00, /* jmp [rip+0]        */
        B8(PC + 21),                        /* .quad PC+21        */
    };
    RELOCATES_TO(in, 15, F, want);
}

Test(arch_relocate, cannot_relocate_rip_relative_operand_out_of_reach)
{
    static const uint8_t in[] = {
        0xf2, 0x0f, 0x10, 0x05, B4(0x100), /* movsd xmm0, [rip+0x100] */
        0xc3,
    };
    cr_assert_eq(relocate_status(in, sizeof in, 5, F), CHOOK_EUNRELOC);
    cr_assert(strstr(err, "'movsd' at +0 refers to 0x401108, out of rel32 reach"), "%s", err);
}

/* ---- direct branches --------------------------------------------------------- */

Test(arch_relocate, jmp_rel8_becomes_rel32_or_absolute)
{
    static const uint8_t in[] = {
        0x8d, 0x47, 0x07, /* lea eax, [rdi+7] */
        0xeb, 0x03,       /* jmp +3 = PC+8    */
        0xcc, 0xcc, 0xcc, 0x01, 0xc0, 0xc3,
    };
    static const uint8_t want_near[] = {
        0x8d, 0x47, 0x07,          /* lea eax, [rdi+7]               */
        0xe9, REL(PC + 8, T + 8),  /* jmp PC+8: the function ends    */
    };
    static const uint8_t want_far[] = {
        0x8d, 0x47, 0x07,                   /* lea eax, [rdi+7] */
        0xff, 0x25, 0x00, 0x00, 0x00, 0x00, /* jmp [rip+0]      */
        B8(PC + 8),                         /* .quad PC+8       */
    };
    RELOCATES_TO(in, 5, T, want_near);
    RELOCATES_TO(in, 5, F, want_far);
}

Test(arch_relocate, jmp_rel32_is_retargeted)
{
    static const uint8_t in[] = {
        0xe9, B4(0x1000), /* jmp rel32 +0x1000 = PC+0x1005 */
    };
    static const uint8_t want_near[] = {
        0xe9, REL(PC + 0x1005, T + 5), /* jmp PC+0x1005 */
    };
    static const uint8_t want_far[] = {
        0xff, 0x25, 0x00, 0x00, 0x00, 0x00, /* jmp [rip+0]      */
        B8(PC + 0x1005),                    /* .quad PC+0x1005  */
    };
    RELOCATES_TO(in, 5, T, want_near);
    RELOCATES_TO(in, 5, F, want_far);
}

Test(arch_relocate, jcc_rel8_becomes_rel32_or_inverted_skip_over_absolute)
{
    static const uint8_t in[] = {
        0x85, 0xff,                   /* test edi, edi   */
        0x78, 0x06,                   /* js +6 = PC+10   */
        0xb8, 0x01, 0x00, 0x00, 0x00, /* mov eax, 1      */
        0xc3,
    };
    static const uint8_t want_near[] = {
        0x85, 0xff,                         /* test edi, edi */
        0x0f, 0x88, REL(PC + 10, T + 8),    /* js PC+10      */
        0xb8, 0x01, 0x00, 0x00, 0x00,       /* mov eax, 1    */
        0xe9, REL(PC + 9, T + 18),          /* jmp PC+9      */
    };
    static const uint8_t want_far[] = {
        0x85, 0xff,                         /* test edi, edi     */
        0x79, 0x0e,                         /* jns +14           */
        0xff, 0x25, 0x00, 0x00, 0x00, 0x00, /* jmp [rip+0]       */
        B8(PC + 10),                        /* .quad PC+10       */
        0xb8, 0x01, 0x00, 0x00, 0x00,       /* mov eax, 1        */
        0xff, 0x25, 0x00, 0x00, 0x00, 0x00, /* jmp [rip+0]       */
        B8(PC + 9),                         /* .quad PC+9        */
    };
    chook_arch_tramp out;
    relocates_to(in, sizeof in, 5, T, want_near, sizeof want_near, &out);
    cr_assert_eq(out.insn_off[1], 2);
    cr_assert_eq(out.insn_off[2], 8);
    cr_assert_eq(out.insn_off[3], 13);
    relocates_to(in, sizeof in, 5, F, want_far, sizeof want_far, &out);
    cr_assert_eq(out.insn_off[2], 18);
    cr_assert_eq(out.insn_off[3], 23);
}

Test(arch_relocate, jcc_rel32_is_retargeted)
{
    static const uint8_t in[] = {
        0x83, 0xff, 0x0a,                   /* cmp edi, 10        */
        0x0f, 0x8f, 0x04, 0x00, 0x00, 0x00, /* jg +4 = PC+13      */
        0x8d, 0x47, 0x01, 0xc3,
    };
    static const uint8_t want_near[] = {
        0x83, 0xff, 0x0a,                /* cmp edi, 10 */
        0x0f, 0x8f, REL(PC + 13, T + 9), /* jg PC+13    */
        0xe9, REL(PC + 9, T + 14),       /* jmp PC+9    */
    };
    static const uint8_t want_far[] = {
        0x83, 0xff, 0x0a,                   /* cmp edi, 10  */
        0x7e, 0x0e,                         /* jle +14      */
        0xff, 0x25, 0x00, 0x00, 0x00, 0x00, /* jmp [rip+0]  */
        B8(PC + 13),                        /* .quad PC+13  */
        0xff, 0x25, 0x00, 0x00, 0x00, 0x00, /* jmp [rip+0]  */
        B8(PC + 9),                         /* .quad PC+9   */
    };
    RELOCATES_TO(in, 5, T, want_near);
    RELOCATES_TO(in, 5, F, want_far);
}

Test(arch_relocate, call_rel32_is_retargeted)
{
    static const uint8_t in[] = {
        0x53,             /* push rbx                       */
        0x89, 0xfb,       /* mov ebx, edi                   */
        0xe8, B4(0x1000), /* call rel32 +0x1000 = PC+0x1008 */
        0x01, 0xd8, 0x5b, 0xc3,
    };
    static const uint8_t want_near[] = {
        0x53, 0x89, 0xfb,                /* push rbx; mov ebx, edi */
        0xe8, REL(PC + 0x1008, T + 8),   /* call PC+0x1008         */
        0xe9, REL(PC + 8, T + 13),       /* jmp PC+8               */
    };
    static const uint8_t want_far[] = {
        0x53, 0x89, 0xfb,                   /* push rbx; mov ebx, edi */
        0xff, 0x15, 0x02, 0x00, 0x00, 0x00, /* call [rip+2]           */
        0xeb, 0x08,                         /* jmp +8                 */
        B8(PC + 0x1008),                    /* .quad PC+0x1008        */
        0xff, 0x25, 0x00, 0x00, 0x00, 0x00, /* jmp [rip+0]            */
        B8(PC + 8),                         /* .quad PC+8             */
    };
    RELOCATES_TO(in, 5, T, want_near);
    RELOCATES_TO(in, 5, F, want_far);
}

Test(arch_relocate, call_of_the_entry_stays_a_call_of_the_hooked_entry)
{
    static const uint8_t in[] = {
        0x53,                   /* push rbx                  */
        0xe8, B4(0xfffffffa),   /* call -6 = PC (recursion)  */
        0x5b, 0xc3,
    };
    static const uint8_t want[] = {
        0x53,                  /* push rbx */
        0xe8, REL(PC, T + 6),  /* call PC  */
        0xe9, REL(PC + 6, T + 11), /* jmp PC+6 */
    };
    RELOCATES_TO(in, 5, T, want);
}

/* ---- loop family ------------------------------------------------------------- */

Test(arch_relocate, loop_back_to_the_entry_goes_to_the_copy)
{
    static const uint8_t in[] = {
        0x83, 0xc7, 0x02, /* add edi, 2       */
        0xe2, 0xfb,       /* loop -5 = PC     */
        0x89, 0xf8, 0xc3,
    };
    static const uint8_t want_near[] = {
        0x83, 0xc7, 0x02,          /* add edi, 2             */
        0xe2, 0x02,                /* loop +2                */
        0xeb, 0x05,                /* jmp +5 (not taken)     */
        0xe9, REL(T, T + 12),      /* jmp T: the copy of add */
        0xe9, REL(PC + 5, T + 17), /* jmp PC+5               */
    };
    static const uint8_t want_far[] = {
        0x83, 0xc7, 0x02,                   /* add edi, 2             */
        0xe2, 0x02,                         /* loop +2                */
        0xeb, 0x05,                         /* jmp +5                 */
        0xe9, REL(F, F + 12),               /* jmp F: the copy of add */
        0xff, 0x25, 0x00, 0x00, 0x00, 0x00, /* jmp [rip+0]            */
        B8(PC + 5),                         /* .quad PC+5             */
    };
    RELOCATES_TO(in, 5, T, want_near);
    RELOCATES_TO(in, 5, F, want_far);
}

Test(arch_relocate, jrcxz_out_of_the_patch)
{
    static const uint8_t in[] = {
        0xe3, 0x04,       /* jrcxz +4 = PC+6     */
        0x8d, 0x04, 0x0f, /* lea eax, [rdi+rcx]  */
        0xc3, 0xb8, 0xff, 0xff, 0xff, 0xff, 0xc3,
    };
    static const uint8_t want_near[] = {
        0xe3, 0x02,                 /* jrcxz +2           */
        0xeb, 0x05,                 /* jmp +5             */
        0xe9, REL(PC + 6, T + 9),   /* jmp PC+6           */
        0x8d, 0x04, 0x0f,           /* lea eax, [rdi+rcx] */
        0xe9, REL(PC + 5, T + 17),  /* jmp PC+5           */
    };
    static const uint8_t want_far[] = {
        0xe3, 0x02,                         /* jrcxz +2           */
        0xeb, 0x0e,                         /* jmp +14            */
        0xff, 0x25, 0x00, 0x00, 0x00, 0x00, /* jmp [rip+0]        */
        B8(PC + 6),                         /* .quad PC+6         */
        0x8d, 0x04, 0x0f,                   /* lea eax, [rdi+rcx] */
        0xff, 0x25, 0x00, 0x00, 0x00, 0x00, /* jmp [rip+0]        */
        B8(PC + 5),                         /* .quad PC+5         */
    };
    RELOCATES_TO(in, 5, T, want_near);
    RELOCATES_TO(in, 5, F, want_far);
}

Test(arch_relocate, loope_loopne_and_ecx_forms_keep_opcode_and_prefix)
{
    static const uint8_t in[] = {
        0xe1, 0x10,       /* loope +0x10 = PC+0x12      */
        0xe0, 0x20,       /* loopne +0x20 = PC+0x24     */
        0x67, 0xe2, 0x30, /* loop (ecx) +0x30 = PC+0x37 */
        0x67, 0xe3, 0x40, /* jecxz +0x40 = PC+0x4a      */
        0xc3,
    };
    static const uint8_t want[] = {
        0xe1, 0x02, 0xeb, 0x05, 0xe9, REL(PC + 0x12, T + 9),         /* loope  */
        0xe0, 0x02, 0xeb, 0x05, 0xe9, REL(PC + 0x24, T + 18),        /* loopne */
        0x67, 0xe2, 0x02, 0xeb, 0x05, 0xe9, REL(PC + 0x37, T + 28),  /* loop   */
        0x67, 0xe3, 0x02, 0xeb, 0x05, 0xe9, REL(PC + 0x4a, T + 38),  /* jecxz  */
        0xe9, REL(PC + 10, T + 43),                                  /* jmp back */
    };
    RELOCATES_TO(in, 10, T, want);
}

/* ---- branches inside the patched bytes ------------------------------------------ */

Test(arch_relocate, internal_forward_jcc_goes_to_the_copy)
{
    static const uint8_t in[] = {
        0x85, 0xff,                         /* test edi, edi    */
        0x74, 0x02,                         /* je +2 = PC+6     */
        0xff, 0xc0,                         /* inc eax          */
        0xff, 0xc8,                         /* dec eax (PC+6)   */
        0x90, 0x90, 0x90, 0x90, 0x90, 0x90, /* nop x6           */
        0xc3,
    };
    static const uint8_t want[] = {
        0x85, 0xff,                         /* test edi, edi              */
        0x0f, 0x84, REL(F + 10, F + 8),     /* je F+10: the copy of dec   */
        0xff, 0xc0,                         /* inc eax                    */
        0xff, 0xc8,                         /* dec eax                    */
        0x90, 0x90, 0x90, 0x90, 0x90, 0x90, /* nop x6                     */
        0xff, 0x25, 0x00, 0x00, 0x00, 0x00, /* jmp [rip+0]                */
        B8(PC + 14),                        /* .quad PC+14                */
    };
    RELOCATES_TO(in, 14, F, want);
}

Test(arch_relocate, jump_to_the_kept_endbr64_goes_to_the_first_copy)
{
    static const uint8_t in[] = {
        0xf3, 0x0f, 0x1e, 0xfa, /* endbr64            */
        0x83, 0xc7, 0x02,       /* add edi, 2         */
        0x75, 0xf7,             /* jnz -9 = PC        */
        0xc3,
    };
    static const uint8_t want[] = {
        0x83, 0xc7, 0x02,          /* add edi, 2              */
        0x0f, 0x85, REL(T, T + 9), /* jnz T: the copy of add  */
        0xe9, REL(PC + 9, T + 14), /* jmp PC+9                */
    };
    RELOCATES_TO(in, 5, T, want);
}

/* ---- refusals ----------------------------------------------------------------- */

Test(arch_relocate, cannot_relocate_a_plan_that_does_not_match_the_code)
{
    static const uint8_t in[] = { 0x55, 0x48, 0x89, 0xe5, 0x53, 0xc3 };
    chook_arch_code c = { .bytes = in, .avail = sizeof in, .pc = PC };
    chook_arch_plan p;
    chook_arch_tramp out;
    cr_assert_eq(chook_arch_plan_patch(&c, 5, &p, err, sizeof err), CHOOK_OK, "%s", err);
    p.insn_off[1] = 2; /* the middle of mov rbp, rsp */
    cr_assert_eq(chook_arch_relocate(&c, &p, T, &out, err, sizeof err), CHOOK_EINVAL);
    cr_assert_eq(chook_arch_relocate(NULL, &p, T, &out, err, sizeof err), CHOOK_EINVAL);
}
