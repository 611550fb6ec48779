/*
 * Hooks by name on modules that are not loaded yet.
 *
 * Mechanism: the dynamic linker calls _dl_debug_state() (the address it publishes
 * as r_debug.r_brk, where debuggers put their breakpoint) at each change of the
 * list of loaded modules, after setting r_debug.r_state:
 *   1. RT_ADD: a module is about to be mapped;
 *   2. RT_CONSISTENT after dlopen: the new modules are mapped and in the list, not
 *      yet relocated, and none of their code has run: their constructors come
 *      later. Pending hooks are applied here, so constructors already see them;
 *   3. RT_DELETE before dlclose unmaps modules (their destructors have run): the
 *      list does not say which modules go, so every hook placed by this service
 *      is removed while all code is still mapped;
 *   4. RT_CONSISTENT after dlclose: hooks are put back on the matching modules
 *      that are still loaded.
 * chook hooks that function with its own core (an inline hook, usable because
 * the function is followed by padding). The callback runs in the thread calling
 * dlopen/dlclose while the dynamic linker holds its lock, so nothing here may ask
 * the dynamic linker anything (no dlopen, dlsym, dladdr): symbols come from
 * chook's own tables and IFUNC resolvers are not run in modules not yet
 * relocated.
 *
 * Lock order: the dynamic linker's lock, then pend.lock, then the core's commit
 * lock.
 */
#include <errno.h>
#include <link.h>

#include "handle.h"
#include "internal.h"
#include "lockrank.h"
#include "stop.h"
#include "hook.h"
#include "symbols.h"

typedef struct applied {
    chook__module *module; /* referenced */
    chook_hook *hook;
    struct applied *next;
} applied;

struct chook_pending {
    char *module;
    size_t module_size;
    char *symbol;
    size_t symbol_size;
    void *replacement;
    void **original;
    applied *applied;
    int last_status;       /* of the last failed application, CHOOK_OK if none */
    struct chook_pending *next;
    uintptr_t handle;      /* the user's handle (handle.h) */
};

static struct {
    chook__mutex lock;
    struct chook_pending *specs;
    chook_hook *debug_hook;    /* our hook on r_brk while any spec exists */
    void (*debug_orig)(void);
} pend;

static __thread int in_callback __attribute__((tls_model("initial-exec")));

static char *dup_string(const char *s, size_t *size)
{
    size_t n = chook__strlen(s) + 1;
    char *p = chook__alloc(n);
    if (p) chook__memcpy(p, s, n);
    *size = n;
    return p;
}

static int is_applied(const struct chook_pending *p, const chook__module *m)
{
    for (const applied *a = p->applied; a; a = a->next)
        if (a->module == m) return 1;
    return 0;
}

/* Hooks p's symbol in module m (one transaction of its own, so a failure leaves
 * the other applications alone and a transaction the user left open on this
 * thread is not joined). */
static int apply_one(struct chook_pending *p, chook__module *m, int relocated)
{
    uintptr_t target;
    int status = chook__symbol_resolve_in(m, p->symbol, relocated, &target);
    applied *a = NULL;
    if (status == CHOOK_OK) {
        a = chook__alloc(sizeof(*a));
        if (!a) status = chook__fail(CHOOK_ENOMEM, "out of memory for a pending hook");
    }
    /* Not chook_transaction_begin() as a probe: a nested begin fails the open one. */
    if (status == CHOOK_OK && chook__txn_is_open())
        status = chook__fail(CHOOK_ETXN, "this thread has a transaction open: a hook on a "
                             "module being loaded cannot wait for its commit");
    if (status == CHOOK_OK) status = chook_transaction_begin();
    if (status == CHOOK_OK) {
        status = chook_install_ex((void *)target, p->replacement, p->original, &a->hook);
        if (status == CHOOK_OK) {
            status = chook_transaction_commit();
        } else {
            chook__saved_error e; /* the install's message, not the abort's "" */
            chook__error_save(&e);
            chook_transaction_abort();
            chook__error_restore(&e);
        }
    }
    if (status != CHOOK_OK) {
        chook__free(a, sizeof(*a));
        p->last_status = status;
        return chook__fail_context(status, "%s:%s: ", m->path, p->symbol);
    }
    chook__module_ref(m);
    a->module = m;
    a->next = p->applied;
    p->applied = a;
    p->last_status = CHOOK_OK;
    return CHOOK_OK;
}

