/*
 * chook — function hooking and interception for running Linux processes.
 *
 * Overview
 * ========
 * chook redirects any function of the running process to a replacement, lets the
 * replacement call the original, and attaches callbacks before and after a call
 * with read/write access to its arguments and return value.
 *
 *     static int (*orig_puts)(const char *);
 *     static int my_puts(const char *s) { orig_puts("[hooked]"); return orig_puts(s); }
 *
 *     if (CHOOK_INSTALL(puts, my_puts, &orig_puts) != CHOOK_OK)  // type-checked
 *         fprintf(stderr, "hook failed: %s\n", chook_last_error());
 *     puts("hello");                 // prints "[hooked]" then "hello"
 *     CHOOK_UNINSTALL(puts);         // the original bytes are back
 *
 * How it works: the first instructions of the target are relocated into a
 * trampoline (which is what `original` points to) and replaced by a jump to the
 * newest replacement, directly or through a small stub near the target. Code
 * pages never lose PROT_EXEC: code is written through /proc/self/mem. Every
 * commit stops the other threads of the process (see "Live patching" below), so
 * hooks can be installed and removed while other threads run the target.
 *
 * Modules, one header each, all included by this one: <chook_base.h> (version,
 * status codes, errors, live patching settings); <chook_hook.h> (inline hooks:
 * install, remove, transactions, probe); <chook_intercept.h> (interception:
 * listeners, the call context, closure replacements); <chook_typed.h> (typed
 * listeners); <chook_symbols.h> (modules and symbols, hooks by name, hooks on
 * libraries not loaded yet); <chook_slots.h> (import hooks, vtable and slot
 * hooks). Installed under include/chook/: include <chook/chook.h>.
 * Two narrow headers add separable features: <chook_point.h> (hook points
 * compiled into a library's source; needs no code patching) and
 * <chook_typed_fixed.h> (typed listeners whose callbacks are fixed at compile
 * time).
 *
 * Errors
 * ======
 * Every function returns CHOOK_OK (0) or a negative CHOOK_E* status. The status
 * names the class of the failure (chook_strerror()); chook_last_error() gives a
 * message saying exactly what was wrong, for the last failure on the calling
 * thread. A failing call leaves the process exactly as it was. Like SQLite's
 * errmsg, the message belongs to the last call: a call that succeeds leaves it
 * "" (see chook_last_error() for the few functions that do not touch it).
 *
 * Handles
 * =======
 * The handles chook gives out (chook_hook *, chook_listener *, chook_import *,
 * chook_slot_hook *, chook_pending *) are opaque values, not pointers to chook's
 * records: each names an entry of chook's own handle table and the generation of
 * that entry, and every function checks a handle there before it touches
 * anything. A value chook never gave out (garbage, a handle of another kind) is
 * CHOOK_EINVAL; the handle of something removed already is "stale",
 * CHOOK_ENOTHOOKED, even when chook has since reused the record for a newer hook
 * or listener, which is never affected. Neither is ever dereferenced. A point
 * (chook_point *) is checked against the point tables of the loaded modules.
 *
 * Thread safety
 * =============
 * Every function may be called from any thread, concurrently; commits are
 * serialised by one process-wide lock. None may be called from a signal handler
 * unless its documentation says so.
 *
 * Limits (x86-64)
 * ===============
 * A target must have at least 5 bytes of relocatable instructions before the first
 * instruction that ends the function, or verifiable padding after it; no other
 * instruction of the function may jump into those bytes. See README.md,
 * "What cannot be hooked".
 */
#ifndef CHOOK_H
#define CHOOK_H

#include "chook_base.h"
#include "chook_hook.h"
#include "chook_intercept.h"
#include "chook_typed.h"
#include "chook_symbols.h"
#include "chook_slots.h"

#endif /* CHOOK_H */
