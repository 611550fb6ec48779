/*
 * The program counter of a parked thread's signal context (ucontext_t) on
 * x86-64: the kernel saves it as gregs[REG_RIP], and a handler that changes it
 * resumes the thread there.
 */
#include <ucontext.h>

#include "arch.h"

uintptr_t chook_arch_context_pc(const void *ucontext)
{
    const ucontext_t *uc = ucontext;
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
}

void chook_arch_context_set_pc(void *ucontext, uintptr_t pc)
{
    ucontext_t *uc = ucontext;
    uc->uc_mcontext.gregs[REG_RIP] = (greg_t)pc;
}
