/*
 * void chook_arch_icpt_dispatch(void) — the common interception dispatcher.
 *
 * Entered by a jump from a listener thunk, with the target's context in r11, the
 * caller's r11 saved by the thunk at R - 16 and the stack otherwise exactly as
 * the caller left it (R: the stack pointer at entry, the return address at (R)).
 * It never rewrites the caller's return address: it keeps a frame of its own
 * (with unwind information, so backtrace() and C++ unwinding walk through it to
 * the real caller) and either jumps to the original with the caller's stack and
 * registers restored, or calls the original from its frame with a copy of the
 * caller's stack arguments and runs the leave callbacks when it returns.
 *
 * Frame (struct chook__iframe at rbp - IF_SIZE: the core's fields at the
 * offsets of intercept_abi.h, then chook_arch_iregs, intercept_frame.h):
 *   R + 8           the caller's stack arguments (its frame, up to its CFA)
 *   R               return address into the caller
 *   R - 8           saved rbp
 *   R - 16          the caller's r11 (stored by the thunk)
 *   R - 24          the original's address, for the jump out
 *   rbp             (R - 24) rounded down to 16: the frame does not depend on
 *                   the alignment the caller left (the ELF entry point, code
 *                   reached by a jump and GCC's calls of local functions that
 *                   need no alignment enter with any rsp)
 *   rbp - 8         entry = R - 8, read by the unwind rule: CFA = *(rbp-8) + 16
 *   rbp - IF_SIZE   struct chook__iframe (chook_call, ..., registers)
 *   below           per-listener slots (ctx->slot_bytes)
 *   below           for a call: the copy of the stack arguments, then the
 *                   original's return address
 * IF_SIZE, slot_bytes and the copy are multiples of 16: every call here is made
 * with rsp 16-aligned as the ABI requires, and movaps may address the frame.
 *
 * Two entries. The thunk jumps to the entry its context names (the core
 * chooses it whenever the set changes): chook_arch_icpt_dispatch1 for a set of
 * one listener runs the fast path of intercept_abi.h itself and calls the
 * callbacks directly (no C glue, no callee-saved registers to spill); anything
 * unusual there (no thread record yet, readers that must fence, a set of
 * another size, a record that may have been abandoned) goes to the C code,
 * before any step or with the window closed again. chook_arch_icpt_dispatch
 * runs any set through chook__icpt_enter and chook__icpt_leave. Only
 * intercept_abi.h of the core is read here: its offsets and its steps.
 *
 * Registers. The caller gets back every register the original would have left
 * alone: GCC's -fipa-ra lets callers of a local function keep values in
 * call-clobbered registers that function does not touch. So rdi, rsi, rdx, rcx,
 * r8-r11, rax and xmm0-15 are saved before any C code runs; a jump to the
 * original restores all of them (as callbacks left the argument registers);
 * after a call of the original, rax, rdx, xmm0 and xmm1 are returned as the
 * original (or a skipping callback, or an on_leave) left them and every other
 * one as it was given to the original. rbx, rbp, r12-r15 are callee-saved by
 * every function called here. The upper halves of ymm/zmm registers, the x87
 * stack and the flags are not saved.
 *
 * Stack arguments. A call copies ch->stack_bytes of them (nothing for a
 * signature without stack arguments), or with ICPT_STACK_CALLER
 * (no signature) the whole frame of the caller: from R + 8 up to its return
 * address, as its unwind information says (chook__icpt_window in
 * intercept_stack.c; a per-call-site cache is read here first). A function
 * cannot take stack arguments beyond its caller's frame, so any arity works.
 */
#include "intercept_frame.h"  /* and the core's intercept_abi.h */

#define F(off) ((off) - IF_SIZE)(%rbp)

