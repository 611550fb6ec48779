/*
 * Threads a stop could not park: they block chook's signal (many libraries keep a
 * worker thread with every signal blocked, sleeping in epoll_wait or a futex).
 * Such a thread is accepted when it sleeps in the kernel: /proc tells where it
 * will resume in user space and how often it has been switched out. If neither
 * changes across the first step of a breakpoint-first write (trap.h), it cannot
 * have entered a patched range before the breakpoints were in place.
 */
#ifndef CHOOK_STOP_UNPARKED_H
#define CHOOK_STOP_UNPARKED_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "stop.h"

/* Threads of the stopped world that sleep in the kernel with chook's signal
 * blocked, and the user pc each will resume at. */
size_t chook__world_unparked(const chook__world *w);
uintptr_t chook__world_unparked_pc(const chook__world *w, size_t i);
pid_t chook__world_unparked_tid(const chook__world *w, size_t i);

/* 1 when no unparked thread has run since the stop examined it. No libc. */
int chook__world_unparked_quiet(chook__world *w);

/* For stop.c: make room for n entries (before parking), forget the last stop's,
 * and examine a thread that did not park: 1 when it sleeps in the kernel and is
 * accepted as unparked. No libc in reset and accept. */
int chook__unparked_reserve(size_t n);
void chook__unparked_reset(void);
int chook__unparked_accept(pid_t tid);

/* Serialises every core running a thread of this process (membarrier
 * SYNC_CORE); a no-op where the kernel lacks it. No libc. */
void chook__sync_cores(void);

#endif /* CHOOK_STOP_UNPARKED_H */
