/* A test library stripped of .symtab, without a build-id, whose debug file is
 * found through .gnu_debuglink beside it. */
#include "symlib.h"

__attribute__((noipa)) static int sym_linked_local(int x)
{
    __asm__ volatile("");
    return x * 11;
}

int symdebuglink_call_local(int x)
{
    return sym_linked_local(x);
}