/* Removes p's hooks; keeps those that cannot be removed. */
static int unapply(struct chook_pending *p)
{
    int status = CHOOK_OK;
    applied **pp = &p->applied;
    while (*pp) {
        applied *a = *pp;
        int st = chook_remove(a->hook);
        if (st != CHOOK_OK && st != CHOOK_ENOTHOOKED) {
            status = chook__fail_context(st, "%s:%s: ", a->module->path, p->symbol);
            p->last_status = st;
            pp = &a->next;
            continue;
        }
        *pp = a->next;
        chook__module_unref(a->module);
        chook__free(a, sizeof(*a));
    }
    return status;
}

/* Applies p to every loaded module it names that it does not hook yet. With
 * all_relocated == 0 (inside dlopen), only modules seen settled before count as
 * relocated. */
static int apply_loaded(struct chook_pending *p, int all_relocated)
{
    chook__module **list;
    size_t n;
    CHOOK_CHECK(chook__module_list(&list, &n));
    int status = CHOOK_OK;
    for (size_t i = 0; i < n && status == CHOOK_OK; i++)
        if (chook__module_matches(list[i], p->module, 0) && !is_applied(p, list[i]))
            status = apply_one(p, list[i], all_relocated || list[i]->settled);
    chook__module_list_free(list, n);
    return status;
}

/* Marks every module listed now as relocated from the next event on: the
 * modules of a dlopen are relocated before it returns (a failed dlopen removes
 * them again). */
static void settle_all(void)
{
    chook__module **list;
    size_t n;
    if (chook__module_list(&list, &n) != CHOOK_OK) return;
    for (size_t i = 0; i < n; i++) list[i]->settled = 1;
    chook__module_list_free(list, n);
}

/* Our replacement of _dl_debug_state(). */
static void on_debug_state(void)
{
    if (!in_callback) {
        in_callback = 1;
        int saved_errno = errno;
        int state = __atomic_load_n(&_r_debug.r_state, __ATOMIC_ACQUIRE);
        chook__mutex_lock(&pend.lock);
        for (struct chook_pending *p = pend.specs; p; p = p->next) {
            if (state == RT_DELETE) unapply(p);
            else if (state == RT_CONSISTENT) apply_loaded(p, 0);
        }
        if (state == RT_CONSISTENT) settle_all();
        chook__mutex_unlock(&pend.lock);
        errno = saved_errno;
        in_callback = 0;
    }
    pend.debug_orig();
}

static int arm(void)
{
    if (pend.debug_hook) return CHOOK_OK;
    void *brk = (void *)_r_debug.r_brk;
    if (!brk)
        return chook__fail(CHOOK_ENOSYS, "the dynamic linker publishes no r_debug.r_brk: "
                           "modules loaded later cannot be watched");
    settle_all();
    int status = chook__install_internal(brk, (void *)on_debug_state,
                                         (void **)&pend.debug_orig, &pend.debug_hook);
    if (status != CHOOK_OK)
        return chook__fail_context(status, "cannot watch module loading (hooking the dynamic "
                                   "linker's _dl_debug_state at %p): ", brk);
    return CHOOK_OK;
}

static void disarm(void)
{
    if (pend.specs || !pend.debug_hook) return;
    if (chook_remove(pend.debug_hook) == CHOOK_OK) pend.debug_hook = NULL;
}

static void free_spec(struct chook_pending *p)
{
    if (p->handle) chook__handle_release(p->handle);
    chook__free(p->module, p->module_size);
    chook__free(p->symbol, p->symbol_size);
    chook__free(p, sizeof(*p));
}

