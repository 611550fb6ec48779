/*
 * Handles: the opaque values chook gives its users (chook_hook *, chook_listener *,
 * chook_import *, chook_slot_hook *, chook_pending *).
 *
 * A handle is not a pointer to chook's record: it is a value that names an entry
 * of chook's own handle table and the generation the entry had when the handle
 * was made:
 *
 *     bits 63..32  generation (never 0)
 *     bits 31..4   table index
 *     bits  3..0   kind (never 0, so no handle is NULL or an aligned pointer)
 *
 * Every public function that takes a handle looks it up here before touching
 * anything, so a garbage value is refused without being dereferenced
 * (CHOOK_EINVAL), and a stale one (its object was removed, the entry may since
 * name a newer object) is told apart by its older generation (CHOOK_ENOTHOOKED).
 *
 * The table is two-level (chunks allocated on demand, never freed), so a lookup
 * is a few loads and takes no lock; making and releasing handles takes the
 * table's own lock. A lookup racing a release of the same handle sees the handle
 * valid or stale; callers that then use the object hold the lock of its subsystem,
 * which also serialises its release.
 */
#ifndef CHOOK_HANDLE_H
#define CHOOK_HANDLE_H

#include "internal.h"

enum chook__handle_kind {
    CHOOK__H_HOOK = 1,     /* struct chook_hook (hook.c) */
    CHOOK__H_LISTENER = 2, /* struct chook_listener (intercept.c) */
    CHOOK__H_IMPORT = 3,   /* struct chook_import (imports.c) */
    CHOOK__H_SLOT = 4,     /* struct chook_slot_hook (vtable.c) */
    CHOOK__H_PENDING = 5,  /* struct chook_pending (pending.c) */
};

/* A new handle naming obj; 0 when the table is full or out of memory (the caller
 * reports CHOOK_ENOMEM). Thread-safe. */
uintptr_t chook__handle_new(enum chook__handle_kind kind, void *obj);

/* Makes h stale: every copy of it is refused from now on. h must be valid. */
void chook__handle_release(uintptr_t h);

/* The object h names, or NULL when h is not a valid handle of that kind.
 * Lock-free, no message: for hot paths. */
void *chook__handle_peek(uintptr_t h, enum chook__handle_kind kind);

/* Is h still the current handle of its entry (not released since)? Lock-free. */
int chook__handle_current(uintptr_t h);

/* Looks h up with a message for the failures: CHOOK_OK with *obj; CHOOK_EINVAL
 * for NULL or a value chook never gave out as a handle of that kind ("garbage");
 * CHOOK_ENOTHOOKED for a handle whose object was removed ("stale"). `what` names
 * the handle in the message, e.g. "hook". */
int chook__handle_get(uintptr_t h, enum chook__handle_kind kind, const char *what, void **obj);

#endif /* CHOOK_HANDLE_H */
