/* Rule: chook_point_attach_<name>() takes only a prolog of the point's type. */
#include "chook_point.h"

CHOOK_POINT_TYPES(f, int, int, long);

static int prolog(void *data, chook_point_epilog_f *ep, int *r, int *a, int *b)
{
    (void)data, (void)ep, (void)r, (void)a, (void)b;
    return CHOOK_POINT_CONTINUE;
}

int attach(chook_point *p)
{
    return chook_point_attach_f(p, prolog, 0);
}
