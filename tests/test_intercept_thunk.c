/*
 * The x86-64 interception thunks, byte for byte (each expected instruction with
 * its disassembly), and the System V placement of signature arguments.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "call.h"
#include "intercept_abi.h"
#include "internal.h"

#define PC 0x10000000ul

Test(thunk, listener_thunk_keeps_r11_and_passes_its_context_in_r11_and_jumps_to_its_entry)
{
    uint8_t buf[CHOOK_ARCH_ICPT_THUNK_MAX];
    size_t n = chook_arch_write_icpt_thunk(buf, 0x1122334455667788ul);
    static const uint8_t expect[] = {
        0xf3, 0x0f, 0x1e, 0xfa,                         /* endbr64                */
        0x4c, 0x89, 0x5c, 0x24, 0xf0,                   /* mov [rsp-16], r11      */
        0x49, 0xbb, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, /* movabs r11, 0x11223344 */
        0x22, 0x11,                                     /*          55667788      */
        0x41, 0xff, 0x63, ICPT_CTX_ENTRY,               /* jmp [r11+ICPT_CTX_ENTRY] */
    };
    cr_assert_eq(n, sizeof expect);
    cr_expect_arr_eq(buf, expect, sizeof expect);
}

Test(thunk, closure_thunk_pushes_on_the_ring_without_touching_argument_registers)
{
    uint8_t buf[CHOOK_ARCH_ICPT_THUNK_MAX];
    size_t n = chook_arch_write_closure_thunk(buf, PC, 0x0102030405060708ul, -0x40, -0x38,
                                              PC + 0x100);
    static const uint8_t expect[] = {
        0xf3, 0x0f, 0x1e, 0xfa,                         /* endbr64                       */
        0x4c, 0x89, 0x54, 0x24, 0xf8,                   /* mov [rsp-8], r10              */
        0x49, 0xba, 8, 7, 6, 5, 4, 3, 2, 1,             /* movabs r10, closure           */
        0x41, 0xbb, 0x08, 0x00, 0x00, 0x00,             /* mov r11d, 8                   */
        0x64, 0x4c, 0x0f, 0xc1, 0x1c, 0x25,             /* xadd fs:[-0x40], r11          */
        0xc0, 0xff, 0xff, 0xff,
        0x41, 0x81, 0xe3,                               /* and r11d, (ring - 1) * 8      */
        (CHOOK_ARCH_CLOSURE_RING - 1) * 8, 0x00, 0x00, 0x00,
        0x64, 0x4d, 0x89, 0x93, 0xc8, 0xff, 0xff, 0xff, /* mov fs:[r11-0x38], r10        */
        0x4c, 0x8b, 0x54, 0x24, 0xf8,                   /* mov r10, [rsp-8]              */
        0xe9, 0xc4, 0x00, 0x00, 0x00,                   /* jmp PC+0x100 (rel32 from PC+60) */
    };
    cr_assert_eq(n, sizeof expect);
    cr_expect_arr_eq(buf, expect, sizeof expect);
    cr_expect_leq(n + 9, CHOOK_ARCH_ICPT_THUNK_MAX, "room for the far jump form");
}

Test(thunk, closure_thunk_refuses_tls_out_of_disp32_reach)
{
    uint8_t buf[CHOOK_ARCH_ICPT_THUNK_MAX];
    cr_expect_eq(chook_arch_write_closure_thunk(buf, PC, 1, (intptr_t)1 << 40, 0, PC), 0);
}

static struct chook__sig place(const char *text)
{
    struct chook__sig sig;
    cr_assert_eq(chook__sig_parse(text, &sig), CHOOK_OK, "%s", chook_last_error());
    return sig;
}

Test(thunk, signature_arguments_are_placed_by_the_system_v_rules)
{
    /* 7 integers: the 7th goes to the stack; 9 doubles: the 9th too, after it. */
    struct chook__sig s = place("i,i,i,i,i,i,i,d,d,d,d,d,d,d,d,d->v");
    cr_expect_eq(s.arg[5].loc, CHOOK__LOC_GP);
    cr_expect_eq(s.arg[5].index, 5);
    cr_expect_eq(s.arg[6].loc, CHOOK__LOC_STACK);
    cr_expect_eq(s.arg[6].index, 0);
    cr_expect_eq(s.arg[14].loc, CHOOK__LOC_FP);
    cr_expect_eq(s.arg[14].index, 7);
    cr_expect_eq(s.arg[15].loc, CHOOK__LOC_STACK);
    cr_expect_eq(s.arg[15].index, 8);
    cr_expect_eq(s.stack_used, 16);
    cr_expect_eq(s.stack_bytes, 16);
    /* An aggregate in memory takes whole eightbytes and does not use a register. */
    s = place("p,m20,i->i");
    cr_expect_eq(s.arg[1].loc, CHOOK__LOC_STACK);
    cr_expect_eq(s.arg[1].index, 0);
    cr_expect_eq(s.arg[2].loc, CHOOK__LOC_GP);
    cr_expect_eq(s.arg[2].index, 1);
    cr_expect_eq(s.stack_used, 24);
    cr_expect_eq(s.stack_bytes, 32);
    s = place("p, ... -> i");
    cr_expect(s.variadic);
    cr_expect_eq(s.n_args, 1);
    s = place("->v");
    cr_expect_eq(s.n_args, 0);
}
