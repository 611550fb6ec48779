/* Rule: one definition of a point per module. */
#include "chook_point.h"

CHOOK_POINT(f, int, int);
CHOOK_POINT(f, int, int);
