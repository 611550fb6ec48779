/*
 * chook_slots.h — hooks that replace a function pointer: import (GOT) hooks,
 * function-pointer slots, C++ virtual methods.
 *
 * Part of <chook.h>, which includes every module header; each may also be
 * included alone.
 */
#ifndef CHOOK_SLOTS_PUBLIC_H
#define CHOOK_SLOTS_PUBLIC_H

#include "chook_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Import hooks: redirect the calls one module makes
 * ------------------------------------------------------------------------- */

/** One redirected import (opaque). */
typedef struct chook_import chook_import;

/**
 * Redirects the calls that one module makes to an imported function, by rewriting
 * that module's GOT entries for it (its JUMP_SLOT entries, used by its PLT, and
 * its GLOB_DAT entries, used by -fno-plt calls and when it takes the function's
 * address). Calls from every other module, and calls the defining module makes to
 * itself, are untouched; the function's code is not modified.
 *
 *     static void *(*orig_malloc)(size_t);
 *     chook_import_install("libfoo.so", "malloc", foo_malloc, (void **)&orig_malloc, &h);
 *
 * @param module       The importing module, named as for chook_module_find() ("" is
 *                     the main program). Must not be NULL.
 * @param symbol       The imported function's name.
 * @param replacement  Called instead by that module.
 * @param original     Receives the function the module's calls reached before
 *                     (may be NULL). For an entry not yet bound by lazy binding,
 *                     the definition the dynamic linker would bind. Written before
 *                     any entry is rewritten.
 * @param handle       Receives the handle (may be NULL; then it cannot be removed).
 *                     Owned by chook, valid until chook_import_remove() succeeds.
 * @return CHOOK_OK; CHOOK_EINVAL (NULL module, symbol or replacement);
 *         CHOOK_ENOMODULE, CHOOK_EAMBIGUOUS (module name); CHOOK_ENOSYM (the module
 *         does not import that symbol, or nothing defines it); CHOOK_EEXIST (this
 *         replacement already redirects it); CHOOK_ESELF (replacement is the
 *         function itself); CHOOK_ENOTSUP (no dynamic section, REL relocations);
 *         CHOOK_EPATCH (an entry changed under chook, or its page could not be made
 *         writable). On failure every entry is as before.
 *
 * Each entry is replaced by one atomic store, so other threads calling through it
 * see the old or the new function, never a torn pointer; no thread is stopped. A
 * read-only GOT (BIND_NOW with RELRO) is made writable for that store and given
 * back its exact protection. Not part of transactions: applied at once.
 *
 * Several import hooks on one symbol of one module chain (the newest runs first,
 * its original is the previous replacement) and must be removed newest first.
 * Limit: a thread that is lazily binding that very entry at the moment of the
 * install may overwrite it with the real function; bind eagerly (-z now or
 * LD_BIND_NOW) or call the function once first where that matters.
 *
 * Thread safety: any thread.
 */
CHOOK_API int chook_import_install(const char *module, const char *symbol, void *replacement,
                                   void **original, chook_import **handle);

/**
 * Puts back the GOT entries an import hook rewrote, as they were.
 *
 * @param handle  From chook_import_install(); stale after CHOOK_OK.
 * @return CHOOK_OK (also when the module was unloaded meanwhile: nothing is left to
 *         restore); CHOOK_EINVAL (NULL, or not an import hook handle);
 *         CHOOK_ENOTHOOKED (removed already: a stale handle); CHOOK_EBUSY (a newer import hook on the same entries
 *         must be removed first); CHOOK_EPATCH (an entry was changed by someone
 *         else: every entry is left as it was).
 */
CHOOK_API int chook_import_remove(chook_import *handle);

/* ---------------------------------------------------------------------------
 * Function-pointer slots: ops structs and C++ virtual methods
 * ------------------------------------------------------------------------- */

/** One replaced function pointer (opaque). */
typedef struct chook_slot_hook chook_slot_hook;

/**
 * Replaces a function pointer in memory: a field of a C ops/vtable struct (e.g.
 * `&my_ops.read`), or any other slot that callers load before calling.
 *
 * @param slot         Address of the pointer (8-byte aligned, readable). It may be
 *                     on a read-only page (const ops in .data.rel.ro, after RELRO):
 *                     the page is made writable for the store only and given back
 *                     its exact protection.
 * @param replacement  The function to store.
 * @param original     Receives the pointer the slot held (may be NULL); written
 *                     before the slot.
 * @param handle       Receives the handle (may be NULL). Owned by chook, valid until
 *                     chook_slot_remove() succeeds.
 * @return CHOOK_OK; CHOOK_EINVAL (NULL, misaligned or unreadable slot);
 *         CHOOK_EUNMAPPED; CHOOK_EEXIST (this replacement already hooks the slot);
 *         CHOOK_ESELF (the slot already holds replacement); CHOOK_EPATCH (the slot
 *         changed under chook, or its page could not be made writable); CHOOK_ENOMEM.
 *
 * The slot is replaced by one atomic compare-and-swap: a concurrent caller loads
 * the old or the new pointer. Hooks on one slot chain (the newest runs first, its
 * original is the previous replacement) and are removed newest first. Applied at
 * once, not part of transactions.
 *
 * Thread safety: any thread.
 */
