/*
 * The library's version (chook_version) and the size checks of caller-allocated
 * structures.
 */
#include "internal.h"

int chook_version(void)
{
    return CHOOK_VERSION;
}

const char *chook_version_string(void)
{
    return CHOOK_VERSION_STRING;
}

int chook__check_size(size_t size, size_t original, const char *type)
{
    if (size == 0 || size >= original) return CHOOK_OK;
    return chook__fail(CHOOK_EINVAL, "%s.size is %zu: set it to sizeof(%s) (at least %zu) or 0",
                       type, size, type, original);
}
