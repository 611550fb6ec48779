/*
 * The base layer's services (src/base/): the runtime page size.
 */
#include <criterion/criterion.h>
#include <unistd.h>

#include "internal.h"

Test(base, page_size_is_the_kernels)
{
    long ps = sysconf(_SC_PAGESIZE);
    cr_assert_gt(ps, 0);
    cr_assert_eq(chook__page_size(), (size_t)ps);
    cr_assert_eq(chook__page_size() & (chook__page_size() - 1), 0, "a power of two");
}
