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
 * Single-listener fast path. When the context reserves exactly one slot, the
 * dispatcher does itself what chook__icpt_enter and chook__icpt_leave do for a
 * set of one listener (same steps, same order of stores; see intercept.c) and
 * calls the callbacks directly: no C glue, no callee-saved registers to spill.
 * Anything unusual (no thread record yet, readers that must fence, a set of
 * another size, a record that may have been abandoned) goes to the C code,
 * before any step or with the window closed again.
 *
 * Registers: the six integer argument registers, rax (al is the number of vector
 * registers a variadic callee receives) and xmm0-7 are saved before any C code
 * runs and restored (possibly rewritten by callbacks) before the original runs.
 * rbx, rbp, r12-r15 are callee-saved by the C functions called. r10, r11, xmm8
 * and xmm9 are scratch the ABI passes nothing in for C functions (r10, the
 * static chain of nested functions, is not preserved).
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

/* Calls the original from this frame (rcx: bytes of stack arguments to copy, a
 * multiple of 16) and saves its return registers in the frame. The copy lies
 * below the slots, so the original finds the arguments at 8(%rsp) after our
 * call. The default 64 bytes are copied in line; any other size by COPY_ANY,
 * placed out of the straight path, which comes back to .Lcopied_<name>. */
        .macro CALL_ORIGINAL name
        andq    $-16, %rcx
        subq    %rcx, %rsp
        cmpl    $64, %ecx
        jne     .Lcopy_any_\name
        movups  16(%rbp), %xmm8
        movups  32(%rbp), %xmm9
        movups  %xmm8, (%rsp)
        movups  %xmm9, 16(%rsp)
        movups  48(%rbp), %xmm8
        movups  64(%rbp), %xmm9
        movups  %xmm8, 32(%rsp)
        movups  %xmm9, 48(%rsp)
.Lcopied_\name:
        RESTORE_ARGS
        movq    F(IF_CTX), %r11
        call    *CTX_ORIGINAL(%r11)
        movq    %rax, F(IF_RET)
        movq    %rdx, F(IF_RET + 8)
        movaps  %xmm0, F(IF_FRET)
        movaps  %xmm1, F(IF_FRET + 16)
        .endm

        .macro COPY_ANY name
.Lcopy_any_\name:
        xorl    %eax, %eax
        testl   $16, %ecx               /* an odd 16-byte block first */
        jz      1f
        movups  16(%rbp), %xmm8
        movups  %xmm8, (%rsp)
        movl    $16, %eax
1:      cmpq    %rcx, %rax              /* then 32 bytes at a time */
        jae     .Lcopied_\name
        movups  16(%rbp,%rax), %xmm8
        movups  32(%rbp,%rax), %xmm9
        movups  %xmm8, (%rsp,%rax)
        movups  %xmm9, 16(%rsp,%rax)
        addq    $32, %rax
        jmp     1b
        .endm

/* Restores the (possibly rewritten) arguments, drops the frame and jumps to the
 * original: it returns straight to the caller. */
        .macro JUMP_ORIGINAL
        RESTORE_ARGS
        movq    F(IF_CTX), %r11
        movq    CTX_ORIGINAL(%r11), %r11
        .cfi_remember_state
        leave                           /* c9               leave                    */
        .cfi_def_cfa %rsp, 8
        .cfi_same_value %rbp
        jmp     *%r11                   /* 41 ff e3         jmp r11                  */
        .cfi_restore_state
        .endm

/* Returns the saved return registers to the caller. */
        .macro RETURN_TO_CALLER
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
        .endm

/* Closes the thread's window (rdx: its record): only the outermost close
 * advances the window generation. */
        .macro CLOSE_WINDOW
        subl    $1, IT_WIN(%rdx)
        jnz     1f
        addl    $1, IT_WGEN(%rdx)
1:
        .endm

