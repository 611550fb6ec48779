/*
 * The core's install/uninstall with a module and a symbol name instead of an
 * address: resolve (symbols.c), then hand the address to the core, naming the
 * symbol in any failure message.
 */
#include "internal.h"
#include "symbols.h"

static int resolve(const char *api, const char *module, const char *symbol, void **addr)
{
    if (!symbol) return chook__fail(CHOOK_EINVAL, "%s: symbol is NULL", api);
    return chook_symbol_lookup(module, symbol, NULL, addr);
}

/* Both are part of an open transaction: every failure, also of the lookup,
 * fails its commit, with the message naming the symbol. */
int chook_install_name(const char *module, const char *symbol, void *replacement,
                       void **original, chook_hook **hook)
{
    chook__clear_error();
    if (hook) *hook = NULL;
    if (!replacement)
        return chook__txn_fail(chook__fail(CHOOK_EINVAL, "chook_install_name: replacement is "
                                           "NULL"));
    void *target;
    CHOOK_CHECK(chook__txn_fail(resolve("chook_install_name", module, symbol, &target)));
    int failed_before = chook__txn_failed();
    int status = chook_install_ex(target, replacement, original, hook);
    if (status != CHOOK_OK)
        return chook__txn_fail_again(chook__fail_context(status, "%s%s%s: ", module ? module : "",
                                                         module ? ":" : "", symbol),
                                     failed_before);
    return CHOOK_OK;
}

int chook_uninstall_name(const char *module, const char *symbol)
{
    chook__clear_error();
    void *target;
    CHOOK_CHECK(chook__txn_fail(resolve("chook_uninstall_name", module, symbol, &target)));
    int failed_before = chook__txn_failed();
    int status = chook_uninstall(target);
    if (status != CHOOK_OK)
        return chook__txn_fail_again(chook__fail_context(status, "%s%s%s: ", module ? module : "",
                                                         module ? ":" : "", symbol),
                                     failed_before);
    return CHOOK_OK;
}

int chook_attach_name(const char *module, const char *symbol, chook_enter_fn on_enter,
                      chook_leave_fn on_leave, void *data, const chook_attach_opts *opts,
                      chook_listener **listener)
{
    chook__clear_error();
    void *target;
    CHOOK_CHECK(chook__txn_fail(resolve("chook_attach_name", module, symbol, &target)));
    int failed_before = chook__txn_failed();
    int status = chook_attach_ex(target, on_enter, on_leave, data, opts, listener);
    if (status != CHOOK_OK)
        return chook__txn_fail_again(chook__fail_context(status, "%s%s%s: ", module ? module : "",
                                                         module ? ":" : "", symbol),
                                     failed_before);
    return CHOOK_OK;
}
