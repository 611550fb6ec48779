/*
 * Installing hooks by name: static functions of the executable and of a library,
 * exported functions of libz, in one transaction, and the errors of a bad name.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <zlib.h>

#include "chook.h"
#include "symlib.h"

__attribute__((noipa)) static int sym_exe_static(int x)
{
    __asm__ volatile("");
    return x * 7 + 3;
}
int (*volatile sym_exe_static_ref)(int) = sym_exe_static;

/* Same name as a static function of libsymlocal.so: ambiguous without a module. */
__attribute__((noipa)) static int sym_dup_helper(int x)
{
    __asm__ volatile("");
    return x - 1;
}
int (*volatile sym_dup_helper_ref)(int) = sym_dup_helper;

static int (*orig_exe)(int);
static int repl_exe(int x) { return orig_exe(x) + 1000; }

static int (*orig_lib)(int);
static int repl_lib(int x) { return orig_lib(x) + 2000; }

static const char *(*orig_version)(void);
static const char *repl_version(void) { return "hooked"; }

TestSuite(install_name, .timeout = 60);

Test(install_name, static_function_of_the_executable_is_hooked_by_name)
{
    chook_hook *h = NULL;
    cr_assert_eq(chook_install_name("", "sym_exe_static", (void *)repl_exe, (void **)&orig_exe, &h),
                 CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(sym_exe_static_ref(1), 1010);
    cr_expect_eq(orig_exe(1), 10, "the original is callable");
    cr_assert_eq(chook_uninstall_name("", "sym_exe_static"), CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(sym_exe_static_ref(1), 10);
}

Test(install_name, static_function_of_a_library_is_hooked_by_name)
{
    cr_assert_eq(chook_install_name("libsymlocal.so", "sym_lib_local", (void *)repl_lib,
                                    (void **)&orig_lib, NULL), CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(symlocal_call_local(2), 2007, "calls inside the library reach the hook");
    cr_assert_eq(chook_uninstall_name("libsymlocal.so", "sym_lib_local"), CHOOK_OK);
    cr_expect_eq(symlocal_call_local(2), 7);
}

Test(install_name, exported_function_of_libz_is_hooked_in_a_transaction)
{
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    cr_assert_eq(chook_install_name("libz.so.1", "zlibVersion", (void *)repl_version,
                                    (void **)&orig_version, NULL), CHOOK_OK, "%s",
                 chook_last_error());
    cr_expect_str_eq(zlibVersion(), ZLIB_VERSION, "not applied before commit");
    cr_assert_eq(chook_transaction_commit(), CHOOK_OK, "%s", chook_last_error());
    cr_expect_str_eq(zlibVersion(), "hooked");
    cr_expect_str_eq(orig_version(), ZLIB_VERSION);
    cr_assert_eq(chook_uninstall_name("libz.so", "zlibVersion"), CHOOK_OK);
    cr_expect_str_eq(zlibVersion(), ZLIB_VERSION);
}

Test(install_name, bad_names_give_the_lookup_errors)
{
    void *orig = (void *)1;
    cr_expect_eq(chook_install_name("libz.so.1", "no_such_fn", (void *)repl_exe, &orig, NULL),
                 CHOOK_ENOSYM);
    cr_expect_eq(chook_install_name("libnot_loaded.so", "deflate", (void *)repl_exe, &orig, NULL),
                 CHOOK_ENOMODULE);
    cr_expect_eq(chook_install_name(NULL, "sym_dup_helper", (void *)repl_exe, &orig, NULL),
                 CHOOK_EAMBIGUOUS);
    cr_expect_eq(chook_install_name("", NULL, (void *)repl_exe, &orig, NULL), CHOOK_EINVAL);
    cr_expect_eq(chook_install_name("", "sym_exe_static", NULL, &orig, NULL), CHOOK_EINVAL);
    cr_expect_eq(orig, (void *)1, "original untouched on failure");
    cr_expect_eq(chook_uninstall_name("", "sym_exe_static"), CHOOK_ENOTHOOKED);
}

Test(install_name, errors_of_the_core_name_the_symbol)
{
    /* A data object is not executable: the core refuses it, and the message says
     * which name was meant. */
    cr_expect_eq(chook_install_name("", "sym_exe_static_ref", (void *)repl_exe, NULL, NULL),
                 CHOOK_ENOTEXEC);
    cr_expect(strstr(chook_last_error(), ":sym_exe_static_ref: "), "%s", chook_last_error());
}

static int seen_arg;
static int on_enter(chook_call *call, void *data)
{
    (void)data;
    seen_arg = (int)*chook_arg(call, 0);
    *chook_arg(call, 0) = 10; /* the function now sees 10 */
    return CHOOK_CONTINUE;
}

static void on_leave(chook_call *call, void *data)
{
    *(int *)data = (int)*chook_retval(call);
}

Test(install_name, listener_attached_by_name_sees_and_changes_the_call)
{
    int ret_seen = 0;
    chook_listener *l = NULL;
    cr_assert_eq(chook_attach_name("libsymlocal.so", "sym_lib_local", on_enter, on_leave,
                                   &ret_seen, NULL, &l), CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(symlocal_call_local(4), 31, "3 * 10 + 1: the argument was rewritten");
    cr_expect_eq(seen_arg, 4);
    cr_expect_eq(ret_seen, 31);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
    cr_expect_eq(symlocal_call_local(4), 13);
    cr_expect_eq(chook_attach_name("libsymlocal.so", "nope", on_enter, NULL, NULL, NULL, &l),
                 CHOOK_ENOSYM);
}