int chook_install_deferred(const char *module, const char *symbol, void *replacement,
                           void **original, chook_pending **handle)
{
    chook__clear_error();
    if (handle) *handle = NULL;
    if (!module || !symbol || !replacement)
        return chook__fail(CHOOK_EINVAL, "chook_install_deferred: %s is NULL",
                           !module ? "module" : !symbol ? "symbol" : "replacement");
    if (!module[0] || !symbol[0])
        return chook__fail(CHOOK_EINVAL, "chook_install_deferred: empty %s name",
                           !module[0] ? "module" : "symbol");
    struct chook_pending *p = chook__alloc(sizeof(*p));
    if (p) {
        p->module = dup_string(module, &p->module_size);
        p->symbol = dup_string(symbol, &p->symbol_size);
    }
    if (p && p->module && p->symbol) p->handle = chook__handle_new(CHOOK__H_PENDING, p);
    if (!p || !p->module || !p->symbol || !p->handle) {
        if (p) free_spec(p);
        return chook__fail(CHOOK_ENOMEM, "out of memory for a pending hook");
    }
    p->replacement = replacement;
    p->original = original;

    chook__mutex_lock(&pend.lock);
    int status = arm();
    /* Modules loaded now are relocated: their IFUNC resolvers may run. */
    if (status == CHOOK_OK) status = apply_loaded(p, 1);
    if (status == CHOOK_OK) {
        p->next = pend.specs;
        pend.specs = p;
    } else {
        chook__saved_error e; /* the failure's message, not the cleanup's */
        chook__error_save(&e);
        unapply(p);
        disarm();
        chook__error_restore(&e);
    }
    chook__mutex_unlock(&pend.lock);
    if (status != CHOOK_OK) {
        free_spec(p);
        return status;
    }
    if (handle) *handle = (chook_pending *)p->handle;
    chook__clear_error(); /* a failed application to a module is in its status */
    return CHOOK_OK;
}

/* The spec a handle names, under pend.lock: garbage is refused without a
 * dereference, a stale handle (removed) by its generation. */
static int spec_of(const chook_pending *handle, struct chook_pending **out)
{
    struct chook_pending *p;
    CHOOK_CHECK(chook__handle_get((uintptr_t)handle, CHOOK__H_PENDING, "pending hook",
                                  (void **)&p));
    *out = p;
    return CHOOK_OK;
}

int chook_pending_remove(chook_pending *handle)
{
    chook__clear_error();
    struct chook_pending *p = NULL;
    chook__mutex_lock(&pend.lock);
    int hst = spec_of(handle, &p);
    struct chook_pending **pp = &pend.specs;
    while (hst == CHOOK_OK && *pp && *pp != p) pp = &(*pp)->next;
    if (hst == CHOOK_OK && !*pp)
        hst = chook__fail(CHOOK_ENOTHOOKED, "pending hook %p is not installed", (void *)handle);
    if (hst != CHOOK_OK) {
        chook__mutex_unlock(&pend.lock);
        return hst;
    }
    int status = unapply(p);
    if (status == CHOOK_OK) {
        *pp = p->next;
        chook__handle_release(p->handle);
        disarm();
    }
    chook__mutex_unlock(&pend.lock);
    if (status == CHOOK_OK) free_spec(p);
    return status;
}

int chook_pending_status(const chook_pending *handle)
{
    chook__clear_error();
    struct chook_pending *p = NULL;
    chook__mutex_lock(&pend.lock);
    int status = spec_of(handle, &p);
    if (status == CHOOK_OK) {
        int n = 0;
        for (const applied *a = p->applied; a; a = a->next) n++;
        status = n ? n : p->last_status;
    }
    chook__mutex_unlock(&pend.lock);
    return status;
}

/* fork() must not split this lock (see chook__fork_guard). */
__attribute__((constructor)) static void pending_fork_guard(void)
{
    chook__fork_guard(&pend.lock, CHOOK_RANK_PENDING);
}
