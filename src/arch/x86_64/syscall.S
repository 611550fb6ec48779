/*
 * Raw system calls and the signal-return trampoline for x86-64.
 *
 * chook must never go through libc's wrappers on its commit path: the user may
 * have hooked them (that is what chook is for), and other threads may be parked
 * while holding libc's locks.
 */
        .text

/* long chook_arch_syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
 * System V passes nr..a5 in rdi, rsi, rdx, rcx, r8, r9 and a6 on the stack; the
 * kernel wants nr in rax and a1..a6 in rdi, rsi, rdx, r10, r8, r9. */
        .globl  chook_arch_syscall
        .hidden chook_arch_syscall
        .type   chook_arch_syscall, @function
        .p2align 4
chook_arch_syscall:
        .cfi_startproc
        endbr64
        movq    %rdi, %rax              /* 48 89 f8      mov rax, rdi    : nr      */
        movq    %rsi, %rdi              /* 48 89 f7      mov rdi, rsi    : a1      */
        movq    %rdx, %rsi              /* 48 89 d6      mov rsi, rdx    : a2      */
        movq    %rcx, %rdx              /* 48 89 ca      mov rdx, rcx    : a3      */
        movq    %r8, %r10               /* 4d 89 c2      mov r10, r8     : a4      */
        movq    %r9, %r8                /* 4d 89 c8      mov r8, r9      : a5      */
        movq    8(%rsp), %r9            /* 4c 8b 4c 24 08 mov r9, [rsp+8]: a6      */
        syscall                         /* 0f 05                                   */
        ret                             /* c3                                      */
        .cfi_endproc
        .size   chook_arch_syscall, .-chook_arch_syscall

/* void chook_arch_sigreturn(void) — sa_restorer for rt_sigaction: the kernel
 * returns from a signal handler into this, which asks for rt_sigreturn (15). */
        .globl  chook_arch_sigreturn
        .hidden chook_arch_sigreturn
        .type   chook_arch_sigreturn, @function
        .p2align 4
chook_arch_sigreturn:
        movq    $15, %rax               /* 48 c7 c0 0f 00 00 00  mov rax, 15       */
        syscall                         /* 0f 05                                   */
        hlt                             /* f4: never reached                       */
        .size   chook_arch_sigreturn, .-chook_arch_sigreturn

        .section .note.GNU-stack,"",@progbits