/* Loads the argument registers, rax and r10 (the static chain) from the frame
 * (as callbacks left them). */
        .macro RESTORE_ARGS
        movq    F(IF_GP + 0), %rdi
        movq    F(IF_GP + 8), %rsi
        movq    F(IF_GP + 16), %rdx
        movq    F(IF_GP + 24), %rcx
        movq    F(IF_GP + 32), %r8
        movq    F(IF_GP + 40), %r9
        movq    F(IF_EXTRA), %rax
        movq    F(IF_KEEP), %r10
        movaps  F(IF_FP + 0), %xmm0
        movaps  F(IF_FP + 16), %xmm1
        movaps  F(IF_FP + 32), %xmm2
        movaps  F(IF_FP + 48), %xmm3
        movaps  F(IF_FP + 64), %xmm4
        movaps  F(IF_FP + 80), %xmm5
        movaps  F(IF_FP + 96), %xmm6
        movaps  F(IF_FP + 112), %xmm7
        .endm

/* xmm8-15 as the caller left them. */
        .macro RESTORE_KEEP_FP
        movaps  F(IF_KEEP_FP + 0), %xmm8
        movaps  F(IF_KEEP_FP + 16), %xmm9
        movaps  F(IF_KEEP_FP + 32), %xmm10
        movaps  F(IF_KEEP_FP + 48), %xmm11
        movaps  F(IF_KEEP_FP + 64), %xmm12
        movaps  F(IF_KEEP_FP + 80), %xmm13
        movaps  F(IF_KEEP_FP + 96), %xmm14
        movaps  F(IF_KEEP_FP + 112), %xmm15
        .endm

/* Drops the frame: rsp = R, rbp and r11 as the caller left them. */
        .macro DROP_FRAME
        movq    F(IF_ENTRY), %rsp       /* rsp = R - 8 */
        .cfi_def_cfa %rsp, 16
        popq    %rbp
        .cfi_def_cfa_offset 8
        .cfi_same_value %rbp
        movq    ICPT_R11_SAVE(%rsp), %r11
        .endm

/* Calls the original from this frame (rcx: bytes of stack arguments to copy, a
 * multiple of 16) and saves its return registers in the frame. The copy lies
 * below the slots, so the original finds the arguments at 8(%rsp) after our
 * call. 32 bytes at a time, an odd 16 first. */
        .macro CALL_ORIGINAL
        testl   %ecx, %ecx              /* none (a signature without any) */
        jz      2f
        subq    %rcx, %rsp
        movq    F(IF_ENTRY), %rsi       /* the arguments are at 16(%rsi) */
        xorl    %eax, %eax
        testl   $16, %ecx
        jz      1f
        movups  16(%rsi), %xmm8
        movups  %xmm8, (%rsp)
        movl    $16, %eax
1:      cmpq    %rcx, %rax
        jae     2f
        movups  16(%rsi,%rax), %xmm8
        movups  32(%rsi,%rax), %xmm9
        movups  %xmm8, (%rsp,%rax)
        movups  %xmm9, 16(%rsp,%rax)
        addq    $32, %rax
        jmp     1b
2:      RESTORE_ARGS
        movq    F(IF_CTX), %r11
        call    *ICPT_CTX_ORIGINAL(%r11)
        movq    %rax, F(ICPT_F_RET)
        movq    %rdx, F(ICPT_F_RET + 8)
        movaps  %xmm0, F(ICPT_F_FRET)
        movaps  %xmm1, F(ICPT_F_FRET + 16)
        .endm

/* Restores every register (the argument registers as callbacks left them) and
 * jumps to the original: it returns straight to the caller. */
        .macro JUMP_ORIGINAL
        RESTORE_ARGS
        RESTORE_KEEP_FP
        .cfi_remember_state
        DROP_FRAME
        jmp     *ICPT_JUMP_SLOT(%rsp)   /* ff 64 24 e8      jmp [rsp-24]             */
        .cfi_restore_state
        .endm

/* Returns to the caller: the return registers saved after the call (or set by
 * callbacks), every other register as the original received it. */
        .macro RETURN_TO_CALLER
        movq    F(ICPT_F_RET), %rax
        movq    F(ICPT_F_RET + 8), %rdx
        movaps  F(ICPT_F_FRET), %xmm0
        movaps  F(ICPT_F_FRET + 16), %xmm1
        movq    F(IF_GP + 0), %rdi
        movq    F(IF_GP + 8), %rsi
        movq    F(IF_GP + 24), %rcx
        movq    F(IF_GP + 32), %r8
        movq    F(IF_GP + 40), %r9
        movq    F(IF_KEEP), %r10
        movaps  F(IF_FP + 32), %xmm2
        movaps  F(IF_FP + 48), %xmm3
        movaps  F(IF_FP + 64), %xmm4
        movaps  F(IF_FP + 80), %xmm5
        movaps  F(IF_FP + 96), %xmm6
        movaps  F(IF_FP + 112), %xmm7
        RESTORE_KEEP_FP
        .cfi_remember_state
        DROP_FRAME
        ret                             /* c3               ret                      */
        .cfi_restore_state
        .endm

