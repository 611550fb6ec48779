/* Rule: CHOOK_ENTER names every parameter. */
#include "chook_point.h"

CHOOK_POINT(f, int, int, int);

int f(int a, int b)
{
    CHOOK_ENTER(f, a);
    CHOOK_RETURN(f, a + b);
}
