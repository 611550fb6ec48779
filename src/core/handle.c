/*
 * The handle table (see handle.h for the encoding and the rules).
 *
 * An entry is two words: `word` = generation << 8 | kind (kind 0 while the entry
 * is free) and `obj`, the object (while free: the next free index + 1). Releasing
 * an entry advances its generation, so every handle made before is stale; a
 * released entry is reused by the next handle of any kind, with the new
 * generation.
 */
#include "handle.h"
#include "stop.h"
#include "lockrank.h"

#define CHUNK_SHIFT 12u
#define CHUNK_LEN (1u << CHUNK_SHIFT)       /* entries per chunk (64 KiB) */
#define CHUNKS 4096u                        /* at most 16 Mi handles alive */
#define INDEX_BITS 28u
#define KIND_BITS 4u

struct entry {
    uint64_t word;
    uintptr_t obj;
};

static struct entry *chunks[CHUNKS];
static chook__mutex table_lock;
static uint32_t used;       /* entries ever handed out: [0, used) exist */
static uint32_t free_head;  /* first free entry + 1, 0 when none */

static inline struct entry *entry_at(uint32_t index)
{
    struct entry *c = __atomic_load_n(&chunks[index >> CHUNK_SHIFT], __ATOMIC_ACQUIRE);
    return c ? &c[index & (CHUNK_LEN - 1)] : NULL;
}

uintptr_t chook__handle_new(enum chook__handle_kind kind, void *obj)
{
    chook__mutex_lock(&table_lock);
    uint32_t index;
    if (free_head) {
        index = free_head - 1;
        free_head = (uint32_t)entry_at(index)->obj;
    } else {
        if (used >= CHUNKS * CHUNK_LEN) {
            chook__mutex_unlock(&table_lock);
            return 0;
        }
        index = used;
        if (!chunks[index >> CHUNK_SHIFT]) {
            struct entry *c = chook__alloc(CHUNK_LEN * sizeof *c);
            if (!c) {
                chook__mutex_unlock(&table_lock);
                return 0;
            }
            __atomic_store_n(&chunks[index >> CHUNK_SHIFT], c, __ATOMIC_RELEASE);
        }
        used++;
    }
    struct entry *e = entry_at(index);
    uint32_t gen = (uint32_t)(e->word >> 8);
    if (!gen) gen = 1;
    __atomic_store_n(&e->obj, (uintptr_t)obj, __ATOMIC_RELAXED);
    __atomic_store_n(&e->word, (uint64_t)gen << 8 | (unsigned)kind, __ATOMIC_RELEASE);
    chook__mutex_unlock(&table_lock);
    return (uintptr_t)gen << 32 | (uintptr_t)index << KIND_BITS | (unsigned)kind;
}

void chook__handle_release(uintptr_t h)
{
    uint32_t index = (uint32_t)(h >> KIND_BITS) & ((1u << INDEX_BITS) - 1);
    chook__mutex_lock(&table_lock);
    struct entry *e = index < used ? entry_at(index) : NULL;
    if (e && (uint32_t)(e->word >> 8) == (uint32_t)(h >> 32) && (e->word & 0xff)) {
        uint32_t gen = (uint32_t)(e->word >> 8) + 1;
        if (!gen) gen = 1;
        __atomic_store_n(&e->word, (uint64_t)gen << 8, __ATOMIC_RELEASE);
        __atomic_store_n(&e->obj, (uintptr_t)free_head, __ATOMIC_RELAXED);
        free_head = index + 1;
    }
    chook__mutex_unlock(&table_lock);
}

/* 1 valid (with *obj), 0 garbage, -1 stale. Never dereferences h. */
static int lookup(uintptr_t h, enum chook__handle_kind kind, void **obj)
{
    uint32_t gen = (uint32_t)(h >> 32);
    uint32_t index = (uint32_t)(h >> KIND_BITS) & ((1u << INDEX_BITS) - 1);
    if ((h & ((1u << KIND_BITS) - 1)) != (unsigned)kind || !gen ||
        index >= __atomic_load_n(&used, __ATOMIC_ACQUIRE))
        return 0;
    const struct entry *e = entry_at(index);
    if (!e) return 0;
    uint64_t w = __atomic_load_n(&e->word, __ATOMIC_ACQUIRE);
    uint32_t egen = (uint32_t)(w >> 8);
    if (egen == gen && (w & 0xff) == (unsigned)kind) {
        uintptr_t o = __atomic_load_n(&e->obj, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&e->word, __ATOMIC_RELAXED) != w) return -1; /* released meanwhile */
        *obj = (void *)o;
        return 1;
    }
    /* Generations only grow: an older one was handed out and released since. */
    return (int32_t)(gen - egen) < 0 ? -1 : 0;
}

void *chook__handle_peek(uintptr_t h, enum chook__handle_kind kind)
{
    void *obj = NULL;
    return lookup(h, kind, &obj) == 1 ? obj : NULL;
}

int chook__handle_current(uintptr_t h)
{
    void *obj;
    return lookup(h, (enum chook__handle_kind)(h & ((1u << KIND_BITS) - 1)), &obj) == 1;
}

int chook__handle_get(uintptr_t h, enum chook__handle_kind kind, const char *what, void **obj)
{
    if (!h) return chook__fail(CHOOK_EINVAL, "%s handle is NULL", what);
    int r = lookup(h, kind, obj);
    if (r == 1) return CHOOK_OK;
    if (r < 0)
        return chook__fail(CHOOK_ENOTHOOKED, "%s handle %p is stale: its %s was removed "
                                             "already", what, (void *)h, what);
    return chook__fail(CHOOK_EINVAL, "%p is not a valid %s handle (chook never gave out "
                                     "that value as one)", (void *)h, what);
}

/* fork() must not split the table (see chook__fork_guard): it is taken inside
 * every other lock of chook but the heap's. */
__attribute__((constructor)) static void handle_fork_guard(void)
{
    chook__fork_guard(&table_lock, CHOOK_RANK_HANDLES);
}
