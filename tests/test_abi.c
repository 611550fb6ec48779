/*
 * The version and the structure-size rules of chook.h ("Structures and the ABI"):
 * the library's version is the header's, `size` 0 or sizeof is accepted and a
 * size smaller than the original layout refused, and chook fills `size` in the
 * structures it writes.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "chook.h"
#include "chook_point.h"

Test(abi, the_library_version_is_the_header_version)
{
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", CHOOK_VERSION_MAJOR, CHOOK_VERSION_MINOR,
             CHOOK_VERSION_PATCH);
    cr_expect_str_eq(CHOOK_VERSION_STRING, want);
    cr_expect_str_eq(chook_version_string(), want);
    cr_expect_eq(chook_version(), CHOOK_VERSION);
    cr_expect_eq(CHOOK_VERSION, CHOOK_VERSION_MAJOR * 1000000 + CHOOK_VERSION_MINOR * 1000 +
                                    CHOOK_VERSION_PATCH);
    cr_expect_gt(CHOOK_MAKE_VERSION(1, 0, 0), CHOOK_MAKE_VERSION(0, 999, 999));
}

Test(abi, config_size_zero_or_sizeof_is_accepted_and_a_short_size_refused)
{
    chook_config zero = { .stop_timeout_ms = 900 };
    cr_expect_eq(chook_configure(&zero), CHOOK_OK, "%s", chook_last_error());
    chook_config sized = { .stop_timeout_ms = 900, .size = sizeof(chook_config) };
    cr_expect_eq(chook_configure(&sized), CHOOK_OK, "%s", chook_last_error());
    chook_config bigger[2] = { { .stop_timeout_ms = 900, .size = 2 * sizeof(chook_config) } };
    cr_expect_eq(chook_configure(bigger), CHOOK_OK, "a newer caller's larger layout: %s",
                 chook_last_error());
    chook_config short_size = { .stop_timeout_ms = 900, .size = 4 };
    cr_expect_eq(chook_configure(&short_size), CHOOK_EINVAL);
    cr_expect(strstr(chook_last_error(), "chook_config.size is 4"), "%s", chook_last_error());
}

static int noop_enter(chook_call *call, void *data)
{
    (void)call;
    (void)data;
    return CHOOK_CONTINUE;
}

__attribute__((noipa)) int abi_target(int x)
{
    return x * 3 + 1;
}

Test(abi, attach_opts_size_is_checked)
{
    chook_listener *l = NULL;
    chook_attach_opts bad = { .signature = "i->i", .size = 1 };
    cr_expect_eq(chook_attach_ex((void *)abi_target, noop_enter, NULL, NULL, &bad, &l),
                 CHOOK_EINVAL);
    cr_expect(strstr(chook_last_error(), "chook_attach_opts.size is 1"), "%s",
              chook_last_error());
    cr_expect_eq(abi_target(2), 7);
    chook_attach_opts ok = { .signature = "i->i", .size = sizeof ok };
    cr_assert_eq(chook_attach_ex((void *)abi_target, noop_enter, NULL, NULL, &ok, &l), CHOOK_OK,
                 "%s", chook_last_error());
    cr_expect_eq(abi_target(2), 7);
    cr_assert_eq(chook_detach(l), CHOOK_OK, "%s", chook_last_error());
}

Test(abi, chook_fills_size_in_the_structures_it_writes)
{
    chook_probe_info info;
    memset(&info, 0xa5, sizeof info); /* an uninitialised caller still works */
    cr_assert_eq(chook_probe((void *)abi_target, &info), CHOOK_OK);
    cr_expect_eq(info.size, sizeof info);
    cr_expect_eq(info.status, CHOOK_OK, "%s", info.reason);

    const chook_module *m = NULL;
    cr_assert_eq(chook_module_find("", &m), CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(m->size, sizeof(chook_module));
    chook_symbol sym;
    cr_assert_eq(chook_symbol_lookup("", "abi_target", &sym, NULL), CHOOK_OK, "%s",
                 chook_last_error());
    cr_expect_eq(sym.size_of_struct, sizeof(chook_symbol));
    cr_expect_eq(sym.address, (void *)abi_target);
}

Test(abi, the_thread_state_of_the_typed_macros_is_reached_through_a_function)
{
    chook__thread_state *t = chook_typed_thread();
    cr_assert_not_null(t);
    cr_expect_eq(chook_typed_thread(), t);
    cr_expect_null(dlsym(RTLD_DEFAULT, "chook__tls"), "the variable itself is not exported");
}
