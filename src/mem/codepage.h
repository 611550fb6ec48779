/*
 * A small cache of code pages read through /proc/self/mem, for the reads of one
 * transaction: its targets often share pages (a library's functions, generated
 * stubs), and every read through /proc/self/mem costs a page-table walk in the
 * kernel. Only decisions that a commit re-checks against fresh reads may rest on
 * cached bytes; a commit's own checks and verifications always read afresh
 * (chook__code_read).
 *
 * A cached page is never returned after chook wrote anywhere (any write through
 * chook__code_write*), after chook__code_cache_drop() (the end of every commit
 * and abort, chook__maps_invalidate()), or once the maps snapshot has been taken
 * again (maps.c): a target's address is checked against the snapshot before its
 * code is read, and the snapshot is at most 50 ms old, so cached code is too,
 * without a clock read per access. Use only under the commit lock.
 */
#ifndef CHOOK_CODEPAGE_H
#define CHOOK_CODEPAGE_H

#include "internal.h"

/* As chook__code_read, served from cached pages where possible. */
long chook__code_read_cached(uintptr_t addr, void *bytes, size_t len);

/* Reads afresh without a message (bytes read, or -errno): for use while threads
 * are parked. */
long chook__code_read_raw(uintptr_t addr, void *bytes, size_t len);

/* Forgets every cached page. Thread-safe (an atomic increment). */
void chook__code_cache_drop(void);

#endif /* CHOOK_CODEPAGE_H */
