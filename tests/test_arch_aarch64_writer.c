/*
 * The aarch64 jump writers and reader, the trap filler, the breakpoint and the
 * GOT relocation types: exact words, reach limits and round trips. Runs on any
 * host.
 */
#include <criterion/criterion.h>
#include <elf.h>
#include <string.h>

#include "arch.h"
#include "arch_aarch64_words.h"
#include "chook.h"

#define PC ((uintptr_t)0x401000)

static uint32_t word(const uint8_t *b, size_t i)
{
    return (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 |
           (uint32_t)b[4 * i + 3] << 24;
}

static void assert_words(const uint8_t *b, const uint32_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(word(b, i), want[i], "word %zu: %08x, want %08x", i, word(b, i), want[i]);
}

static void assert_reads(const uint8_t *b, size_t n, uintptr_t pc, uintptr_t dest, int slot)
{
    uintptr_t d = 0;
    int is_slot = -1;
    cr_assert(chook_arch_read_jump(b, n, pc, &d, &is_slot), "not read as a jump");
    cr_assert_eq(d, dest, "read 0x%lx, want 0x%lx", (unsigned long)d, (unsigned long)dest);
    cr_assert_eq(is_slot, slot);
}

Test(arch_aarch64_writer, near_jump_is_b)
{
    uint8_t b[4];
    cr_assert_eq(chook_arch_write_jump(b, PC, PC + 0x1000, CHOOK_ARCH_JUMP_NEAR), 4);
    assert_words(b, (const uint32_t[]){ 0x14000400u /* b .+0x1000 */ }, 1);
    assert_reads(b, 4, PC, PC + 0x1000, 0);
    cr_assert_eq(chook_arch_write_jump(b, PC, PC - 0x1000, CHOOK_ARCH_JUMP_NEAR), 4);
    assert_words(b, (const uint32_t[]){ 0x17fffc00u /* b .-0x1000 */ }, 1);
    assert_reads(b, 4, PC, PC - 0x1000, 0);
}

Test(arch_aarch64_writer, near_jump_reaches_128_mib_and_no_further)
{
    uint8_t b[4];
    uintptr_t hi = PC + 0x10000000;  /* far above */
    cr_assert_eq(chook_arch_write_jump(b, hi, hi + (1u << 27) - 4, CHOOK_ARCH_JUMP_NEAR), 4);
    assert_words(b, (const uint32_t[]){ 0x15ffffffu /* b .+0x7fffffc */ }, 1);
    cr_assert_eq(chook_arch_write_jump(b, hi, hi - (1u << 27), CHOOK_ARCH_JUMP_NEAR), 4);
    assert_words(b, (const uint32_t[]){ 0x16000000u /* b .-0x8000000 */ }, 1);
    cr_assert_eq(chook_arch_write_jump(b, hi, hi + (1u << 27), CHOOK_ARCH_JUMP_NEAR), 0);
    cr_assert_eq(chook_arch_write_jump(b, hi, hi - (1u << 27) - 4, CHOOK_ARCH_JUMP_NEAR), 0);
    cr_assert_eq(chook_arch_write_jump(b, PC + 2, PC + 0x100, CHOOK_ARCH_JUMP_NEAR), 0);
    cr_assert_eq(chook_arch_write_jump(b, PC, PC + 0x102, CHOOK_ARCH_JUMP_NEAR), 0);
}

Test(arch_aarch64_writer, far_jump_is_ldr_br_quad)
{
    uint8_t b[16];
    uintptr_t dest = (uintptr_t)0x7f1234567890;
    cr_assert_eq(chook_arch_write_jump(b, PC, dest, CHOOK_ARCH_JUMP_FAR), 16);
    assert_words(b, (const uint32_t[]){
        A_LDR_X16_8,        /* ldr x16, .+8 */
        A_BR_X16,           /* br x16       */
        A_QUAD(dest),       /* .quad dest   */
    }, 4);
    assert_reads(b, 16, PC, dest, 0);
    cr_assert_not(chook_arch_read_jump(b, 15, PC, &dest, &(int){0}));
}

Test(arch_aarch64_writer, slot_jump_in_literal_reach)
{
    uint8_t b[12];
    uintptr_t slot = PC + 0x800;
    cr_assert_eq(chook_arch_write_slot_jump(b, PC, slot), 8);
    assert_words(b, (const uint32_t[]){
        A_LDR_X(PC, slot, 16), /* ldr x16, PC+0x800 */
        A_BR_X16,              /* br x16            */
    }, 2);
    assert_reads(b, 8, PC, slot, 1);
    slot = PC - 0x100000;      /* the lowest a literal reaches */
    cr_assert_eq(chook_arch_write_slot_jump(b, PC, slot), 8);
    assert_reads(b, 8, PC, slot, 1);
}

Test(arch_aarch64_writer, slot_jump_beyond_1_mib_uses_adrp)
{
    uint8_t b[12];
    uintptr_t slot = PC + 0x200010;
    cr_assert_eq(chook_arch_write_slot_jump(b, PC, slot), 12);
    assert_words(b, (const uint32_t[]){
        A_ADRP(PC, slot, 16),  /* adrp x16, 0x601000      */
        0xf9400a10u,           /* ldr x16, [x16, #16]     */
        A_BR_X16,              /* br x16                  */
    }, 3);
    assert_reads(b, 12, PC, slot, 1);
    slot = PC + 0x7fff0ff8;    /* lo12 = 0xff8: the largest scaled offset */
    cr_assert_eq(chook_arch_write_slot_jump(b, PC, slot), 12);
    assert_reads(b, 12, PC, slot, 1);
}

Test(arch_aarch64_writer, slot_jump_out_of_reach_or_misaligned_is_refused)
{
    uint8_t b[12];
    cr_assert_eq(chook_arch_write_slot_jump(b, PC, (uintptr_t)0x7f0000000000), 0);
    cr_assert_eq(chook_arch_write_slot_jump(b, PC, PC + 0x804), 0);
    cr_assert_eq(chook_arch_write_slot_jump(b, PC + 2, PC + 0x800), 0);
}

Test(arch_aarch64_writer, read_jump_rejects_other_code)
{
    static const uint32_t others[][3] = {
        { A_BL(PC, PC + 0x40), 0, 0 },                 /* bl: a call, not a jump   */
        { A_LDR_X(PC, PC + 8, 17), A_BR_X16, 0 },      /* ldr x17 ...; br x16      */
        { A_LDR_X(PC, PC + 8, 16), A_BLR_X16, 0 },     /* ldr x16 ...; blr x16     */
        { A_ADRP(PC, PC, 16), 0xf9400a10u, A_RET },    /* adrp; ldr; ret           */
        { A_NOP, A_NOP, A_NOP },                       /* nop                      */
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        uint8_t b[16] = {0};
        uintptr_t d;
        int s;
        for (size_t k = 0; k < 12; k++) b[k] = (uint8_t)(others[i][k / 4] >> (8 * (k % 4)));
        cr_assert_not(chook_arch_read_jump(b, 16, PC, &d, &s), "case %zu read as a jump", i);
    }
    cr_assert_not(chook_arch_read_jump(NULL, 16, PC, &(uintptr_t){0}, &(int){0}));
}

Test(arch_aarch64_writer, trap_fill_and_breakpoint_are_brk_0)
{
    uint8_t b[10];
    memset(b, 0xaa, sizeof b);
    chook_arch_fill_trap(b, 10);
    assert_words(b, (const uint32_t[]){ A_BRK0, A_BRK0 /* brk #0 */ }, 2);
    cr_assert(b[8] == 0 && b[9] == 0);
    cr_assert_eq(chook_arch_write_breakpoint(b), 4);
    assert_words(b, (const uint32_t[]){ A_BRK0 /* brk #0 */ }, 1);
}

Test(arch_aarch64_writer, got_relocations)
{
    cr_assert(chook_arch_is_got_reloc(R_AARCH64_JUMP_SLOT));
    cr_assert(chook_arch_is_got_reloc(R_AARCH64_GLOB_DAT));
    cr_assert_not(chook_arch_is_got_reloc(R_AARCH64_RELATIVE));
    cr_assert_not(chook_arch_is_got_reloc(R_AARCH64_ABS64));
}
