/* A test library with static functions: found only through .symtab. */
#include "symlib.h"

/* Same name as a static function of test_symbols: makes a module-less lookup of
 * this name ambiguous. */
__attribute__((noipa)) static int sym_dup_helper(int x)
{
    __asm__ volatile("");
    return x + 1000;
}

__attribute__((noipa)) static int sym_lib_local(int x)
{
    __asm__ volatile("");
    return x * 3 + 1;
}

int symlocal_call_local(int x)
{
    return sym_lib_local(x);
}

int symlocal_call_dup(int x)
{
    return sym_dup_helper(x);
}
