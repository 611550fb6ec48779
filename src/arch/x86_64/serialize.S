/*
 * void chook_arch_serialize(void)
 *
 * Makes the calling core see code that other cores (or /proc/self/mem) wrote:
 * x86 requires a serialising instruction before executing cross-modified code,
 * and cpuid is the one every x86-64 processor has in user mode. cpuid overwrites
 * eax, ebx, ecx and edx; rbx is callee-saved, so it is kept on the stack.
 */
        .text
        .globl  chook_arch_serialize
        .hidden chook_arch_serialize
        .type   chook_arch_serialize, @function
        .p2align 4
chook_arch_serialize:
        .cfi_startproc
        endbr64                         /* f3 0f 1e fa   endbr64                   */
        pushq   %rbx                    /* 53            push rbx                  */
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %rbx, 0
        xorl    %eax, %eax              /* 31 c0         xor eax, eax : leaf 0     */
        cpuid                           /* 0f a2         cpuid                     */
        popq    %rbx                    /* 5b            pop rbx                   */
        .cfi_adjust_cfa_offset -8
        .cfi_restore %rbx
        ret                             /* c3            ret                       */
        .cfi_endproc
        .size   chook_arch_serialize, .-chook_arch_serialize

        .section .note.GNU-stack,"",@progbits
