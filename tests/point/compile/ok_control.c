/* Control for the compile tests: the same shapes, used correctly, compile. */
#include "chook_point.h"

CHOOK_POINT(f, int, int, long);

int f(int a, long b)
{
    CHOOK_ENTER(f, a, b);
    CHOOK_RETURN(f, a + (int)b);
}

static int prolog(void *data, chook_point_epilog_f *ep, int *r, int *a, long *b)
{
    (void)data, (void)ep, (void)r, (void)a, (void)b;
    return CHOOK_POINT_CONTINUE;
}

int attach(chook_point *p)
{
    return chook_point_attach_f(p, prolog, 0);
}
