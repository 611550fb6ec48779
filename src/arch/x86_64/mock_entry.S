/*
 * void chook__mock_entry(void) — the replacement every replacement mock installs
 * through chook_replace(). Entered by a jump from the mock's closure thunk, which
 * has pushed the closure on the thread's closure ring; the stack, the argument
 * registers, rax (al: vector registers of a variadic call) and r10 are as the
 * caller left them, and all of them are left so: the user's replacement or the
 * original is entered by a jump, as if called directly. Only r11 is clobbered
 * (the ABI passes nothing in it); r10 is kept in the red zone, which is free as
 * the function has not started (signal frames are placed below it).
 *
 * Steps:
 *   1. peek at the closure on top of the ring (a signal handler running
 *      closures from here on pushes and pops above it, leaving it in place);
 *   2. mock = closure->data;
 *   3. a mock of one thread: other threads pop the closure and jump to
 *      closure->original, which chook_replace() wrote before the target was
 *      patched;
 *   4. count the call (locked for a mock of every thread; the owner thread is
 *      the only writer of a one-thread mock's count);
 *   5. pop the closure, unless the mock has CHOOK_MOCK_CLOSURE: then the
 *      replacement pops it itself with chook_current(), first thing;
 *   6. chook__mock_cur = mock (chook_mock_current()), jump to the replacement.
 *
 * void chook__mock_seq_entry(void) — the replacement of every sequence mock,
 * entered the same way. Only r11 (and, when it answers, what a function may
 * clobber) changes. Steps:
 *   1-2. as above (closure kept in the red zone for step 5);
 *   3.   a mock of one thread: other threads jump to the original;
 *   4.   n = the call's number (lock xadd, or a plain increment by the owner);
 *        record the six integer argument registers in ring entry n & mask: its
 *        seq is zeroed, the arguments stored, then seq = n + 1 (x86 keeps
 *        stores in order, so a reader that sees n + 1 twice around its reads
 *        has a whole entry);
 *   5.   n past the steps: jump to closure->original (the real function, as
 *        called); otherwise tail-jump to chook__mock_seq_answer(mock, n), whose
 *        result (rax) and errno are the call's: the stack is the caller's, as
 *        if the caller had called it.
 *
 * uintptr_t chook__mock_thread_self(void) — the calling thread's thread pointer
 * (fs:0, the TCB's self pointer), which identifies the owner of a one-thread mock.
 */
#include "mock_layout.h"

        .text
        .globl  chook__mock_entry
        .hidden chook__mock_entry
        .type   chook__mock_entry, @function
        .p2align 4
chook__mock_entry:
        .cfi_startproc
        endbr64
        movq    %r10, -8(%rsp)
        movq    chook__tls@gottpoff(%rip), %r11         /* r11 = TLS offset of chook__tls */
        movq    %fs:TLS_OFF_RING_POS(%r11), %r10        /* 1. ring position (bytes) */
        subq    $8, %r10
        andl    $TLS_RING_MASK, %r10d
        addq    %r11, %r10
        movq    %fs:TLS_OFF_RING(%r10), %r10            /*    r10 = closure */
        movq    %r10, -16(%rsp)
        movq    CLOSURE_OFF_DATA(%r10), %r10            /* 2. r10 = mock */
        movq    MOCK_OFF_THREAD(%r10), %r11
        testq   %r11, %r11
        jnz     .Lone_thread
        lock incq MOCK_OFF_CALLS(%r10)                  /* 4. every thread: atomic */
.Lrun:
        testl   $MOCK_FLAG_CLOSURE, MOCK_OFF_FLAGS(%r10)
        jnz     .Lkeep
        movq    chook__tls@gottpoff(%rip), %r11         /* 5. pop: one instruction */
        subq    $8, %fs:TLS_OFF_RING_POS(%r11)
.Lkeep:
        movq    chook__mock_cur@gottpoff(%rip), %r11    /* 6. chook_mock_current() */
        movq    %r10, %fs:(%r11)
        movq    MOCK_OFF_REPLACEMENT(%r10), %r11
        movq    -8(%rsp), %r10
        jmp     *%r11
