/*
 * Jump writers and reader for aarch64, the trap filler and the breakpoint.
 *
 * Forms written (and the only ones read_jump recognises):
 *   near:  14xxxxxx                    b dest                      4 bytes
 *   far:   58000050 d61f0200 <dest:8>  ldr x16, .+8; br x16; .quad 16 bytes
 *   slot:  58xxxxx0 d61f0200           ldr x16, slot; br x16        8 bytes
 *          90xxxxx0 f94xxx10 d61f0200  adrp x16, slot; ldr x16,
 *                                      [x16, #lo12]; br x16       12 bytes
 * A literal slot jump whose slot is at .+8 is exactly the far form: slots are
 * data and never sit in code, so read_jump takes that for the far form.
 * x16 (IP0) may be clobbered at any function entry (see target.h), and a br
 * through x16 may land on a bti c landing pad.
 */
#include <elf.h>

#include "chook.h"
#include "a64.h"

#define LDR_X16_PC8 0x58000050u  /* ldr x16, .+8 */
#define BR_X16 0xd61f0200u       /* br x16      */
#define ADRP_X16 0x90000010u     /* adrp x16, <page> with immlo = immhi = 0 */
#define LDR_X16_X16 0xf9400210u  /* ldr x16, [x16] with imm12 = 0 */

size_t chook_arch_jump_size(enum chook_arch_jump kind)
{
    switch (kind) {
    case CHOOK_ARCH_JUMP_NEAR: return CHOOK_A64_JUMP_NEAR_SIZE;
    case CHOOK_ARCH_JUMP_FAR: return CHOOK_A64_JUMP_FAR_SIZE;
    }
    return 0;
}

size_t chook_arch_write_jump(uint8_t *buf, uintptr_t pc, uintptr_t dest,
                             enum chook_arch_jump kind)
{
    if (pc & 3) return 0;
    switch (kind) {
    case CHOOK_ARCH_JUMP_NEAR:
        if ((dest & 3) || !chook__a64_fits(pc, dest, 26, 4)) return 0;
        chook__a64_put32(buf, chook__a64_enc_b(pc, dest, 0)); /* b dest */
        return CHOOK_A64_JUMP_NEAR_SIZE;
    case CHOOK_ARCH_JUMP_FAR:
        chook__a64_put32(buf, LDR_X16_PC8);                    /* ldr x16, .+8 */
        chook__a64_put32(buf + 4, BR_X16);                     /* br x16       */
        chook__a64_put64(buf + 8, (uint64_t)dest);             /* .quad dest   */
        return CHOOK_A64_JUMP_FAR_SIZE;
    }
    return 0;
}

size_t chook_arch_write_slot_jump(uint8_t *buf, uintptr_t pc, uintptr_t slot)
{
    if ((pc & 3) || (slot & 7)) return 0;
    if (chook__a64_fits(pc, slot, 19, 4)) {
        chook__a64_put32(buf, chook__a64_enc_ldr_lit_x(CHOOK_A64_IP0,
                                                       (int32_t)(slot - pc))); /* ldr x16, slot */
        chook__a64_put32(buf + 4, BR_X16);                     /* br x16 */
        return CHOOK_A64_SLOT_LIT_SIZE;
    }
    if (chook__a64_fits(pc & ~(uintptr_t)0xfff, slot & ~(uintptr_t)0xfff, 21, 4096)) {
        int64_t pages = (int64_t)((slot & ~(uintptr_t)0xfff) - (pc & ~(uintptr_t)0xfff)) / 4096;
        chook__a64_put32(buf, ADRP_X16 | ((uint32_t)pages & 3u) << 29 |
                              (((uint32_t)(pages >> 2) & 0x7ffffu) << 5)); /* adrp x16, slot */
        chook__a64_put32(buf + 4, LDR_X16_X16 |
                                  (uint32_t)((slot & 0xfff) / 8) << 10); /* ldr x16, [x16, #lo12] */
        chook__a64_put32(buf + 8, BR_X16);                     /* br x16 */
        return CHOOK_A64_SLOT_PAGE_SIZE;
    }
    return 0;
}

void chook_arch_fill_trap(uint8_t *buf, size_t len)
{
    size_t i = 0;
    for (; i + 4 <= len; i += 4) chook__a64_put32(buf + i, CHOOK_A64_BRK0); /* brk #0 */
    for (; i < len; i++) buf[i] = 0; /* a partial word: part of an udf #0 */
}

size_t chook_arch_write_breakpoint(uint8_t *buf)
{
    chook__a64_put32(buf, CHOOK_A64_BRK0);                     /* brk #0 */
    return 4;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)chook__a64_get32(p) | (uint64_t)chook__a64_get32(p + 4) << 32;
}

int chook_arch_read_jump(const uint8_t *bytes, size_t avail, uintptr_t pc,
                         uintptr_t *dest, int *is_slot)
{
    chook__a64_insn in;
    uint32_t w1;

    if (!bytes || !dest || !is_slot || (pc & 3) || !chook__a64_decode_at(bytes, avail, pc, &in))
        return 0;
    if (in.kind == CHOOK_A64_B) {
        *dest = in.target;
        *is_slot = 0;
        return 1;
    }
    if (avail < 8) return 0;
    w1 = chook__a64_get32(bytes + 4);
    if (in.kind == CHOOK_A64_LDR_LIT && in.lit == CHOOK_A64_LIT_X &&
        in.rt == CHOOK_A64_IP0 && w1 == BR_X16) {
        if (in.target == pc + 8) {
            if (avail < 16) return 0;
            *dest = (uintptr_t)get64(bytes + 8);
            *is_slot = 0;
            return 1;
        }
        *dest = in.target;
        *is_slot = 1;
        return 1;
    }
    if (in.kind == CHOOK_A64_ADRP && in.rt == CHOOK_A64_IP0 && avail >= 12 &&
        (w1 & 0xffc003ffu) == LDR_X16_X16 && chook__a64_get32(bytes + 8) == BR_X16) {
        *dest = in.target + ((w1 >> 10) & 0xfffu) * 8;
        *is_slot = 1;
        return 1;
    }
    return 0;
}

int chook_arch_is_got_reloc(unsigned type)
{
    return type == R_AARCH64_JUMP_SLOT || type == R_AARCH64_GLOB_DAT;
}
