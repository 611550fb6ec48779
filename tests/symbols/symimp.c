/* Imports sym_shared_target: through the PLT (JUMP_SLOT) and through a function
 * pointer taken from the GOT (GLOB_DAT). Built twice: lazily bound, and with
 * -z now (read-only GOT after RELRO), each with its own names. */
#include "symlib.h"

#ifdef SYMIMP_LAZY
#define SYMIMP_NAME(x) symimp_lazy_##x
#else
#define SYMIMP_NAME(x) symimp_now_##x
#endif

int SYMIMP_NAME(call)(int x)
{
    return sym_shared_target(x);
}

int (*SYMIMP_NAME(pointer)(void))(int)
{
    return &sym_shared_target;
}