/* Builds the frame (see the top of this file) and saves every register the
 * caller may expect back: chook_arch_iregs. r11 holds the context (or the
 * keep record, whose dest is at the same offset as a context's original). */
        .macro ENTER_FRAME
        pushq   %rbp                    /* 55               push rbp                 */
        .cfi_def_cfa_offset 16
        .cfi_offset %rbp, -16
        /* rbp is saved: a scratch register until it becomes the frame's top.
         * Everything written below rsp here is within the red zone, which no
         * signal frame touches. */
        movq    ICPT_CTX_ORIGINAL(%r11), %rbp
        movq    %rbp, ICPT_JUMP_SLOT + 8(%rsp)  /* R - 24: where a jump goes */
        leaq    -16(%rsp), %rbp
        andq    $-16, %rbp              /* rbp = (R - 24) & -16 */
        movq    %rsp, F(IF_ENTRY)       /* entry = R - 8 */
        /* DW_CFA_def_cfa_expression: CFA = *(rbp - 8) + 16 (the frame's entry
         * field; rbp stays saved at CFA - 16, the return address at CFA - 8). */
        .cfi_escape 0x0f, 0x05, 0x76, 0x78, 0x06, 0x23, 0x10
        leaq    -IF_SIZE(%rbp), %rsp

        /* Save the registers: chook_arch_iregs. */
        movq    %rdi, F(IF_GP + 0)
        movq    %rsi, F(IF_GP + 8)
        movq    %rdx, F(IF_GP + 16)
        movq    %rcx, F(IF_GP + 24)
        movq    %r8,  F(IF_GP + 32)
        movq    %r9,  F(IF_GP + 40)
        movq    %rax, F(IF_EXTRA)
        movq    %r11, F(IF_CTX)
        movq    %r10, F(IF_KEEP)
        movaps  %xmm0, F(IF_FP + 0)
        movaps  %xmm1, F(IF_FP + 16)
        movaps  %xmm2, F(IF_FP + 32)
        movaps  %xmm3, F(IF_FP + 48)
        movaps  %xmm4, F(IF_FP + 64)
        movaps  %xmm5, F(IF_FP + 80)
        movaps  %xmm6, F(IF_FP + 96)
        movaps  %xmm7, F(IF_FP + 112)
        movaps  %xmm8, F(IF_KEEP_FP + 0)
        movaps  %xmm9, F(IF_KEEP_FP + 16)
        movaps  %xmm10, F(IF_KEEP_FP + 32)
        movaps  %xmm11, F(IF_KEEP_FP + 48)
        movaps  %xmm12, F(IF_KEEP_FP + 64)
        movaps  %xmm13, F(IF_KEEP_FP + 80)
        movaps  %xmm14, F(IF_KEEP_FP + 96)
        movaps  %xmm15, F(IF_KEEP_FP + 112)
        .endm

/* Closes the thread's window (rdx: its record): only the outermost close
 * advances the window generation. */
        .macro CLOSE_WINDOW
        subl    $1, ICPT_IT_WIN(%rdx)
        jnz     1f
        addl    $1, ICPT_IT_WGEN(%rdx)
1:
        .endm

/* busy was 0 when the fast path began and every signal handler leaves it as it
 * found it, so the fast path sets and clears it with plain stores. */
        .macro CALLBACK fn
        movq    F(ICPT_F_TLS), %r10
        movl    $1, %fs:ICPT_TLS_BUSY(%r10)
        leaq    F(ICPT_F_CALL), %rdi
        movq    ICPT_L_DATA(%rcx), %rsi
        call    *\fn
        movq    F(ICPT_F_TLS), %r10
        movl    $0, %fs:ICPT_TLS_BUSY(%r10)
        .endm

