/*
 * 8192 generic pass-through replacements for bench_hook_libc: thunk i jumps to
 * hookall_originals[i] with every register as the caller left it, so one thunk
 * can stand in for a function of any signature.
 *
 *   hookall_thunks + 8 * i:
 *       ff 25 <disp32>     jmp qword [rip + hookall_originals + 8*i]
 *       cc cc              int3 padding to 8 bytes
 */
        .text
        .p2align 4
        .globl  hookall_thunks
        .type   hookall_thunks, @function
hookall_thunks:
        .set    ha_i, 0
        .rept   8192
        jmp     *hookall_originals + 8 * ha_i(%rip)
        .p2align 3, 0xcc
        .set    ha_i, ha_i + 1
        .endr
        .size   hookall_thunks, .-hookall_thunks

        .bss
        .p2align 3
        .globl  hookall_originals
        .type   hookall_originals, @object
hookall_originals:
        .zero   8 * 8192
        .size   hookall_originals, 8 * 8192

        .section .note.GNU-stack,"",@progbits
