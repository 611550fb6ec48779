/* Loaded with dlopen by the pending-hook tests. Its constructor calls
 * sym_pending_value(), so a hook applied before constructors run is seen there. */
#include "symlib.h"

int sym_pending_ctor_seen;

__attribute__((noipa)) int sym_pending_value(void)
{
    __asm__ volatile("");
    return 7;
}

__attribute__((constructor)) static void sym_pending_ctor(void)
{
    sym_pending_ctor_seen = sym_pending_value();
}
