/* The benchmark's pointed functions with their points in jump mode (see
 * bench_point.c), whatever CHOOK_POINT_MODE the build uses. */
#define CHOOK_POINT_MODE_jump 1
#include "chook_point.h"
#include "point/bodies.h"

CHOOK_POINT(bp_hash_jump, uint64_t, const unsigned char *, size_t);

BENCH_POINT_FN uint64_t bp_hash_jump(const unsigned char *p, size_t n)
{
    CHOOK_ENTER(bp_hash_jump, p, n);
    uint64_t r = bp_hash_body(p, n);
    CHOOK_RETURN(bp_hash_jump, r);
}

CHOOK_POINT(bp_add_jump, long, long, long);

BENCH_POINT_FN long bp_add_jump(long a, long b)
{
    CHOOK_ENTER(bp_add_jump, a, b);
    long r = bp_add_body(a, b);
    CHOOK_RETURN(bp_add_jump, r);
}
