/* Rule: CHOOK_ENTER's arguments have the point's types. */
#include "chook_point.h"

CHOOK_POINT(f, int, int, long);

int f(int a, int b)
{
    CHOOK_ENTER(f, a, b); /* b is an int, the point says long */
    CHOOK_RETURN(f, a + b);
}
