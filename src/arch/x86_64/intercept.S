/*
 * void chook_arch_icpt_dispatch(void) — the common interception dispatcher.
 *
 * Entered by a jump from a listener thunk, with the target's context in r11 and
 * the stack exactly as the caller left it (return address at (rsp)). It never
 * rewrites the caller's return address: it keeps a frame of its own (with unwind
 * information, so backtrace() and C++ unwinding walk through it to the real
 * caller) and either jumps to the original with the caller's stack restored, or
 * calls the original from its frame with a copy of the caller's stack arguments
 * and runs the leave callbacks when it returns.
 *
 * Frame (rbp-based; struct chook__iframe at rbp - IF_SIZE, offsets in
 * intercept_frame.h):
 *   rbp + 16        the caller's stack arguments
 *   rbp + 8         return address into the caller
 *   rbp             saved rbp
 *   rbp - IF_SIZE   struct chook__iframe (registers, chook_call, ...)
 *   below           per-listener slots (ctx->slot_bytes)
 *   below           for a call: the copy of the stack arguments, then the
 *                   original's return address
 * rbp is 16-aligned (the caller's call left rsp = 8 mod 16; push rbp), IF_SIZE,
 * slot_bytes and stack_bytes are multiples of 16: every call here is made with
 * rsp 16-aligned as the ABI requires, and movaps may address the frame.
 *
 * Registers: the six integer argument registers, rax (al is the number of vector
 * registers a variadic callee receives) and xmm0-7 are saved before any C code
 * runs and restored (possibly rewritten by callbacks) before the original runs.
 * rbx, rbp, r12-r15 are callee-saved by the C functions called. r11, xmm8 and
 * xmm9 are scratch the ABI does not pass anything in.
 */
#include "intercept_frame.h"

#define F(off) ((off) - IF_SIZE)(%rbp)

/* Loads the argument registers and rax from the frame (as callbacks left them). */
        .macro RESTORE_ARGS
        movq    F(IF_GP + 0), %rdi
        movq    F(IF_GP + 8), %rsi
        movq    F(IF_GP + 16), %rdx
        movq    F(IF_GP + 24), %rcx
        movq    F(IF_GP + 32), %r8
        movq    F(IF_GP + 40), %r9
        movq    F(IF_EXTRA), %rax
        movaps  F(IF_FP + 0), %xmm0
        movaps  F(IF_FP + 16), %xmm1
        movaps  F(IF_FP + 32), %xmm2
        movaps  F(IF_FP + 48), %xmm3
        movaps  F(IF_FP + 64), %xmm4
        movaps  F(IF_FP + 80), %xmm5
        movaps  F(IF_FP + 96), %xmm6
        movaps  F(IF_FP + 112), %xmm7
        .endm

        .text
        .globl  chook_arch_icpt_dispatch
        .hidden chook_arch_icpt_dispatch
        .type   chook_arch_icpt_dispatch, @function
        .p2align 4
chook_arch_icpt_dispatch:
        .cfi_startproc
        endbr64                         /* f3 0f 1e fa      endbr64 (entered by an indirect jump) */
        pushq   %rbp                    /* 55               push rbp                 */
        .cfi_def_cfa_offset 16
        .cfi_offset %rbp, -16
        movq    %rsp, %rbp              /* 48 89 e5         mov rbp, rsp             */
        .cfi_def_cfa_register %rbp
        subq    $IF_SIZE, %rsp          /* 48 81 ec 80 01 00 00  sub rsp, IF_SIZE    */

        /* Save the argument registers: chook_arch_iregs. */
        movq    %rdi, F(IF_GP + 0)
        movq    %rsi, F(IF_GP + 8)
        movq    %rdx, F(IF_GP + 16)
        movq    %rcx, F(IF_GP + 24)
        movq    %r8,  F(IF_GP + 32)
        movq    %r9,  F(IF_GP + 40)
        movq    %rax, F(IF_EXTRA)
        movq    %r11, F(IF_CTX)
        movaps  %xmm0, F(IF_FP + 0)
        movaps  %xmm1, F(IF_FP + 16)
        movaps  %xmm2, F(IF_FP + 32)
        movaps  %xmm3, F(IF_FP + 48)
        movaps  %xmm4, F(IF_FP + 64)
        movaps  %xmm5, F(IF_FP + 80)
        movaps  %xmm6, F(IF_FP + 96)
        movaps  %xmm7, F(IF_FP + 112)
        /* Per-listener slots right below the frame, as many as the context
         * says (16 bytes each); the C side finds them from slot_bytes. */
        movq    CTX_SLOT_BYTES(%r11), %rax
        subq    %rax, %rsp
        movq    %rax, F(IF_SLOT_BYTES)

        leaq    -IF_SIZE(%rbp), %rdi
        call    chook__icpt_enter       /* rax = action | stack bytes to copy */
        movq    %rax, %rcx
        andl    $15, %eax
        cmpl    $1, %eax                /* CHOOK__ICPT_CALL */
        je      .Lcall
        cmpl    $2, %eax                /* CHOOK__ICPT_SKIP */
        je      .Lleave

        /* CHOOK__ICPT_JUMP: nothing to do after the call. Restore the (possibly
         * rewritten) arguments, drop the frame and jump: the original returns
         * straight to the caller. */
        RESTORE_ARGS
        movq    F(IF_CTX), %r11
        movq    CTX_ORIGINAL(%r11), %r11
        .cfi_remember_state
        leave                           /* c9               leave                    */
        .cfi_def_cfa %rsp, 8
        .cfi_same_value %rbp
        jmp     *%r11                   /* 41 ff e3         jmp r11                  */
        .cfi_restore_state

.Lcall:
        /* Copy the caller's stack arguments below the slots, 16 bytes at a time
         * (rcx: how many), so the original finds them at 8(%rsp) after our call. */
        andq    $-16, %rcx
        subq    %rcx, %rsp
        xorl    %eax, %eax
        testl   $16, %ecx               /* an odd 16-byte block first */
        jz      1f
        movups  16(%rbp), %xmm8
        movups  %xmm8, (%rsp)
        movl    $16, %eax
1:      cmpq    %rcx, %rax              /* then 32 bytes at a time */
        jae     2f
        movups  16(%rbp,%rax), %xmm8
        movups  32(%rbp,%rax), %xmm9
        movups  %xmm8, (%rsp,%rax)
        movups  %xmm9, 16(%rsp,%rax)
        addq    $32, %rax
        jmp     1b
2:      RESTORE_ARGS
        movq    F(IF_CTX), %r11
        call    *CTX_ORIGINAL(%r11)
        movq    %rax, F(IF_RET)
        movq    %rdx, F(IF_RET + 8)
        movaps  %xmm0, F(IF_FRET)
        movaps  %xmm1, F(IF_FRET + 16)

.Lleave:
        leaq    -IF_SIZE(%rbp), %rdi
        call    chook__icpt_leave
        movq    F(IF_RET), %rax
        movq    F(IF_RET + 8), %rdx
        movaps  F(IF_FRET), %xmm0
        movaps  F(IF_FRET + 16), %xmm1
        .cfi_remember_state
        leave                           /* c9               leave                    */
        .cfi_def_cfa %rsp, 8
        .cfi_same_value %rbp
        ret                             /* c3               ret                      */
        .cfi_restore_state

        .cfi_endproc
        .size   chook_arch_icpt_dispatch, .-chook_arch_icpt_dispatch

        .section .note.GNU-stack,"",@progbits
