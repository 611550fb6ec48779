/* A function whose point is compiled in jump mode, linked into test_point. */
#define CHOOK_POINT_MODE_jump 1
#include "chook_point.h"

int pt_jump(int x);

CHOOK_POINT(pt_jump, int, int);

__attribute__((noinline)) int pt_jump(int x)
{
    CHOOK_ENTER(pt_jump, x);
    CHOOK_RETURN(pt_jump, x * 3);
}
