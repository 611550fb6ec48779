/*
 * x86-64 side of interception: the thunks placed near intercepted targets, the
 * thread-pointer offset of a TLS variable, the System V placement of signature
 * arguments, and compile-time checks that intercept_frame.h (used by
 * intercept.S) matches the C frame.
 */
#include <stddef.h>

#include "call.h"
#include "intercept_frame.h"
#include "x86.h"

#define AT(field, off) _Static_assert(offsetof(chook_arch_iregs, field) == (off), #off)
AT(gp, IREGS_GP);
AT(extra, IREGS_EXTRA);
AT(ctx, IREGS_CTX);
AT(fp, IREGS_FP);
AT(keep, IREGS_KEEP);
AT(keep_fp, IREGS_KEEP_FP);
_Static_assert(sizeof(chook_arch_iregs) == IREGS_SIZE, "IREGS_SIZE");
_Static_assert(IF_SIZE % 16 == 0 && IF_FP % 16 == 0 && IF_KEEP_FP % 16 == 0 &&
                   ICPT_F_FRET % 16 == 0,
               "movaps alignment");
_Static_assert(CHOOK_ARCH_ICPT_R11_SAVE == ICPT_R11_SAVE, "ICPT_R11_SAVE");
_Static_assert(CHOOK_ARCH_ICPT_GP == 6 && CHOOK_ARCH_ICPT_FP == 8 &&
                   sizeof(((chook_arch_iregs *)0)->fp[0]) == 16,
               "six integer and eight vector argument registers, 16 bytes each");

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static const uint8_t ENDBR64[4] = { 0xf3, 0x0f, 0x1e, 0xfa }; /* endbr64 */

/* A jump to dest: jmp rel32 when it reaches, else jmp [rip+0]; .quad dest. */
static size_t put_jump(uint8_t *buf, uintptr_t pc, uintptr_t dest)
{
    size_t n = chook_arch_write_jump(buf, pc, dest, CHOOK_ARCH_JUMP_NEAR);
    return n ? n : chook_arch_write_jump(buf, pc, dest, CHOOK_ARCH_JUMP_FAR);
}

size_t chook_arch_write_icpt_thunk(uint8_t *buf, uintptr_t ctx)
{
    static const uint8_t save_r11[5] = { 0x4c, 0x89, 0x5c, 0x24, 0xf0 };
    static const uint8_t jump_entry[4] = { 0x41, 0xff, 0x63, ICPT_CTX_ENTRY };
    _Static_assert(ICPT_CTX_ENTRY < 128, "a disp8");
    size_t n = 0;
    /* The core's entry stub reaches us by an indirect jump. */
    __builtin_memcpy(buf, ENDBR64, 4);                 /* f3 0f 1e fa   endbr64        */
    n += 4;
    /* The caller may keep a value in r11 (-fipa-ra): it waits in the red zone
     * (the target has not started), where the dispatcher leaves it alone. */
    __builtin_memcpy(buf + n, save_r11, 5);            /* 4c 89 5c 24 f0 mov [rsp-16], r11 */
    n += 5;
    buf[n++] = 0x49;                                   /* 49 bb <ctx>   movabs r11, ctx */
    buf[n++] = 0xbb;
    put64(buf + n, ctx);
    n += 8;
    /* The dispatcher entry the core chose for the context's current set. */
    __builtin_memcpy(buf + n, jump_entry, 4);          /* 41 ff 63 20   jmp [r11+0x20]  */
    return n + 4;
}