/* rax = chook__tls (the thread's block) from the thread pointer, by its TLS
 * descriptor: works when the library was loaded late, into dynamic TLS (the
 * block's address differs per thread and may be allocated at this first use).
 * The call changes no register but rax and the flags; rsp is 16-aligned here,
 * and every vector register is saved (glibc's dynamic resolver may use them). */
        .macro TLS_BLOCK
        leaq    chook__tls@TLSDESC(%rip), %rax  /* 48 8d 05 <rel32>  lea rax, [rip+desc] */
        call    *chook__tls@TLSCALL(%rax)       /* ff 10            call [rax]           */
        .endm

/* ecx = the bytes of stack arguments to copy for a set whose stack_bytes is
 * ICPT_STACK_CALLER: the caller's frame size from the per-call-site cache, or from
 * chook__icpt_window on a miss. */
        .macro CALLER_WINDOW
        movq    F(IF_ENTRY), %rax
        movq    8(%rax), %rax           /* rax = the return address */
        movq    %rax, %rdx              /* the slot: intercept_abi.h */
        shrq    $ICPT_WINDOWS_SHIFT, %rdx
        xorq    %rax, %rdx
        andl    $(ICPT_WINDOWS - 1), %edx
        leaq    chook__icpt_windows(%rip), %rcx
        movq    (%rcx,%rdx,8), %rcx     /* (ra << 16) | bytes / 16 */
        movq    %rcx, %rdx
        shrq    $16, %rdx
        cmpq    %rax, %rdx
        jne     1f
        movzwl  %cx, %ecx
        shll    $4, %ecx
        jmp     2f
1:      movq    F(IF_ENTRY), %rdi
        call    chook__icpt_window
        movl    %eax, %ecx
2:
        .endm

        .text
/* The common entry: any set, through the C glue (chook__icpt_enter/leave). */
        .globl  chook_arch_icpt_dispatch
        .hidden chook_arch_icpt_dispatch
        .type   chook_arch_icpt_dispatch, @function
        .p2align 4
chook_arch_icpt_dispatch:
        .cfi_startproc
        endbr64                         /* f3 0f 1e fa      endbr64 (entered by an indirect jump) */
        ENTER_FRAME
.Lgeneral:
        /* Per-listener slots right below the frame, as many as the context
         * says (16 bytes each); the C side finds them from slot_bytes. */
        movq    F(IF_CTX), %r11
        movq    ICPT_CTX_SLOT_BYTES(%r11), %rax
        leaq    -IF_SIZE(%rbp), %rsp
        subq    %rax, %rsp
        movq    %rax, F(ICPT_F_SLOT_BYTES)
        leaq    -IF_SIZE(%rbp), %rdi
        call    chook__icpt_enter       /* rax = action | stack bytes to copy */
        movq    %rax, %rcx
        andl    $ICPT_ACTION_MASK, %eax
        cmpl    $ICPT_CALL, %eax
        je      .Lcall
        cmpl    $ICPT_SKIP_CALL, %eax
        je      .Lleave_c
.Ljump:                                 /* ICPT_JUMP: nothing to do after the call */
        JUMP_ORIGINAL
.Lcall:
        andq    $-16, %rcx              /* the bytes to copy */
        CALL_ORIGINAL
.Lleave_c:
        leaq    -IF_SIZE(%rbp), %rdi
        call    chook__icpt_leave
        RETURN_TO_CALLER
        .cfi_endproc
        .size   chook_arch_icpt_dispatch, .-chook_arch_icpt_dispatch

/*
 * The one-listener entry: the fast path of intercept_abi.h (its steps are
 * numbered the same below), no C in between. The core points a context's
 * thunk here while its set has one listener; anything unusual goes to the
 * common entry's C glue (.Lto_general), before any step or with the window
 * closed again.
 */
        .globl  chook_arch_icpt_dispatch1
        .hidden chook_arch_icpt_dispatch1
        .type   chook_arch_icpt_dispatch1, @function
        .p2align 4
