/*
 * Breakpoint-first patching, for threads chook cannot park (they block its
 * signal while sleeping in the kernel).
 *
 * Protocol for one batch of code writes (hook.c drives it):
 *   1. chook__trap_set(): publish where each patched range starts and where a
 *      thread that arrives there must go instead: the site's entry stub, which
 *      runs the hooks or, once none is left, the trampoline (chook__trap_prepare
 *      made room beforehand; chook__trap_install_handler installs chook's
 *      SIGTRAP handler).
 *   2. Write a breakpoint over the first byte of every range; serialise cores.
 *      From now on a thread entering a range traps and is sent on.
 *   3. Check that no unparked thread ran since its position was read outside the
 *      ranges (it could have been inside a range before step 2).
 *   4. Write the rest of every range; serialise. Write the first bytes;
 *      serialise.
 *   5. Nothing to undo: the handler stays installed, since a thread may still be
 *      on its way into it. Traps that are not chook's go to the application's
 *      own disposition, as the kernel would have delivered them.
 */
#ifndef CHOOK_TRAP_H
#define CHOOK_TRAP_H

#include <stddef.h>
#include <stdint.h>

/* Makes room for n more entries. Call before parking threads. Returns CHOOK_OK
 * or CHOOK_ENOMEM. */
int chook__trap_prepare(size_t n);

/* Installs chook's SIGTRAP handler if it is not (or no longer) installed; only
 * done when a commit really goes breakpoint first, so a process that never needs
 * it keeps its SIGTRAP disposition untouched. No libc (threads are parked).
 * Returns 0, or -1 when the kernel refused. */
int chook__trap_install_handler(void);

/* A thread that traps on a breakpoint at `at` continues at `to`. Entries are
 * permanent (a thread may be on its way into the handler long after the batch):
 * `at` is a patch site, `to` its entry stub, valid for the life of the process.
 * No libc, no allocation (room was made by chook__trap_prepare). */
void chook__trap_set(uintptr_t at, uintptr_t to);

#endif /* CHOOK_TRAP_H */
