/*
 * The x86-64 jump writers and reader, the trap filler, and the signal-context
 * program-counter accessors.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <ucontext.h>

#include "arch.h"

#define PC ((uintptr_t)0x401000)
#define FAR_AWAY ((uintptr_t)0x7f0000001000)

#define B4(v) (uint8_t)(v), (uint8_t)((v) >> 8), (uint8_t)((v) >> 16), (uint8_t)((v) >> 24)
#define B8(v) B4((uint64_t)(v)), B4((uint64_t)(v) >> 32)
#define REL(dest, next) B4((uint32_t)((uint64_t)(dest) - (uint64_t)(next)))

Test(arch_writer, near_jump_is_jmp_rel32)
{
    static const uint8_t want[] = { 0xe9, REL(PC - 0x100, PC + 5) }; /* jmp PC-0x100 */
    uint8_t buf[16];
    cr_assert_eq(chook_arch_write_jump(buf, PC, PC - 0x100, CHOOK_ARCH_JUMP_NEAR), 5);
    cr_assert_arr_eq(buf, want, sizeof want);
}

Test(arch_writer, near_jump_out_of_reach_writes_nothing)
{
    uint8_t buf[16] = { 0 };
    cr_assert_eq(chook_arch_write_jump(buf, PC, FAR_AWAY, CHOOK_ARCH_JUMP_NEAR), 0);
    /* The last reachable byte either way. */
    cr_assert_eq(chook_arch_write_jump(buf, PC, PC + 5 + 0x7fffffff, CHOOK_ARCH_JUMP_NEAR), 5);
    cr_assert_eq(chook_arch_write_jump(buf, PC, PC + 5 + 0x80000000, CHOOK_ARCH_JUMP_NEAR), 0);
    cr_assert_eq(chook_arch_write_jump(buf, 0x90000000, 0x90000005 - 0x80000000,
                                       CHOOK_ARCH_JUMP_NEAR), 5);
}

Test(arch_writer, far_jump_is_jmp_rip_and_quad)
{
    static const uint8_t want[] = {
        0xff, 0x25, 0x00, 0x00, 0x00, 0x00, /* jmp [rip+0]     */
        B8(FAR_AWAY),                       /* .quad FAR_AWAY  */
    };
    uint8_t buf[16];
    cr_assert_eq(chook_arch_write_jump(buf, PC, FAR_AWAY, CHOOK_ARCH_JUMP_FAR), 14);
    cr_assert_arr_eq(buf, want, sizeof want);
}

Test(arch_writer, slot_jump_is_jmp_rip_disp32)
{
    static const uint8_t want[] = { 0xff, 0x25, REL(PC + 0x2000, PC + 6) }; /* jmp [PC+0x2000] */
    uint8_t buf[8];
    cr_assert_eq(chook_arch_write_slot_jump(buf, PC, PC + 0x2000), 6);
    cr_assert_arr_eq(buf, want, sizeof want);
    cr_assert_eq(chook_arch_write_slot_jump(buf, PC, FAR_AWAY), 0);
}

Test(arch_writer, read_jump_recognises_every_written_form)
{
    uint8_t buf[16];
    uintptr_t dest = 0;
    int slot = -1;

    chook_arch_write_jump(buf, PC, PC + 0x1234, CHOOK_ARCH_JUMP_NEAR);
    cr_assert_eq(chook_arch_read_jump(buf, sizeof buf, PC, &dest, &slot), 1);
    cr_assert_eq(dest, PC + 0x1234);
    cr_assert_eq(slot, 0);

    chook_arch_write_jump(buf, PC, FAR_AWAY, CHOOK_ARCH_JUMP_FAR);
    cr_assert_eq(chook_arch_read_jump(buf, sizeof buf, PC, &dest, &slot), 1);
    cr_assert_eq(dest, FAR_AWAY);
    cr_assert_eq(slot, 0);

    chook_arch_write_slot_jump(buf, PC, PC - 0x40);
    cr_assert_eq(chook_arch_read_jump(buf, sizeof buf, PC, &dest, &slot), 1);
    cr_assert_eq(dest, PC - 0x40);
    cr_assert_eq(slot, 1);
}

Test(arch_writer, read_jump_rejects_other_code_and_short_buffers)
{
    static const uint8_t prologue[] = { 0x55, 0x48, 0x89, 0xe5, 0x90, 0x90 }; /* push rbp; mov rbp, rsp */
    static const uint8_t call[] = { 0xe8, 0x00, 0x00, 0x00, 0x00 };          /* call +0 */
    static const uint8_t jmp_rax[] = { 0xff, 0xe0, 0x90, 0x90, 0x90, 0x90 };  /* jmp rax */
    uint8_t buf[16];
    uintptr_t dest = 0;
    int slot = 0;

    cr_assert_eq(chook_arch_read_jump(prologue, sizeof prologue, PC, &dest, &slot), 0);
    cr_assert_eq(chook_arch_read_jump(call, sizeof call, PC, &dest, &slot), 0);
    cr_assert_eq(chook_arch_read_jump(jmp_rax, sizeof jmp_rax, PC, &dest, &slot), 0);
    chook_arch_write_jump(buf, PC, PC + 0x10, CHOOK_ARCH_JUMP_NEAR);
    cr_assert_eq(chook_arch_read_jump(buf, 4, PC, &dest, &slot), 0);
    chook_arch_write_jump(buf, PC, FAR_AWAY, CHOOK_ARCH_JUMP_FAR);
    cr_assert_eq(chook_arch_read_jump(buf, 13, PC, &dest, &slot), 0);
}

Test(arch_writer, fill_trap_writes_int3)
{
    uint8_t buf[8];
    memset(buf, 0x90, sizeof buf);
    chook_arch_fill_trap(buf + 1, 6);
    cr_assert_arr_eq(buf, ((uint8_t[]){ 0x90, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0x90 }), 8);
}

/* The process half of the back end (signal contexts, cpuid) runs only on an
 * x86-64 host; the tests above run wherever chook_arch_x86_64 builds. */
#if defined(__x86_64__)
Test(arch_context, pc_accessors_use_rip)
{
    ucontext_t uc;
    memset(&uc, 0, sizeof uc);
    uc.uc_mcontext.gregs[REG_RIP] = (greg_t)0x12345678;
    cr_assert_eq(chook_arch_context_pc(&uc), 0x12345678);
    chook_arch_context_set_pc(&uc, 0x7f0000abcdef);
    cr_assert_eq(uc.uc_mcontext.gregs[REG_RIP], (greg_t)0x7f0000abcdef);
    cr_assert_eq(uc.uc_mcontext.gregs[REG_RSP], 0);
}

Test(arch_context, serialize_keeps_callee_saved_registers)
{
    /* cpuid writes rbx; the compiler keeps values in rbx across the call. */
    volatile uint64_t before = 0x0123456789abcdefull;
    register uint64_t kept __asm__("rbx") = before;
    __asm__ volatile("" : "+r"(kept));
    chook_arch_serialize();
    __asm__ volatile("" : "+r"(kept));
    cr_assert_eq(kept, before);
}
#endif
