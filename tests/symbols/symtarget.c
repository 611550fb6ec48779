/* The function that the import-hook test modules import. */
#include "symlib.h"

int sym_shared_target(int x)
{
    __asm__ volatile("");
    return x + 1;
}