/* busy was 0 when the fast path began and every signal handler leaves it as it
 * found it, so the fast path sets and clears it with plain stores. */
        .macro CALLBACK fn
        movq    chook__tls@gottpoff(%rip), %r10
        movl    $1, %fs:TLS_BUSY(%r10)
        leaq    F(IF_CALL), %rdi
        movq    L_DATA(%rcx), %rsi
        call    *\fn
        movq    chook__tls@gottpoff(%rip), %r10
        movl    $0, %fs:TLS_BUSY(%r10)
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
        cmpq    $16, %rax               /* one slot: the fast path */
        jne     .Lgeneral

        /* ---- fast path, enter step (chook__icpt_enter for a set of one).
         * The common case runs straight down; the rest is out of line. ---- */
        movq    chook__tls@gottpoff(%rip), %r10
        cmpq    $0, %fs:TLS_BUSY(%r10)          /* busy and ignore (TLS_IGNORE = */
        jne     .Ljump                          /* TLS_BUSY + 4): to the original */
        movq    chook__ithread_tls@gottpoff(%rip), %rdx
        movq    %fs:(%rdx), %rdx                /* rdx = the thread's record */
        testq   %rdx, %rdx
        jz      .Lgeneral                       /* first call: C claims one */
        cmpl    $0, chook__icpt_reader_fence(%rip)
        jne     .Lgeneral
        addl    $1, IT_WIN(%rdx)                /* open the window */
        movq    CTX_CHAIN(%r11), %rax           /* rax = the set */
        testq   %rax, %rax
        jz      .Lfast_close_jump
        cmpl    $1, CH_N(%rax)
        jne     .Lfast_close_general
        movq    CH_L(%rax), %rcx                /* rcx = its listener */
        cmpl    $0, L_DETACHED(%rcx)
        jne     .Lfast_close_jump
        movq    %rax, F(IF_CHAIN)
        movq    %rdx, F(IF_THREAD)
        movups  .Lcall_init(%rip), %xmm8        /* n_gp, n_fp, fp_stride, flags */
        movups  %xmm8, F(IF_CALL_NGP)
        movq    CTX_TARGET(%r11), %r8
        movq    %r8, F(IF_CALL_TARGET)
        leaq    -IF_SIZE-16(%rbp), %r8          /* slot 0: data 0, entered */
        movq    $0, (%r8)
        movq    $1, 8(%r8)
        movq    %r8, F(IF_CALL_DATA)
        movq    L_SIG(%rcx), %r8
        movq    %r8, F(IF_CALL_SIG)
        cmpq    $0, L_ON_ENTER(%rcx)
        je      .Lfast_entered
        CALLBACK L_ON_ENTER(%rcx)
        cmpl    $SKIP, %eax
        je      .Lfast_skip
        movl    $CALL_FRAME, F(IF_CALL_FLAGS)
        movq    F(IF_CHAIN), %rcx
        movq    CH_L(%rcx), %rcx
.Lfast_entered:
        movq    F(IF_THREAD), %rdx
        cmpq    $0, L_ON_LEAVE(%rcx)
        je      .Lfast_close_jump               /* nothing owed after the call */
.Lfast_record:
        /* In flight on this thread before the window closes (inflight_push()
         * in intercept.c): depth, the record, depth again. */
        leaq    -IF_SIZE(%rbp), %rdi            /* rdi = the frame */
        movl    IT_DEPTH(%rdx), %ecx            /* ecx = depth */
        testl   %ecx, %ecx
        jnz     .Lfast_record_check
.Lfast_push:
        leal    1(%rcx), %eax
        movl    %eax, IT_DEPTH(%rdx)
        movl    %ecx, %r8d
        shlq    $4, %r8
        movq    F(IF_CHAIN), %r9
        movq    %r9, IT_INFLIGHT(%rdx,%r8)
        movq    %rdi, IT_INFLIGHT + 8(%rdx,%r8)
        movl    %eax, IT_DEPTH(%rdx)
        movl    %ecx, F(IF_DEPTH)
.Lfast_recorded:
        movl    $1, F(IF_N)
        CLOSE_WINDOW
        testl   $CALL_SKIPPED, F(IF_CALL_FLAGS)
        jnz     .Lleave
        movq    F(IF_CHAIN), %rcx
        movl    CH_STACK_BYTES(%rcx), %ecx
        CALL_ORIGINAL fast

        /* ---- fast path, leave step: its one listener passed its enter step
         * and has an on_leave; call.data and call.sig are still its own. ---- */
        movq    F(IF_CHAIN), %rcx
        movq    CH_L(%rcx), %rcx
        CALLBACK L_ON_LEAVE(%rcx)
        movq    F(IF_THREAD), %rdx              /* no longer in flight */
        movl    F(IF_DEPTH), %ecx
        movl    %ecx, IT_DEPTH(%rdx)
        RETURN_TO_CALLER

        /* ---- fast path, out of line ---- */
