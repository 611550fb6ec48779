/* pt_work of test_point_threads.c with its point in jump mode. */
#define CHOOK_POINT_MODE_jump 1
#include "chook_point.h"

long pt_work_jump(long x);

CHOOK_POINT(pt_work_jump, long, long);

__attribute__((noinline)) long pt_work_jump(long x)
{
    CHOOK_ENTER(pt_work_jump, x);
    long r = x * 2;
    CHOOK_RETURN(pt_work_jump, r);
}