chook_arch_icpt_dispatch1:
        .cfi_startproc
        endbr64                         /* f3 0f 1e fa      endbr64 (entered by an indirect jump) */
        ENTER_FRAME                     /* 1. */
        subq    $16, %rsp               /* slot 0 */
        TLS_BLOCK                       /* 2. once per call: kept in the frame */
        movq    %rax, F(ICPT_F_TLS)
        cmpq    $0, %fs:ICPT_TLS_BUSY(%rax)     /* busy and ignore */
        jne     .Ljump1
        movq    %fs:ICPT_TLS_ITHREAD(%rax), %rdx /* rdx = the thread's record */
        testq   %rdx, %rdx
        jz      .Lgeneral1                      /* first call: C claims one */
        cmpl    $0, chook__icpt_reader_fence(%rip)
        jne     .Lgeneral1
        addl    $1, ICPT_IT_WIN(%rdx)           /* 3. open the window */
        movq    ICPT_CTX_CHAIN(%r11), %rax      /* 4. rax = the set */
        testq   %rax, %rax
        jz      .Lclose_jump
        cmpl    $1, ICPT_CH_N(%rax)
        jne     .Lclose_general
        movq    ICPT_CH_L(%rax), %rcx           /* rcx = its listener */
        cmpl    $0, ICPT_L_DETACHED(%rcx)
        jne     .Lclose_jump
        movl    $ICPT_CALL_FRAME, F(ICPT_F_CALL_FLAGS)  /* 5. */
        leaq    -IF_SIZE-16(%rbp), %r8          /* slot 0: its data (entered is for C) */
        movq    $0, (%r8)
        movq    %r8, F(ICPT_F_CALL_DATA)
        movq    ICPT_L_SIG(%rcx), %r8
        movq    %r8, F(ICPT_F_CALL_SIG)
        movq    %rdx, F(ICPT_F_THREAD)
        cmpq    $0, ICPT_L_ON_LEAVE(%rcx)
        jne     .Lowe_leave

        /* ---- no on_leave: so it has an on_enter ---- */
        CALLBACK ICPT_L_ON_ENTER(%rcx)
        cmpl    $ICPT_SKIP, %eax
        je      .Lskip_no_leave
        movq    F(ICPT_F_THREAD), %rdx          /* 6. */
        CLOSE_WINDOW
.Ljump1:
        JUMP_ORIGINAL

        /* ---- an on_leave is owed ---- */
.Lowe_leave:
        movq    %rax, F(ICPT_F_CHAIN)           /* the leave step's set */
        cmpq    $0, ICPT_L_ON_ENTER(%rcx)
        je      .Lrecord
        CALLBACK ICPT_L_ON_ENTER(%rcx)
        movq    F(ICPT_F_THREAD), %rdx
        cmpl    $ICPT_SKIP, %eax
        je      .Lskip
        movl    $ICPT_CALL_FRAME, F(ICPT_F_CALL_FLAGS)  /* a chook_skip() not returned */
.Lrecord:
        /* 7. In flight on this thread before the window closes (inflight_push()
         * in intercept.c): depth, the record, depth again. */
        leaq    -IF_SIZE(%rbp), %rdi            /* rdi = the frame */
        movl    ICPT_IT_DEPTH(%rdx), %ecx       /* ecx = depth */
        testl   %ecx, %ecx
        jnz     .Lrecord_check
.Lpush:
        leal    1(%rcx), %eax
        movl    %eax, ICPT_IT_DEPTH(%rdx)
        movl    %ecx, %r8d
        shlq    $4, %r8
        movq    F(ICPT_F_CHAIN), %r9
        movq    %r9, ICPT_IT_INFLIGHT(%rdx,%r8)
        movq    %rdi, ICPT_IT_INFLIGHT + 8(%rdx,%r8)
        movl    %eax, ICPT_IT_DEPTH(%rdx)
        movl    %ecx, F(ICPT_F_DEPTH)
.Lrecorded:
        CLOSE_WINDOW                            /* 8. */
        testl   $ICPT_CALL_SKIPPED, F(ICPT_F_CALL_FLAGS)
        jnz     .Lleave1                        /* 9. */
        movq    F(ICPT_F_CHAIN), %rcx
        movl    ICPT_CH_STACK_BYTES(%rcx), %ecx
        cmpl    $ICPT_STACK_CALLER, %ecx
        je      .Lwindow
.Lcall1:
        CALL_ORIGINAL