.Lfast_record_check:
        cmpl    $IT_INFLIGHT_MAX, %ecx
        jae     .Lfast_record_c                 /* records full */
        movl    %ecx, %eax
        shlq    $4, %rax
        cmpq    %rdi, IT_INFLIGHT - 8(%rdx,%rax)  /* the record below: frame above ours? */
        ja      .Lfast_push
.Lfast_record_c:
        call    chook__icpt_record              /* drops abandoned records; f->depth */
        movq    F(IF_THREAD), %rdx
        jmp     .Lfast_recorded
.Lfast_skip:
        movl    $CALL_FRAME + CALL_SKIPPED, F(IF_CALL_FLAGS)
        movq    F(IF_THREAD), %rdx
        jmp     .Lfast_record
.Lfast_close_general:
        /* A set of another size: close the window, let C do it all. */
        CLOSE_WINDOW
        jmp     .Lgeneral
.Lfast_close_jump:
        CLOSE_WINDOW
        JUMP_ORIGINAL
        COPY_ANY fast

        /* ---- any set: the C glue ---- */
.Lgeneral:
        leaq    -IF_SIZE(%rbp), %rdi
        call    chook__icpt_enter       /* rax = action | stack bytes to copy */
        movq    %rax, %rcx
        andl    $15, %eax
        cmpl    $1, %eax                /* CHOOK__ICPT_CALL */
        je      .Lcall
        cmpl    $2, %eax                /* CHOOK__ICPT_SKIP */
        je      .Lleave
.Ljump:                                 /* CHOOK__ICPT_JUMP: nothing to do after the call */
        JUMP_ORIGINAL

.Lcall:
        CALL_ORIGINAL general
.Lleave:
        cmpl    $1, F(IF_N)             /* one listener considered: no C glue */
        jne     .Lleave_c
        movq    F(IF_CHAIN), %rcx
        movq    CH_L(%rcx), %rcx        /* rcx = the listener */
        leaq    -IF_SIZE(%rbp), %rax
        subq    F(IF_SLOT_BYTES), %rax  /* rax = its slot */
        cmpq    $0, 8(%rax)             /* its enter step not passed */
        je      .Lleave_done
        cmpq    $0, L_ON_LEAVE(%rcx)
        je      .Lleave_done
        movq    %rax, F(IF_CALL_DATA)
        movq    L_SIG(%rcx), %rax
        movq    %rax, F(IF_CALL_SIG)
        movq    chook__tls@gottpoff(%rip), %r10
        addl    $1, %fs:TLS_BUSY(%r10)  /* as chook__icpt_leave() does */
        leaq    F(IF_CALL), %rdi
        movq    L_DATA(%rcx), %rsi
        call    *L_ON_LEAVE(%rcx)
        movq    chook__tls@gottpoff(%rip), %r10
        subl    $1, %fs:TLS_BUSY(%r10)
.Lleave_done:
        movq    F(IF_THREAD), %rdx      /* no longer in flight */
        movl    F(IF_DEPTH), %ecx
        movl    %ecx, IT_DEPTH(%rdx)
        RETURN_TO_CALLER
.Lleave_c:
        leaq    -IF_SIZE(%rbp), %rdi
        call    chook__icpt_leave
        RETURN_TO_CALLER
        COPY_ANY general

        .cfi_endproc
        .size   chook_arch_icpt_dispatch, .-chook_arch_icpt_dispatch

        .hidden chook__icpt_reader_fence
        .hidden chook__ithread_tls
        .hidden chook__icpt_enter
        .hidden chook__icpt_leave
        .hidden chook__icpt_record

        .section .rodata
        .p2align 4
.Lcall_init:                            /* chook_call.n_gp, n_fp, fp_stride, flags */
        .long   6, 8, 16, CALL_FRAME

        .section .note.GNU-stack,"",@progbits
