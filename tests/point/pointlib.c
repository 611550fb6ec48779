/*
 * A library with hook points, loaded by the point tests with dlopen(). Built
 * twice: in branch mode (libchook_pointlib_branch.so) and in jump mode
 * (libchook_pointlib_jump.so, -DCHOOK_POINT_MODE_jump), so both define the same
 * point names and the tests can check lookups by module.
 */
#include <stddef.h>

#include "chook_point.h"
#include "pointlib.h"

CHOOK_POINT(lib_add, long, long, long);

long lib_add(long a, long b)
{
    CHOOK_ENTER(lib_add, a, b);
    long r = a + b;
    CHOOK_RETURN(lib_add, r);
}

static int events;

CHOOK_POINT_VOID(lib_event, int);

void lib_event(int kind)
{
    CHOOK_ENTER_VOID(lib_event, kind);
    if (kind < 0) return; /* an early return: the epilog still runs */
    events += kind;
}

int lib_events(void)
{
    return events;
}

/* Only the library's mode tells the two copies apart. */
CHOOK_POINT(lib_mode, const char *);

const char *lib_mode(void)
{
    CHOOK_ENTER(lib_mode);
#if defined(CHOOK_POINT_MODE_jump)
    CHOOK_RETURN(lib_mode, "jump");
#else
    CHOOK_RETURN(lib_mode, "branch");
#endif
}