.Lleave1:
        movq    F(ICPT_F_CHAIN), %rcx           /* 10. */
        movq    ICPT_CH_L(%rcx), %rcx
        CALLBACK ICPT_L_ON_LEAVE(%rcx)
        movq    F(ICPT_F_THREAD), %rdx          /* 11. no longer in flight */
        movl    F(ICPT_F_DEPTH), %ecx
        movl    %ecx, ICPT_IT_DEPTH(%rdx)
        RETURN_TO_CALLER

        /* ---- out of line ---- */
.Lrecord_check:
        cmpl    $ICPT_INFLIGHT, %ecx
        jae     .Lrecord_c                      /* records full */
        movl    %ecx, %eax
        shlq    $4, %rax
        cmpq    %rdi, ICPT_IT_INFLIGHT - 8(%rdx,%rax)  /* the record below: frame above ours? */
        ja      .Lpush
.Lrecord_c:
        call    chook__icpt_record              /* drops abandoned records; f->depth */
        movq    F(ICPT_F_THREAD), %rdx
        jmp     .Lrecorded
.Lskip:
        movl    $ICPT_CALL_FRAME + ICPT_CALL_SKIPPED, F(ICPT_F_CALL_FLAGS)
        jmp     .Lrecord
.Lskip_no_leave:
        /* Skipped, and nothing to run after: the window covered all this call
         * did with the set. Return what the callback set. */
        movq    F(ICPT_F_THREAD), %rdx
        CLOSE_WINDOW
        RETURN_TO_CALLER
.Lclose_general:
        /* A set of another size: close the window, let C do it all. */
        CLOSE_WINDOW
.Lgeneral1:
        jmp     .Lgeneral
.Lclose_jump:
        CLOSE_WINDOW
        JUMP_ORIGINAL
.Lwindow:
        CALLER_WINDOW
        jmp     .Lcall1
        .cfi_endproc
        .size   chook_arch_icpt_dispatch1, .-chook_arch_icpt_dispatch1

        .hidden chook__icpt_reader_fence
        .hidden chook__tls
        .hidden chook__icpt_enter
        .hidden chook__icpt_leave
        .hidden chook__icpt_record
        .hidden chook__icpt_window
        .hidden chook__icpt_windows

/*
 * void chook_arch_keep_dispatch(void) — the register-keeping replacement thunk
 * (CHOOK_KEEP_REGS). Entered by a jump from a thunk like a listener's, with a
 * struct chook__keep in r11: builds the same frame, calls keep->dest with the
 * caller's arguments and stack arguments (its whole frame, as for listeners),
 * and returns what dest returned in rax, rdx, xmm0 and xmm1 with every other
 * register as the caller left it.
 */
        .globl  chook_arch_keep_dispatch
        .hidden chook_arch_keep_dispatch
        .type   chook_arch_keep_dispatch, @function
        .p2align 4
chook_arch_keep_dispatch:
        .cfi_startproc
        endbr64                         /* f3 0f 1e fa      endbr64 (entered by an indirect jump) */
        ENTER_FRAME
        CALLER_WINDOW
        CALL_ORIGINAL
        /* Return registers the target does not return in (keep->ret_keep,
         * from the CHOOK_KEEP_RET_* flags) go back as the caller left them. */
        movq    F(IF_CTX), %r11
        movl    ICPT_KEEP_RET(%r11), %eax
        testl   $1, %eax
        jz      1f
        movq    F(IF_EXTRA), %rcx
        movq    %rcx, F(ICPT_F_RET)
1:      testl   $2, %eax
        jz      2f
        movq    F(IF_GP + 16), %rcx
        movq    %rcx, F(ICPT_F_RET + 8)
2:      testl   $4, %eax
        jz      3f
        movaps  F(IF_FP + 0), %xmm8
        movaps  %xmm8, F(ICPT_F_FRET)
3:      testl   $8, %eax
        jz      4f
        movaps  F(IF_FP + 16), %xmm8
        movaps  %xmm8, F(ICPT_F_FRET + 16)
4:      RETURN_TO_CALLER
        .cfi_endproc
        .size   chook_arch_keep_dispatch, .-chook_arch_keep_dispatch

        .section .note.GNU-stack,"",@progbits
