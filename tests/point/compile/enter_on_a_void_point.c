/* Rule: a void point uses CHOOK_ENTER_VOID. */
#include "chook_point.h"

CHOOK_POINT_VOID(f, int);

void f(int a)
{
    CHOOK_ENTER(f, a);
}
