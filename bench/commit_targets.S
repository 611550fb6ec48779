/*
 * 10,000 hookable functions for bench_commit: long bench_commit_fn_<n>(long x)
 * returns x + n. bench_commit_table lists them.
 */
#define BENCH_COMMIT_TARGETS 10000

        .text
        .macro  bench_commit_one n
        .type   bench_commit_fn_\n, @function
        .p2align 4
bench_commit_fn_\n:
        pushq   %rbp                    /* 55                push rbp             */
        movq    %rsp, %rbp              /* 48 89 e5          mov rbp, rsp         */
        leaq    \n(%rdi), %rax          /* 48 8d 47 ib / 48 8d 87 id  lea rax, [rdi+n] */
        popq    %rbp                    /* 5d                pop rbp              */
        ret                             /* c3                ret                  */
        .size   bench_commit_fn_\n, .-bench_commit_fn_\n
        .pushsection .data.rel.ro.bench_commit_table, "aw"
        .quad   bench_commit_fn_\n
        .popsection
        .endm

        .pushsection .data.rel.ro.bench_commit_table, "aw"
        .globl  bench_commit_table
        .p2align 3
bench_commit_table:
        .popsection

        .altmacro
        .set    bench_i, 0
        .rept   BENCH_COMMIT_TARGETS
        bench_commit_one %bench_i
        .set    bench_i, bench_i + 1
        .endr
        .noaltmacro

        .section .note.GNU-stack,"",@progbits
