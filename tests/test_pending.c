/*
 * Hooks on modules not loaded yet: applied at dlopen before the module's
 * constructors run, removed at dlclose, applied again at every load.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <link.h>
#include <string.h>

#include "chook.h"
#include "symbols.h"

/* As on a system without debug files: the dynamic linker's _dl_debug_state is
 * then known from .dynsym only. */
static void no_debug_files(void)
{
    chook__symtab_set_debug_root(CHOOK_SYMDEBUG_DIR "/none");
}

TestSuite(pending, .init = no_debug_files, .timeout = 120);

static int (*orig_value)(void);
static int hooked_value(void) { return orig_value() + 100; }

static void *open_plugin(void)
{
    void *h = dlopen(CHOOK_SYMPENDING_PATH, RTLD_NOW | RTLD_LOCAL);
    cr_assert_not_null(h, "%s", dlerror());
    return h;
}

static int plugin_loaded(void)
{
    void *h = dlopen(CHOOK_SYMPENDING_PATH, RTLD_NOW | RTLD_NOLOAD);
    if (h) dlclose(h);
    return h != NULL;
}

Test(pending, hook_waits_for_its_module_and_applies_before_its_constructors)
{
    cr_assert_not(plugin_loaded());
    chook_pending *p = NULL;
    cr_assert_eq(chook_install_deferred("libsympending.so", "sym_pending_value",
                                        (void *)hooked_value, (void **)&orig_value, &p),
                 CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(chook_pending_status(p), 0, "waiting");

    void *h = open_plugin();
    int *ctor_seen = dlsym(h, "sym_pending_ctor_seen");
    int (*value)(void) = (int (*)(void))dlsym(h, "sym_pending_value");
    cr_assert(ctor_seen && value);
    cr_expect_eq(*ctor_seen, 107, "the constructor already ran through the hook");
    cr_expect_eq(value(), 107);
    cr_expect_eq(orig_value(), 7);
    cr_expect_eq(chook_pending_status(p), 1, "hooks one module");

    cr_assert_eq(dlclose(h), 0);
    cr_expect_not(plugin_loaded());
    cr_expect_eq(chook_pending_status(p), 0, "waiting again after dlclose");
    cr_assert_eq(chook_pending_remove(p), CHOOK_OK, "%s", chook_last_error());
}

Test(pending, hundred_dlopen_dlclose_cycles_apply_the_hook_each_time)
{
    chook_pending *p = NULL;
    cr_assert_eq(chook_install_deferred("libsympending.so", "sym_pending_value",
                                        (void *)hooked_value, (void **)&orig_value, &p), CHOOK_OK);
    for (int i = 0; i < 100; i++) {
        void *h = open_plugin();
        int *ctor_seen = dlsym(h, "sym_pending_ctor_seen");
        int (*value)(void) = (int (*)(void))dlsym(h, "sym_pending_value");
        cr_assert_eq(*ctor_seen, 107, "cycle %d: constructor hooked", i);
        cr_assert_eq(value(), 107, "cycle %d", i);
        cr_assert_eq(chook_pending_status(p), 1, "cycle %d", i);
        cr_assert_eq(dlclose(h), 0);
        cr_assert_eq(chook_pending_status(p), 0, "cycle %d: removed at dlclose", i);
    }
    cr_assert_eq(chook_pending_remove(p), CHOOK_OK);
}

Test(pending, removed_pending_hook_no_longer_applies)
{
    chook_pending *p = NULL;
    cr_assert_eq(chook_install_deferred("libsympending.so", "sym_pending_value",
                                        (void *)hooked_value, (void **)&orig_value, &p), CHOOK_OK);
    cr_assert_eq(chook_pending_remove(p), CHOOK_OK);
    void *h = open_plugin();
    int *ctor_seen = dlsym(h, "sym_pending_ctor_seen");
    cr_expect_eq(*ctor_seen, 7);
    cr_assert_eq(dlclose(h), 0);
    cr_expect_eq(chook_pending_remove(p), CHOOK_ENOTHOOKED);
}

Test(pending, removing_while_loaded_unhooks_the_module)
{
    chook_pending *p = NULL;
    cr_assert_eq(chook_install_deferred("libsympending.so", "sym_pending_value",
                                        (void *)hooked_value, (void **)&orig_value, &p), CHOOK_OK);
    void *h = open_plugin();
    int (*value)(void) = (int (*)(void))dlsym(h, "sym_pending_value");
    cr_expect_eq(value(), 107);
    cr_assert_eq(chook_pending_remove(p), CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(value(), 7);
    cr_assert_eq(dlclose(h), 0);
}

Test(pending, already_loaded_module_is_hooked_at_once)
{
    void *h = open_plugin();
    int (*value)(void) = (int (*)(void))dlsym(h, "sym_pending_value");
    chook_pending *p = NULL;
    cr_assert_eq(chook_install_deferred("libsympending.so", "sym_pending_value",
                                        (void *)hooked_value, (void **)&orig_value, &p),
                 CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(chook_pending_status(p), 1);
    cr_expect_eq(value(), 107);
    cr_assert_eq(dlclose(h), 0);
    cr_expect_eq(chook_pending_status(p), 0);
    cr_assert_eq(chook_pending_remove(p), CHOOK_OK);
}

Test(pending, missing_symbol_in_a_later_module_is_reported_not_fatal)
{
    chook_pending *p = NULL;
    cr_assert_eq(chook_install_deferred("libsympending.so", "no_such_function",
                                        (void *)hooked_value, NULL, &p), CHOOK_OK);
    void *h = open_plugin();
    cr_expect_eq(chook_pending_status(p), CHOOK_ENOSYM, "dlopen succeeded, the hook did not");
    int *ctor_seen = dlsym(h, "sym_pending_ctor_seen");
    cr_expect_eq(*ctor_seen, 7);
    cr_assert_eq(dlclose(h), 0);
    cr_assert_eq(chook_pending_remove(p), CHOOK_OK);
}

Test(pending, bad_arguments_are_refused)
{
    chook_pending *p = NULL;
    cr_expect_eq(chook_install_deferred(NULL, "f", (void *)hooked_value, NULL, &p), CHOOK_EINVAL);
    cr_expect_eq(chook_install_deferred("", "f", (void *)hooked_value, NULL, &p), CHOOK_EINVAL);
    cr_expect_eq(chook_install_deferred("libx.so", NULL, (void *)hooked_value, NULL, &p), CHOOK_EINVAL);
    cr_expect_eq(chook_install_deferred("libx.so", "f", NULL, NULL, &p), CHOOK_EINVAL);
    cr_expect_eq(chook_install_deferred("libc.so.6", "no_such_function_in_libc",
                                        (void *)hooked_value, NULL, &p), CHOOK_ENOSYM,
                 "a loaded module without the symbol fails at once");
    cr_expect_null(p);
    cr_expect_eq(chook_pending_remove(NULL), CHOOK_EINVAL);
    cr_expect_eq(chook_pending_status(NULL), CHOOK_EINVAL);
}
