/*
 * Functions that must never be called from a frame of chook's own.
 *
 * An on_leave (or a register-keeping replacement thunk) calls the original
 * from the dispatcher's frame. A function that returns twice breaks that: the
 * second return (the vfork child's exit or exec letting the parent resume, a
 * longjmp back into a setjmp, a setcontext back into a getcontext) lands in a
 * frame that the first return already freed and that later calls overwrote.
 * A function that reads its own return address (vfork keeps it in a register
 * across the system call; dlsym and dlopen look at who called them) sees the
 * dispatcher instead of its caller. Entered by a jump (enter-only listeners)
 * or replaced outright (chook_install) they work as usual, so only the frame
 * is refused.
 *
 * Recognised by name (the C library's, resolved once, and any function of
 * those names in any module) and by code (chook_arch_frame_sensitive(): a
 * return-address read or callee-saved registers stored through the first
 * argument at the entry).
 */
#include <dlfcn.h>

#include "codepage.h"
#include "intercept.h"

static const char *const twice_names[] = {
    "setjmp", "_setjmp", "__sigsetjmp", "sigsetjmp", "savectx",
    "vfork", "__vfork", "getcontext", "swapcontext", "__getcontext", "__swapcontext",
};
#define N_NAMES (sizeof twice_names / sizeof twice_names[0])

static uintptr_t twice_addrs[N_NAMES];
static int resolved; /* 0, then 2 once twice_addrs is filled (release) */

static void resolve_names(void)
{
    if (__atomic_load_n(&resolved, __ATOMIC_ACQUIRE) == 2) return;
    for (size_t i = 0; i < N_NAMES; i++)
        twice_addrs[i] = (uintptr_t)dlsym(RTLD_DEFAULT, twice_names[i]);
    __atomic_store_n(&resolved, 2, __ATOMIC_RELEASE);
}

static const char *known_name(uintptr_t target)
{
    resolve_names();
    for (size_t i = 0; i < N_NAMES; i++)
        if (twice_addrs[i] == target) return twice_names[i];
    Dl_info info;
    if (dladdr((void *)target, &info) && info.dli_sname && (uintptr_t)info.dli_saddr == target)
        for (size_t i = 0; i < N_NAMES; i++)
            if (__builtin_strcmp(info.dli_sname, twice_names[i]) == 0) return twice_names[i];
    return NULL;
}

int chook__icpt_check_leave(void *target, const char *what)
{
    uintptr_t t = (uintptr_t)target;
    const char *name = known_name(t);
    if (name)
        return chook__fail(CHOOK_ENOLEAVE, "%s cannot be put on %s (0x%lx): it returns twice or "
                                           "reads its own return address, so it must not be "
                                           "called from another frame", what, name,
                           (unsigned long)t);
    uint8_t bytes[128];
    long n = chook__code_read_cached(t, bytes, sizeof bytes);
    if (n <= 0) return CHOOK_OK; /* the install reports an unreadable target */
    uintptr_t start = 0, next = 0;
    size_t size = 0;
    chook_arch_code code = { .bytes = bytes, .avail = (size_t)n, .pc = t };
    if (chook__symbol_extent(t, &start, &size, &next) && start + size > t)
        code.func_end = start + size;
    char why[CHOOK_ARCH_ERRLEN];
    if (chook_arch_frame_sensitive(&code, why, sizeof why))
        return chook__fail(CHOOK_ENOLEAVE, "%s cannot be put on 0x%lx: it %s, so it must not be "
                                           "called from another frame; attach it without "
                                           "on_leave", what, (unsigned long)t, why);
    return CHOOK_OK;
}
