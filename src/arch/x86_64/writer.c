/*
 * Jump writers and reader for x86-64, and the trap filler.
 *
 * Forms written (and the only ones read_jump recognises):
 *   near:  e9 <rel32>                       jmp rel32            5 bytes
 *   far:   ff 25 00 00 00 00 <dest:8>       jmp [rip+0]; .quad  14 bytes
 *   slot:  ff 25 <disp32>                   jmp [rip+disp32]     6 bytes
 * A slot jump with disp32 = 0 would read its slot from the code that follows it,
 * which is exactly the far form: slots are data and never sit in code, so
 * read_jump takes ff 25 00 00 00 00 for the far form.
 */
#include "chook.h"
#include "x86.h"

#define OP_JMP_REL32 0xe9 /* jmp rel32 */
#define OP_GRP5 0xff      /* group 5: with modrm 25 it is jmp [rip+disp32] */
#define MODRM_JMP_RIP 0x25
#define OP_INT3 0xcc      /* int3 */

size_t chook_arch_jump_size(enum chook_arch_jump kind)
{
    switch (kind) {
    case CHOOK_ARCH_JUMP_NEAR: return 5;
    case CHOOK_ARCH_JUMP_FAR: return 14;
    }
    return 0;
}

size_t chook_arch_write_jump(uint8_t *buf, uintptr_t pc, uintptr_t dest,
                             enum chook_arch_jump kind)
{
    switch (kind) {
    case CHOOK_ARCH_JUMP_NEAR:
        if (!chook__x86_rel32_fits(pc + 5, dest)) return 0;
        buf[0] = OP_JMP_REL32;                                 /* e9 <rel32>  jmp dest */
        chook__x86_put32(buf + 1, (uint32_t)(dest - (pc + 5)));
        return 5;
    case CHOOK_ARCH_JUMP_FAR:
        buf[0] = OP_GRP5;                                      /* ff 25 00 00 00 00    */
        buf[1] = MODRM_JMP_RIP;                                /*   jmp [rip+0]        */
        chook__x86_put32(buf + 2, 0);
        chook__x86_put64(buf + 6, (uint64_t)dest);             /* .quad dest           */
        return 14;
    }
    return 0;
}

size_t chook_arch_write_slot_jump(uint8_t *buf, uintptr_t pc, uintptr_t slot)
{
    if (!chook__x86_rel32_fits(pc + 6, slot)) return 0;
    buf[0] = OP_GRP5;                                          /* ff 25 <disp32>       */
    buf[1] = MODRM_JMP_RIP;                                    /*   jmp [rip+disp32]   */
    chook__x86_put32(buf + 2, (uint32_t)(slot - (pc + 6)));
    return 6;
}

void chook_arch_fill_trap(uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) buf[i] = OP_INT3;         /* cc  int3 */
}

static uint64_t get(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

int chook_arch_read_jump(const uint8_t *bytes, size_t avail, uintptr_t pc,
                         uintptr_t *dest, int *is_slot)
{
    if (!bytes || !dest || !is_slot) return 0;
    if (avail >= 5 && bytes[0] == OP_JMP_REL32) {
        *dest = pc + 5 + (uintptr_t)(int64_t)(int32_t)(uint32_t)get(bytes + 1, 4);
        *is_slot = 0;
        return 1;
    }
    if (avail >= 6 && bytes[0] == OP_GRP5 && bytes[1] == MODRM_JMP_RIP) {
        int32_t disp = (int32_t)(uint32_t)get(bytes + 2, 4);
        if (disp == 0) {
            if (avail < 14) return 0;
            *dest = (uintptr_t)get(bytes + 6, 8);
            *is_slot = 0;
            return 1;
        }
        *dest = pc + 6 + (uintptr_t)(int64_t)disp;
        *is_slot = 1;
        return 1;
    }
    return 0;
}