size_t chook_arch_write_closure_thunk(uint8_t *buf, uintptr_t pc, uintptr_t closure,
                                      intptr_t idx_off, intptr_t ring_off, uintptr_t dest)
{
    /* Static TLS sits within +-2 GiB of the thread pointer; refuse otherwise. */
    if (idx_off != (int32_t)idx_off || ring_off != (int32_t)ring_off) return 0;
    static const uint8_t save_r10[5] = { 0x4c, 0x89, 0x54, 0x24, 0xf8 };
    static const uint8_t load_r10[5] = { 0x4c, 0x8b, 0x54, 0x24, 0xf8 };
    size_t n = 0;
    __builtin_memcpy(buf + n, ENDBR64, 4);   /* f3 0f 1e fa            endbr64                 */
    n += 4;
    /* r10 is kept in the red zone: the target has not started, so the 128 bytes
     * below rsp are free, and signal frames are placed below them. */
    __builtin_memcpy(buf + n, save_r10, 5);  /* 4c 89 54 24 f8         mov [rsp-8], r10        */
    n += 5;
    buf[n++] = 0x49;                      /* 49 ba <closure>        movabs r10, closure     */
    buf[n++] = 0xba;
    put64(buf + n, closure);
    n += 8;
    buf[n++] = 0x41;                      /* 41 bb 08 00 00 00      mov r11d, 8             */
    buf[n++] = 0xbb;
    chook__x86_put32(buf + n, 8);
    n += 4;
    /* One instruction takes the ring position and advances it, so a signal
     * handler that pushes and pops its own closure in between cannot take ours. */
    buf[n++] = 0x64;                      /* 64 4c 0f c1 1c 25 <d32> xadd fs:[idx_off], r11 */
    buf[n++] = 0x4c;
    buf[n++] = 0x0f;
    buf[n++] = 0xc1;
    buf[n++] = 0x1c;
    buf[n++] = 0x25;
    chook__x86_put32(buf + n, (uint32_t)(int32_t)idx_off);
    n += 4;
    buf[n++] = 0x41;                      /* 41 81 e3 <mask>        and r11d, ring bytes - 8 */
    buf[n++] = 0x81;
    buf[n++] = 0xe3;
    chook__x86_put32(buf + n, (CHOOK_ARCH_CLOSURE_RING - 1) * 8);
    n += 4;
    buf[n++] = 0x64;                      /* 64 4d 89 93 <d32>      mov fs:[r11+ring_off], r10 */
    buf[n++] = 0x4d;
    buf[n++] = 0x89;
    buf[n++] = 0x93;
    chook__x86_put32(buf + n, (uint32_t)(int32_t)ring_off);
    n += 4;
    __builtin_memcpy(buf + n, load_r10, 5);  /* 4c 8b 54 24 f8         mov r10, [rsp-8]        */
    n += 5;
    return n + put_jump(buf + n, pc + n, dest); /* jmp dest                                 */
}

intptr_t chook_arch_tls_offset(const void *tls_var)
{
    uintptr_t tp;
    /* fs:0 holds the thread pointer itself (the TCB's self pointer). */
    __asm__("movq %%fs:0, %0" : "=r"(tp));   /* 64 48 8b 04 25 00 00 00 00  mov rax, fs:0 */
    return (intptr_t)((uintptr_t)tls_var - tp);
}

int chook_arch_sig_place(struct chook__sig *sig, char *err, size_t errlen)
{
    unsigned gp = 0, fp = 0;
    uint32_t stack = 0;
    for (unsigned i = 0; i < sig->n_args; i++) {
        switch (sig->arg[i].cls) {
        case CHOOK__SIG_INT:
        case CHOOK__SIG_PTR:
            if (gp < CHOOK_ARCH_ICPT_GP) {
                sig->arg[i].loc = CHOOK__LOC_GP;
                sig->arg[i].index = gp++;
                continue;
            }
            break;
        case CHOOK__SIG_DOUBLE:
        case CHOOK__SIG_FLOAT:
            if (fp < CHOOK_ARCH_ICPT_FP) {
                sig->arg[i].loc = CHOOK__LOC_FP;
                sig->arg[i].index = fp++;
                continue;
            }
            break;
        case CHOOK__SIG_MEM:
            break;  /* aggregates over 16 bytes always go in memory */
        default:
            if (err && errlen) err[0] = 0;
            return CHOOK_ENOTSUP;
        }
        /* On the stack: each argument takes whole eightbytes, in order. */
        sig->arg[i].loc = CHOOK__LOC_STACK;
        sig->arg[i].index = stack;
        stack += (uint32_t)(sig->arg[i].size + 7u) & ~7u;
    }
    sig->stack_used = stack;
    sig->stack_bytes = (stack + 15u) & ~15u;
    return CHOOK_OK;
}

/* ---- functions that must not be called from another frame ------------------ */

