/* Rule: a point that returns a value uses CHOOK_ENTER, not CHOOK_ENTER_VOID. */
#include "chook_point.h"

CHOOK_POINT(f, int, int);

int f(int a)
{
    CHOOK_ENTER_VOID(f, a);
    CHOOK_RETURN(f, a);
}