CHOOK_API int chook_slot_install(void **slot, void *replacement, void **original,
                                 chook_slot_hook **handle);

/**
 * Replaces a C++ virtual method for every object of a class: slot `index` of the
 * vtable that `object`'s vptr points to (Itanium C++ ABI, as used by GCC and Clang
 * on Linux). Every object whose vptr points to that vtable is affected: objects of
 * exactly that class (for a base-class subobject, the vtable of that subobject).
 *
 * @param object       A live object of the class (or a base subobject pointer).
 * @param index        The slot: use chook_vtable_index(&Class::method) in C++.
 * @param replacement  A function taking the object pointer (`this`) first, then
 *                     the method's parameters.
 * @param original     Receives the method's previous implementation (may be NULL);
 *                     call it with the same `this`.
 * @param handle       As chook_slot_install().
 * @return As chook_slot_install(), and CHOOK_EINVAL when object is NULL, its first
 *         word does not point at readable vtable slots, index is past the end of
 *         the vtable (when its _ZTV symbol gives the size) or the slot does not
 *         hold code; CHOOK_EUNMAPPED when the object is not readable.
 *
 * An object hooked with chook_object_install() before keeps its private vtable
 * and does not see this hook, except on the slots its copy follows (see
 * chook_object_install()).
 */
CHOOK_API int chook_vtable_install(void *object, size_t index, void *replacement,
                                   void **original, chook_slot_hook **handle);

/**
 * Replaces a C++ virtual method for one object only: the object gets a private
 * copy of its class's vtable (the whole _ZTV symbol, so typeid and dynamic_cast
 * keep working; without the symbol, the offset-to-top and typeinfo words and
 * every consecutive code pointer), slot `index` of the copy is replaced, and the
 * object's vptr is switched to the copy with one atomic store. Further hooks on
 * the same object share its copy.
 *
 * @param object, index, replacement, original, handle  As chook_vtable_install().
 * @return As chook_vtable_install().
 *
 * A slot that a class-wide hook (chook_vtable_install() or chook_slot_install()
 * on the class's vtable) replaces when the copy is made is not copied as that
 * replacement: the copy gets a 6-byte stub that jumps through the class's slot,
 * so the object keeps following it. Removing the class-wide hook therefore
 * reaches the object too, hooking that slot of the class again does as well,
 * and a hook of the object on such a slot has as its original whatever the
 * class's slot holds at the time of the call. (The stub needs code memory
 * within 2 GiB of the class's vtable: CHOOK_ENOMEM otherwise.)
 *
 * When the object's last hook is removed its vptr is switched back. Remove the
 * hooks before the object is destroyed (its destructor rewrites the vptr; removal
 * then fails with CHOOK_EPATCH). A private vtable (a few hundred bytes) stays
 * allocated for the life of the process, as a thread may still be calling through
 * it.
 */
CHOOK_API int chook_object_install(void *object, size_t index, void *replacement,
                                   void **original, chook_slot_hook **handle);

/**
 * Puts back the pointer a slot hook replaced (and, for the last hook of an object,
 * the object's vptr).
 *
 * @param handle  From chook_slot_install(), chook_vtable_install() or
 *                chook_object_install(); stale after CHOOK_OK.
 * @return CHOOK_OK; CHOOK_EINVAL (NULL, or not a slot hook handle);
 *         CHOOK_ENOTHOOKED (removed already: a stale handle);
 *         CHOOK_EBUSY (a newer hook on the same slot must be removed first);
 *         CHOOK_EPATCH (the slot or the object's vptr was changed by someone else:
 *         nothing is written).
 */
CHOOK_API int chook_slot_remove(chook_slot_hook *handle);

#ifdef __cplusplus
extern "C++" {
/**
 * The vtable slot of a virtual member function, for chook_vtable_install() and
 * chook_object_install(): chook_vtable_index(&Shape::area).
 *
 * @return The slot index, or (size_t)-1 when `method` is not virtual. Follows the
 *         Itanium C++ ABI representation of member function pointers (x86-64).
 */
template <typename Method> inline size_t chook_vtable_index(Method method)
{
    struct rep { uintptr_t ptr; ptrdiff_t adj; } r;
    static_assert(sizeof(method) == sizeof(r), "not an Itanium member function pointer");
    __builtin_memcpy(&r, &method, sizeof(r));
    return (r.ptr & 1) ? (size_t)((r.ptr - 1) / sizeof(void *)) : (size_t)-1;
}
}
#endif

#ifdef __cplusplus
}
#endif

#endif /* CHOOK_SLOTS_PUBLIC_H */
