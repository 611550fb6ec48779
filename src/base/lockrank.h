/*
 * The ranks of chook's mutexes, outermost first: a thread that holds a mutex may
 * only take mutexes of a higher rank. One list for the whole library; fork()
 * takes every ranked mutex in this order (chook__fork_guard, lock.c), and debug
 * builds check the order at every chook__mutex_lock (chook__lockrank_*).
 *
 * The values are those the files pass to chook__fork_guard; 0 is "no rank" (a
 * mutex never registered, e.g. one per object, taken with nothing else held).
 */
#ifndef CHOOK_LOCKRANK_H
#define CHOOK_LOCKRANK_H

enum chook__lock_rank {
    CHOOK_RANK_NONE = 0,
    /* Held while taking the commit lock (they install hooks). */
    CHOOK_RANK_PENDING = -40,      /* pending hooks (core/pending.c) */
    CHOOK_RANK_ICPT = -30,         /* listener registry (intercept/intercept.c) */
    CHOOK_RANK_POINT_ATTACH = -20, /* hook point attachments (point/point_attach.c) */
    CHOOK_RANK_COMMIT = 1,         /* one commit at a time (stop/stop.c) */
    CHOOK_RANK_IMPORTS = 5,        /* import hooks (slots/imports.c) */
    CHOOK_RANK_VTABLES = 6,        /* slot hooks (slots/vtable.c) */
    CHOOK_RANK_MODULE_PARSE = 8,   /* one ELF parse at a time (names/modules.c) */
    CHOOK_RANK_DEBUG_ROOT = 9,     /* debug file root (names/symtab.c) */
    CHOOK_RANK_MODULES = 10,       /* module list (names/modules.c) */
    CHOOK_RANK_MAPS = 20,          /* /proc/self/maps snapshot (mem/maps.c) */
    CHOOK_RANK_NEARMEM = 30,       /* near code memory (mem/nearmem.c) */
    CHOOK_RANK_DATASLOT = 35,      /* slot protection changes (slots/dataslot.c) */
    CHOOK_RANK_PROCMEM = 40,       /* the /proc/self/mem descriptor (mem/codewrite.c) */
    CHOOK_RANK_POINT_WAIT = 45,    /* hook point grace periods (point/point_attach.c) */
    CHOOK_RANK_HANDLES = 90,       /* handle table (core/handle.c) */
    CHOOK_RANK_TYPED = 95,         /* typed listeners (intercept/intercept_closure.c) */
    CHOOK_RANK_HEAP = 100,         /* chook's heap (base/alloc.c): innermost */
};

#endif /* CHOOK_LOCKRANK_H */
