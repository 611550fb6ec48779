/*
 * chook's own heap for its internal structures: power-of-two size classes carved
 * from 64 KiB anonymous mappings, with free lists. It never calls malloc, so a
 * user's malloc hook can neither recurse into chook nor deadlock a commit.
 * Blocks larger than a page are mapped and unmapped directly.
 */
#include <sys/mman.h>

#include "internal.h"
#include "lockrank.h"

#define ALLOC_MIN_SHIFT 4   /* 16 bytes */
#define ALLOC_MAX_SHIFT 12  /* 4 KiB */
#define ALLOC_CHUNK (64u * 1024u)

struct free_block { struct free_block *next; };

static struct {
    chook__mutex lock;
    struct free_block *free[ALLOC_MAX_SHIFT + 1];
    unsigned char *bump, *bump_end;
} heap;

static unsigned size_class(size_t size)
{
    unsigned shift = ALLOC_MIN_SHIFT;
    while (((size_t)1 << shift) < size) shift++;
    return shift;
}

static void *map_zeroed(size_t len)
{
    /* Populated at once: one system call instead of a page fault per page as the
     * heap is carved (chunks are small, and all of a chunk gets used). */
    void *p = chook__sys_mmap(NULL, len, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    return CHOOK_MMAP_FAILED(p) ? NULL : p;
}

void *chook__alloc(size_t size)
{
    if (size == 0) size = 1;
    if (size > ((size_t)1 << ALLOC_MAX_SHIFT))
        return map_zeroed(CHOOK_ALIGN_UP(size, chook__page_size()));

    unsigned cls = size_class(size);
    size_t bytes = (size_t)1 << cls;
    void *p = NULL;

    chook__mutex_lock(&heap.lock);
    if (heap.free[cls]) {
        struct free_block *b = heap.free[cls];
        heap.free[cls] = b->next;
        p = b;
    } else {
        /* Blocks are aligned to their size class (chunks are page-aligned and
         * classes are carved in place), at least 16. */
        if (heap.bump)
            heap.bump = (unsigned char *)CHOOK_ALIGN_UP((uintptr_t)heap.bump,
                                                        bytes < 4096 ? bytes : 4096);
        if (!heap.bump || heap.bump >= heap.bump_end ||
            (size_t)(heap.bump_end - heap.bump) < bytes) {
            unsigned char *chunk = map_zeroed(ALLOC_CHUNK);
            if (!chunk) {
                chook__mutex_unlock(&heap.lock);
                return NULL;
            }
            heap.bump = chunk;
            heap.bump_end = chunk + ALLOC_CHUNK;
        }
        p = heap.bump;
        heap.bump += bytes;
        chook__mutex_unlock(&heap.lock);
        return p; /* fresh memory from mmap is zero */
    }
    chook__mutex_unlock(&heap.lock);
    chook__memset(p, 0, bytes);
    return p;
}

void chook__free(void *p, size_t size)
{
    if (!p) return;
    if (size == 0) size = 1;
    if (size > ((size_t)1 << ALLOC_MAX_SHIFT)) {
        chook__sys_munmap(p, CHOOK_ALIGN_UP(size, chook__page_size()));
        return;
    }
    unsigned cls = size_class(size);
    struct free_block *b = p;
    chook__mutex_lock(&heap.lock);
    b->next = heap.free[cls];
    heap.free[cls] = b;
    chook__mutex_unlock(&heap.lock);
}

/* fork() must not split this lock (see chook__fork_guard). */
__attribute__((constructor)) static void alloc_fork_guard(void)
{
    chook__fork_guard(&heap.lock, CHOOK_RANK_HEAP);
}