.Lone_thread:                                           /* 3. */
        cmpq    %fs:0, %r11
        jne     .Lpass
        incq    MOCK_OFF_CALLS(%r10)                    /* 4. owner only: plain */
        jmp     .Lrun
.Lpass:
        movq    chook__tls@gottpoff(%rip), %r11         /*    pop */
        subq    $8, %fs:TLS_OFF_RING_POS(%r11)
        movq    -16(%rsp), %r11
        movq    CLOSURE_OFF_ORIGINAL(%r11), %r11
        movq    -8(%rsp), %r10
        jmp     *%r11
        .cfi_endproc
        .size   chook__mock_entry, .-chook__mock_entry

        .globl  chook__mock_seq_entry
        .hidden chook__mock_seq_entry
        .type   chook__mock_seq_entry, @function
        .p2align 4
chook__mock_seq_entry:
        .cfi_startproc
        endbr64
        movq    %r10, -8(%rsp)
        movq    chook__tls@gottpoff(%rip), %r11         /* 1. pop the closure */
        movq    %fs:TLS_OFF_RING_POS(%r11), %r10
        subq    $8, %r10
        andl    $TLS_RING_MASK, %r10d
        addq    %r11, %r10
        movq    %fs:TLS_OFF_RING(%r10), %r10
        subq    $8, %fs:TLS_OFF_RING_POS(%r11)
        movq    %r10, -16(%rsp)                         /*    closure, for step 5 */
        movq    CLOSURE_OFF_DATA(%r10), %r10            /* 2. r10 = mock */
        movq    MOCK_OFF_THREAD(%r10), %r11
        testq   %r11, %r11
        jz      .Lseq_every_thread
        cmpq    %fs:0, %r11                             /* 3. */
        jne     .Lseq_pass
        movq    MOCK_OFF_CALLS(%r10), %r11              /* 4. owner only: plain */
        incq    MOCK_OFF_CALLS(%r10)
        jmp     .Lseq_counted
.Lseq_every_thread:
        movl    $1, %r11d                               /* 4. r11 = n, atomically */
        lock xaddq %r11, MOCK_OFF_CALLS(%r10)
.Lseq_counted:
        movq    %rax, -24(%rsp)
        movq    %r11, %rax
        andq    MOCK_OFF_CAPTURE_MASK(%r10), %rax
        shlq    $MOCK_CAPTURE_SHIFT, %rax
        addq    MOCK_OFF_CAPTURE(%r10), %rax            /*    rax = ring entry */
        movq    $0, (%rax)
        movq    %rdi, MOCK_CAPTURE_OFF_ARGS + 0(%rax)
        movq    %rsi, MOCK_CAPTURE_OFF_ARGS + 8(%rax)
        movq    %rdx, MOCK_CAPTURE_OFF_ARGS + 16(%rax)
        movq    %rcx, MOCK_CAPTURE_OFF_ARGS + 24(%rax)
        movq    %r8, MOCK_CAPTURE_OFF_ARGS + 32(%rax)
        movq    %r9, MOCK_CAPTURE_OFF_ARGS + 40(%rax)
        addq    $1, %r11
        movq    %r11, (%rax)                            /*    seq = n + 1, last */
        subq    $1, %r11
        movq    -24(%rsp), %rax
        cmpq    MOCK_OFF_ANSWERED(%r10), %r11           /* 5. */
        jae     .Lseq_pass
        movq    %r10, %rdi
        movq    %r11, %rsi
        jmp     chook__mock_seq_answer
.Lseq_pass:
        movq    -16(%rsp), %r11
        movq    CLOSURE_OFF_ORIGINAL(%r11), %r11
        movq    -8(%rsp), %r10
        jmp     *%r11
        .cfi_endproc
        .size   chook__mock_seq_entry, .-chook__mock_seq_entry

        .globl  chook__mock_thread_self
        .hidden chook__mock_thread_self
        .type   chook__mock_thread_self, @function
        .p2align 4
chook__mock_thread_self:
        .cfi_startproc
        endbr64
        movq    %fs:0, %rax
        ret
        .cfi_endproc
        .size   chook__mock_thread_self, .-chook__mock_thread_self

        .hidden chook__mock_cur
        .hidden chook__mock_seq_answer

        .section .note.GNU-stack,"",@progbits
