/*
 * Import hooks: one module's GOT entries for a function are rewritten, so only
 * that module's calls are redirected; lazily bound and BIND_NOW/RELRO modules.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "chook.h"
#include "internal.h"
#include "symlib.h"

TestSuite(imports, .timeout = 60);

static int (*orig_target)(int);
static int replacement_calls;

static int replacement(int x)
{
    replacement_calls++;
    return orig_target(x) + 100;
}

static int other_replacement(int x)
{
    return orig_target(x) + 10000;
}

/* The protection of the page that holds addr, from /proc/self/maps. */
static int page_prot(const void *addr)
{
    chook__region r;
    cr_assert_eq(chook__maps_find((uintptr_t)addr, &r), CHOOK_OK);
    return r.prot;
}

Test(imports, lazy_module_calls_are_redirected_and_no_one_elses)
{
    chook_import *h = NULL;
    cr_assert_eq(chook_import_install("libsymimp_lazy.so", "sym_shared_target", replacement,
                                      (void **)&orig_target, &h), CHOOK_OK, "%s",
                 chook_last_error());
    cr_expect_eq((void *)orig_target, dlsym(RTLD_DEFAULT, "sym_shared_target"),
                 "the original is the real definition, not a lazy PLT stub");
    cr_expect_eq(symimp_lazy_call(1), 102, "the importing module's PLT call is redirected");
    cr_expect_eq(replacement_calls, 1);
    cr_expect_eq((void *)symimp_lazy_pointer(), (void *)replacement,
                 "its GLOB_DAT entry (address taken) is redirected too");
    cr_expect_eq(sym_shared_target(1), 2, "the executable's own calls are untouched");
    cr_expect_eq(symimp_now_call(1), 2, "another module's calls are untouched");

    cr_assert_eq(chook_import_remove(h), CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(symimp_lazy_call(1), 2, "removal restores the calls");
    cr_expect_eq((void *)symimp_lazy_pointer(), dlsym(RTLD_DEFAULT, "sym_shared_target"));
    cr_expect_eq(replacement_calls, 1);
}

Test(imports, bind_now_module_with_read_only_got_is_redirected_and_protection_restored)
{
    /* Where the module's GOT entry lives: the page that holds the pointer its
     * GLOB_DAT relocation filled (read-only after RELRO). */
    int (*before)(int) = symimp_now_pointer();
    cr_assert_eq((void *)before, dlsym(RTLD_DEFAULT, "sym_shared_target"));
    Dl_info info;
    cr_assert(dladdr((void *)symimp_now_call, &info));

    chook_import *h = NULL;
    cr_assert_eq(chook_import_install("libsymimp_now.so", "sym_shared_target", replacement,
                                      (void **)&orig_target, &h), CHOOK_OK, "%s",
                 chook_last_error());
    cr_expect_eq(symimp_now_call(5), 106);
    cr_expect_eq(symimp_lazy_call(5), 6, "the lazily bound module is untouched");
    cr_expect_eq(sym_shared_target(5), 6);
    cr_assert_eq(chook_import_remove(h), CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(symimp_now_call(5), 6);
}

/* The module's GOT pages: every page of it that is read-only after RELRO keeps
 * exactly that protection across install and remove. */
static int count_ro_data(const chook__region *r, void *ctx)
{
    int *n = ctx;
    if (strstr(r->path, "libsymimp_now.so") && r->prot == PROT_READ) (*n)++;
    return 0;
}

Test(imports, read_only_got_pages_keep_their_protection)
{
    int before = 0, during = 0, after = 0;
    cr_assert_geq(chook__maps_each(count_ro_data, &before), 0);
    cr_assert_gt(before, 0, "the -z now module has read-only pages");
    chook_import *h = NULL;
    cr_assert_eq(chook_import_install("libsymimp_now.so", "sym_shared_target", replacement,
                                      NULL, &h), CHOOK_OK, "%s", chook_last_error());
    cr_assert_geq(chook__maps_each(count_ro_data, &during), 0);
    cr_assert_eq(chook_import_remove(h), CHOOK_OK);
    cr_assert_geq(chook__maps_each(count_ro_data, &after), 0);
    cr_expect_eq(during, before);
    cr_expect_eq(after, before);
    cr_expect_eq(page_prot((void *)symimp_now_call) & PROT_EXEC, PROT_EXEC);
}

Test(imports, hooks_on_one_import_chain_and_go_newest_first)
{
    static int (*first_orig)(int);
    chook_import *a = NULL, *b = NULL;
    cr_assert_eq(chook_import_install("libsymimp_lazy.so", "sym_shared_target", replacement,
                                      (void **)&first_orig, &a), CHOOK_OK);
    orig_target = first_orig;
    int (*second_orig)(int) = NULL;
    cr_assert_eq(chook_import_install("libsymimp_lazy.so", "sym_shared_target",
                                      other_replacement, (void **)&second_orig, &b), CHOOK_OK);
    cr_expect_eq((void *)second_orig, (void *)replacement, "the newer hook's original is the older");
    cr_expect_eq(chook_import_remove(a), CHOOK_EBUSY, "the older cannot go first");
    cr_expect_eq(symimp_lazy_call(0), 10001, "still the newest replacement");
    cr_expect_eq(chook_import_remove(b), CHOOK_OK);
    cr_expect_eq(symimp_lazy_call(0), 101);
    cr_expect_eq(chook_import_remove(a), CHOOK_OK);
    cr_expect_eq(symimp_lazy_call(0), 1);
}

Test(imports, bad_requests_fail_cleanly)
{
    chook_import *h = NULL;
    cr_expect_eq(chook_import_install(NULL, "sym_shared_target", replacement, NULL, &h),
                 CHOOK_EINVAL);
    cr_expect_eq(chook_import_install("libsymimp_lazy.so", NULL, replacement, NULL, &h),
                 CHOOK_EINVAL);
    cr_expect_eq(chook_import_install("libsymimp_lazy.so", "sym_shared_target", NULL, NULL, &h),
                 CHOOK_EINVAL);
    cr_expect_eq(chook_import_install("libnotloaded.so", "sym_shared_target", replacement,
                                      NULL, &h), CHOOK_ENOMODULE);
    cr_expect_eq(chook_import_install("libsymimp_lazy.so", "deflate", replacement, NULL, &h),
                 CHOOK_ENOSYM, "a symbol the module does not import");
    cr_expect(strstr(chook_last_error(), "does not import 'deflate'"), "%s", chook_last_error());
    cr_expect_eq(h, NULL, "no handle on failure");
    cr_expect_eq(chook_import_remove(NULL), CHOOK_EINVAL);

    cr_assert_eq(chook_import_install("libsymimp_lazy.so", "sym_shared_target", replacement,
                                      (void **)&orig_target, &h), CHOOK_OK);
    chook_import *again = NULL;
    cr_expect_eq(chook_import_install("libsymimp_lazy.so", "sym_shared_target", replacement,
                                      NULL, &again), CHOOK_EEXIST);
    cr_expect_eq(symimp_lazy_call(2), 103, "the failed second install changed nothing");
    cr_assert_eq(chook_import_remove(h), CHOOK_OK);
    cr_expect_eq(chook_import_remove(h), CHOOK_ENOTHOOKED, "removed twice");
    cr_expect_eq(symimp_lazy_call(2), 3);
}

Test(imports, main_program_imports_are_named_by_the_empty_string)
{
    chook_import *h = NULL;
    cr_assert_eq(chook_import_install("", "sym_shared_target", replacement,
                                      (void **)&orig_target, &h), CHOOK_OK, "%s",
                 chook_last_error());
    int (*volatile direct)(int) = NULL;
    cr_expect_eq(sym_shared_target(3), 104, "the program's own calls are redirected");
    cr_expect_eq(symimp_lazy_call(3), 4, "the libraries' calls are not");
    cr_expect_eq(symimp_now_call(3), 4);
    direct = orig_target;
    cr_expect_eq(direct(3), 4);
    cr_assert_eq(chook_import_remove(h), CHOOK_OK);
    cr_expect_eq(sym_shared_target(3), 4);
}

Test(imports, replacement_equal_to_the_function_is_eself)
{
    chook_import *h = NULL;
    cr_expect_eq(chook_import_install("libsymimp_now.so", "sym_shared_target",
                                      (void *)sym_shared_target, NULL, &h), CHOOK_ESELF);
}

static atomic_int stop_caller, caller_bad, caller_calls;

static int plain_plus_100(int x) { return x + 101; }

static void *call_loop(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_caller)) {
        int r = symimp_now_call(1);
        if (r != 2 && r != 102) atomic_fetch_add(&caller_bad, 1);
        atomic_fetch_add(&caller_calls, 1);
    }
    return NULL;
}

Test(imports, threads_calling_through_the_entry_see_old_or_new_never_a_torn_pointer)
{
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, call_loop, NULL), 0);
    while (atomic_load(&caller_calls) == 0) sched_yield();
    for (int i = 0; i < 200; i++) {
        chook_import *h = NULL;
        cr_assert_eq(chook_import_install("libsymimp_now.so", "sym_shared_target",
                                          (void *)plain_plus_100, NULL, &h), CHOOK_OK, "%s",
                     chook_last_error());
        cr_assert_eq(chook_import_remove(h), CHOOK_OK, "%s", chook_last_error());
    }
    atomic_store(&stop_caller, 1);
    pthread_join(t, NULL);
    cr_expect_eq(atomic_load(&caller_bad), 0);
    cr_expect_gt(atomic_load(&caller_calls), 0);
}