/* A bit for each callee-saved register, 0 for the others. */
static unsigned callee_saved_bit(ZydisRegister r)
{
    switch (r) {
    case ZYDIS_REGISTER_RBX: return 1;
    case ZYDIS_REGISTER_RBP: return 2;
    case ZYDIS_REGISTER_R12: return 4;
    case ZYDIS_REGISTER_R13: return 8;
    case ZYDIS_REGISTER_R14: return 16;
    case ZYDIS_REGISTER_R15: return 32;
    default: return 0;
    }
}

int chook_arch_frame_sensitive(const chook_arch_code *code, char *why, size_t whylen)
{
    if (why && whylen) why[0] = 0;
    if (!code || !code->bytes) return 0;
    size_t off = 0;
    int64_t delta = 0;        /* rsp - (rsp at entry), while it is known */
    unsigned saved = 0;       /* callee-saved registers stored through rdi (a mask) */
    for (int n = 0; n < 24 && off < code->avail; n++) {
        chook__x86_insn in;
        uintptr_t pc = code->pc + off;
        if (code->func_end && pc >= code->func_end) break;
        if (!chook__x86_decode(code->bytes + off, code->avail - off, pc, &in)) break;
        const ZydisDecodedInstruction *zi = &in.zi;
        /* The return address read: pop at entry (vfork keeps it in a register
         * across the system call), or a load from the slot it is in. */
        if (zi->mnemonic == ZYDIS_MNEMONIC_POP && delta == 0) {
            chook__x86_err(1, why, whylen, "pops its own return address at +%zu", off);
            return 1;
        }
        for (unsigned i = 0; i < zi->operand_count_visible; i++) {
            const ZydisDecodedOperand *op = &in.ops[i];
            if (op->type != ZYDIS_OPERAND_TYPE_MEMORY || zi->mnemonic == ZYDIS_MNEMONIC_LEA)
                continue;
            if (op->mem.base == ZYDIS_REGISTER_RSP && op->mem.index == ZYDIS_REGISTER_NONE &&
                (op->actions & ZYDIS_OPERAND_ACTION_MASK_READ) && op->mem.disp.value == -delta) {
                chook__x86_err(1, why, whylen, "reads its own return address at +%zu", off);
                return 1;
            }
            /* mov [rdi+d], rbx ...: saves the caller's registers into a
             * buffer it was given (setjmp, getcontext). */
            if (i == 0 && zi->mnemonic == ZYDIS_MNEMONIC_MOV &&
                op->mem.base == ZYDIS_REGISTER_RDI && zi->operand_count_visible == 2 &&
                in.ops[1].type == ZYDIS_OPERAND_TYPE_REGISTER)
                saved |= callee_saved_bit(in.ops[1].reg.value);
        }
        if (__builtin_popcount(saved) >= 4) {
            chook__x86_err(1, why, whylen, "saves the caller's callee-saved registers through "
                                           "its first argument (a setjmp-like function)");
            return 1;
        }
        /* Follow rsp through pushes and immediate adjustments; stop at the
         * first branch (the straight-line entry is what tells). */
        switch (zi->mnemonic) {
        case ZYDIS_MNEMONIC_PUSH: delta -= 8; break;
        case ZYDIS_MNEMONIC_POP: delta += 8; break;
        case ZYDIS_MNEMONIC_SUB:
        case ZYDIS_MNEMONIC_ADD:
            if (in.ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
                in.ops[0].reg.value == ZYDIS_REGISTER_RSP) {
                if (in.ops[1].type != ZYDIS_OPERAND_TYPE_IMMEDIATE) return 0;
                int64_t v = in.ops[1].imm.value.s;
                delta += zi->mnemonic == ZYDIS_MNEMONIC_SUB ? -v : v;
            }
            break;
        default:
            if (zi->meta.category == ZYDIS_CATEGORY_COND_BR ||
                zi->meta.category == ZYDIS_CATEGORY_UNCOND_BR ||
                zi->meta.category == ZYDIS_CATEGORY_CALL || zi->meta.category == ZYDIS_CATEGORY_RET ||
                zi->meta.category == ZYDIS_CATEGORY_SYSCALL)
                return 0;
            /* Any other write to rsp: no longer followed. */
            for (unsigned i = 0; i < zi->operand_count_visible; i++)
                if (in.ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
                    in.ops[i].reg.value == ZYDIS_REGISTER_RSP &&
                    (in.ops[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
                    return 0;
        }
        off += zi->length;
    }
    return 0;
}
