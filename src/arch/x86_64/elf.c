/*
 * ELF facts of the x86-64 psABI that the symbol and import code needs.
 */
#include <elf.h>

#include "arch.h"

int chook_arch_is_got_reloc(unsigned type)
{
    return type == R_X86_64_JUMP_SLOT || type == R_X86_64_GLOB_DAT;
}

uintptr_t chook_arch_call_ifunc_resolver(uintptr_t resolver)
{
    /* glibc's x86-64 resolvers take no arguments: they read the CPU features the
     * dynamic linker initialised. */
    return (uintptr_t)((void *(*)(void))resolver)();
}
