/*
 * chook refuses to hook its own code: a replacement on chook_install (or any
 * function of libchook.so) would receive chook's own calls. The shared library
 * is loaded with dlopen (tests link the static library) and asked to hook
 * itself, alone and inside a transaction, whose commit must then fail.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <string.h>

#include "chook.h"

static int replacement(void) { return 0; }

Test(self, chook_refuses_to_hook_its_own_code)
{
    void *lib = dlopen(CHOOK_BINARY_DIR "/libchook.so", RTLD_NOW | RTLD_LOCAL);
    cr_assert_not_null(lib, "%s", dlerror());
    int (*install)(void *, void *, void **) = (int (*)(void *, void *, void **))dlsym(lib, "chook_install");
    int (*begin)(void) = (int (*)(void))dlsym(lib, "chook_transaction_begin");
    int (*commit)(void) = (int (*)(void))dlsym(lib, "chook_transaction_commit");
    const char *(*last)(void) = (const char *(*)(void))dlsym(lib, "chook_last_error");
    void *strerror_fn = dlsym(lib, "chook_strerror");
    cr_assert(install && begin && commit && last && strerror_fn);

    unsigned char before[16];
    memcpy(before, (void *)install, sizeof before);
    cr_expect_eq(install((void *)install, (void *)replacement, NULL), CHOOK_ESELF);
    cr_expect(strstr(last(), "chook's own code"), "%s", last());
    cr_expect_eq(memcmp(before, (void *)install, sizeof before), 0, "chook_install was changed");

    cr_assert_eq(begin(), CHOOK_OK);
    cr_expect_eq(install(strerror_fn, (void *)replacement, NULL), CHOOK_ESELF);
    cr_expect_eq(commit(), CHOOK_ESELF, "a refused call fails its transaction");

    dlclose(lib);
}
