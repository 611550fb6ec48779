/*
 * Stopping the other threads of the process while code is patched.
 *
 * Protocol of one commit (hook.c drives it, stop.c implements 2, 3 and 6):
 *   1. Take the commit lock; prepare every trampoline and stub (not yet reachable).
 *   2. chook__world_stop(): signal every other thread of /proc/self/task with
 *      chook's real-time signal; each parks in the handler and publishes its
 *      signal context. Repeat the enumeration until no new thread appears.
 *   3. A thread that does not park within the timeout fails the commit:
 *      chook__world_stop() releases the others itself and returns CHOOK_ETHREADS;
 *      nothing has been written. A thread that cannot take the signal because it
 *      blocks it while asleep in the kernel, or sleeps uninterruptibly, is not
 *      waited for: it is listed as unparked (stop_unparked.h) for the core's
 *      breakpoint-first write.
 *   4. The core moves the program counter of any parked thread that lies inside
 *      bytes about to be overwritten to the equivalent place (chook__world_pc /
 *      chook__world_set_pc).
 *   5. The core writes the patches and re-reads them.
 *   6. chook__world_resume(): every core is serialised (membarrier SYNC_CORE, and
 *      each parked thread serialises itself before leaving the handler); threads
 *      are released; returns once every thread has left the handler.
 *   7. Release the commit lock.
 * Between 2 and 6 the calling thread must not call libc: parked threads may hold
 * its locks (malloc's, stdio's).
 *
 * The signal's disposition: chook's handler is installed at the start of each stop
 * and the application's previous disposition is restored exactly after it. After
 * a failed stop, a thread that blocks the signal still has it pending; chook's
 * handler then stays installed (it ignores stale signals and passes any other
 * instance of the signal to the application's saved handler) until a later stop
 * or resume finds that no such signal is pending any more.
 */
#ifndef CHOOK_STOP_H
#define CHOOK_STOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "internal.h"

typedef struct chook__world chook__world;

/* Parks every other thread of the process. Must be called with the commit lock
 * held. On success *out is the stopped world (static storage: one at a time) and
 * chook__world_resume() must follow. On failure nothing is parked and *out is
 * NULL. Returns CHOOK_OK, CHOOK_ETHREADS (a thread did not park in time: all
 * released, the message names it and the signal), CHOOK_ENOMEM (no memory for
 * the thread records) or CHOOK_ENOSYS (no /proc/self/task, no free real-time
 * signal, or the signal could not be installed or sent). */
int chook__world_stop(chook__world **out);

/* Parked threads, their tids and program counters (i < chook__world_count()). */
size_t chook__world_count(const chook__world *w);
pid_t chook__world_tid(const chook__world *w, size_t i);
uintptr_t chook__world_pc(const chook__world *w, size_t i);
void chook__world_set_pc(chook__world *w, size_t i, uintptr_t pc);

/* Serialises every core and releases the parked threads; returns when all have
 * left the signal handler. */
void chook__world_resume(chook__world *w);

/* Registers for membarrier SYNC_CORE once per process (again after fork) and
 * says whether the kernel serialises cores with it; 0 means callers must
 * serialise their own core (chook_arch_serialize). */
int chook__membarrier_ready(void);

/* A process with one thread is patched without a stop (hook.c checks
 * /proc/self/stat): there is nobody to park.
 *
 * The commit lock: one commit at a time in the process. Held across fork()
 * (pthread_atfork) so a child never inherits a half-done commit; the child starts
 * with it unlocked. */
void chook__commit_lock(void);
void chook__commit_unlock(void);

/* chook__fork_guard (internal.h) and the ranks (lockrank.h) order every mutex. */

/* 1 between a successful chook__world_stop() and its chook__world_resume() (when
 * the calling thread must not call libc), else 0. For tests and diagnostics. */
int chook__world_stopped(void);

/* The signal the last stop used (0 before the first stop that had other threads
 * to park). For tests and diagnostics. */
int chook__stop_signal(void);


#endif /* CHOOK_STOP_H */
