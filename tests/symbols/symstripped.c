/* A test library stripped of .symtab whose local symbols live in a separate debug
 * file found by build-id. */
#include "symlib.h"

__attribute__((noipa)) static int sym_stripped_local(int x)
{
    __asm__ volatile("");
    return x * 5 + 2;
}

int symstripped_call_local(int x)
{
    return sym_stripped_local(x);
}
