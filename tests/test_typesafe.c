/*
 * The type-safe forms: CHOOK_INSTALL and friends in C, chook.hpp's templates in
 * C++, each used by a file built with -Wpedantic -Werror (tests/typesafe/); the
 * type mismatches they must refuse are compile tests (tests/typesafe.cmake).
 */
#include <criterion/criterion.h>

#include "typesafe/typesafe.h"

Test(typesafe, c_macros_hook_without_casts_or_pedantic_warnings)
{
    cr_assert_eq(typesafe_c(), 0, "step %d failed", typesafe_c());
}

Test(typesafe, cpp_templates_hook_without_casts_or_pedantic_warnings)
{
    cr_assert_eq(typesafe_cpp(), 0, "step %d failed", typesafe_cpp());
}
