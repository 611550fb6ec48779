/*
 * 10,000 small, distinct, hookable functions for the install benchmarks, each
 * with an ELF symbol and size:
 *     push rbp; mov rbp, rsp; mov eax, 7; pop rbp; ret   (11 bytes, 16 aligned)
 * bench_targets_begin / bench_targets_end bracket them; they are 16 bytes apart.
 */
        .text
        .p2align 4
        .globl  bench_targets_begin
bench_targets_begin:

        .macro  bench_target
        .globl  bench_target_\@
        .type   bench_target_\@, @function
bench_target_\@:
        pushq   %rbp                    /* 55                */
        movq    %rsp, %rbp              /* 48 89 e5          */
        movl    $7, %eax                /* b8 07 00 00 00    */
        popq    %rbp                    /* 5d                */
        ret                             /* c3                */
        .size   bench_target_\@, .-bench_target_\@
        .p2align 4, 0xcc
        .endm

        .rept   10000
        bench_target
        .endr

        .globl  bench_targets_end
bench_targets_end:

        .section .note.GNU-stack,"",@progbits
