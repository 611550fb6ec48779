/*
 * Executable memory near targets, for trampolines and stubs.
 *
 * A 5-byte jmp rel32 reaches +-2 GiB, so a hook's stub must live that close to
 * its target. Memory comes in regions of 64 KiB of code (r-x, filled through
 * /proc/self/mem only) followed by 16 KiB of data (rw-, the slots that indirect
 * jumps read). A region is placed in the free gap of the address space nearest
 * to the first target that needs it and then serves every target within reach,
 * so many stubs share a page. No page is ever writable and executable at once:
 * a region is mapped rw- and its code part turned r-x before any code is in it.
 *
 * Code memory is never unmapped: a thread may still run a trampoline long after
 * its hook was removed. Freed blocks go to per-size free lists for reuse.
 */
#include <sys/mman.h>

#include "internal.h"
#include "lockrank.h"

#define REGION_CODE (64u * 1024u)
#define REGION_DATA (16u * 1024u)
#define REGION_SIZE (REGION_CODE + REGION_DATA)
#define REGION_ALIGN (64u * 1024u)
#define GRANULE 16u
#define FREE_CLASSES 64u /* blocks up to 64 * 16 = 1024 bytes are recycled */

struct code_free { uintptr_t addr; struct code_free *next; };
struct slot_free { struct slot_free *next; };

struct region {
    uintptr_t code, data;      /* starts of the two parts */
    uintptr_t code_bump, data_bump;
    struct code_free *free_code[FREE_CLASSES + 1];
    struct slot_free *free_slots;
    struct region *next;
};

static struct {
    chook__mutex lock;
    struct region *regions;
} pool;

static int within(uintptr_t a, uintptr_t b)
{
    uintptr_t d = a > b ? a - b : b - a;
    return d < CHOOK_ARCH_NEAR_REACH;
}

/* A region serves `near` when every byte of it is within reach. */
static int region_serves(const struct region *r, uintptr_t near)
{
    return near == 0 || (within(r->code, near) && within(r->code + REGION_SIZE, near));
}

struct gap_search {
    uintptr_t near, best;
    uintptr_t best_dist;
    uintptr_t prev_end;
};

static void consider(struct gap_search *s, uintptr_t cand, uintptr_t gap_lo, uintptr_t gap_hi)
{
    if (cand < gap_lo || cand + REGION_SIZE > gap_hi || cand < 0x10000) return;
    if (s->near && (!within(cand, s->near) || !within(cand + REGION_SIZE, s->near))) return;
    uintptr_t d = cand > s->near ? cand - s->near : s->near - cand;
    if (d < s->best_dist) {
        s->best_dist = d;
        s->best = cand;
    }
}

static int gap_cb(const chook__region *r, void *ctx)
{
    struct gap_search *s = ctx;
    uintptr_t lo = s->prev_end, hi = r->start;
    if (hi > lo) {
        /* Closest aligned spots at each end of the gap. */
        consider(s, CHOOK_ALIGN_DOWN(hi - REGION_SIZE, REGION_ALIGN), lo, hi);
        consider(s, CHOOK_ALIGN_UP(lo, REGION_ALIGN), lo, hi);
        if (s->near > lo && s->near < hi)
            consider(s, CHOOK_ALIGN_DOWN(s->near, REGION_ALIGN), lo, hi);
    }
    s->prev_end = r->end;
    return 0;
}

static struct region *region_new(uintptr_t near)
{
    void *at = NULL;
    for (int attempt = 0; attempt < 4; attempt++) {
        if (near) {
            struct gap_search s = { near, 0, (uintptr_t)-1, 0x10000 };
            if (chook__maps_each(gap_cb, &s) < 0) return NULL;
            if (!s.best) return NULL;
            at = chook__sys_mmap((void *)s.best, REGION_SIZE, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
            if (CHOOK_MMAP_FAILED(at)) continue; /* raced with another mapping: retry */
            if ((uintptr_t)at != s.best) { /* old kernel ignoring the flag */
                chook__sys_munmap(at, REGION_SIZE);
                continue;
            }
        } else {
            at = chook__sys_mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (CHOOK_MMAP_FAILED(at)) return NULL;
        }
        break;
    }
    if (!at || CHOOK_MMAP_FAILED(at)) return NULL;
    long rc = chook__sys_mprotect(at, REGION_CODE, PROT_READ | PROT_EXEC);
    struct region *r = rc == 0 ? chook__alloc(sizeof *r) : NULL;
    if (!r) {
        chook__sys_munmap(at, REGION_SIZE);
        return NULL;
    }
    r->code = r->code_bump = (uintptr_t)at;
    r->data = r->data_bump = (uintptr_t)at + REGION_CODE;
    r->next = pool.regions;
    pool.regions = r;
    return r;
}

static uintptr_t region_take_code(struct region *r, size_t size)
{
    size_t cls = size / GRANULE;
    if (cls <= FREE_CLASSES && r->free_code[cls]) {
        struct code_free *f = r->free_code[cls];
        r->free_code[cls] = f->next;
        uintptr_t a = f->addr;
        chook__free(f, sizeof *f);
        return a;
    }
    if (r->code + REGION_CODE - r->code_bump < size) return 0;
    uintptr_t a = r->code_bump;
    r->code_bump += size;
    return a;
}

/* Tests make the address space near one address look full, to exercise the
 * absolute-jump fallback (chook__nearmem_refuse_near). */
static uintptr_t refused_near;

void chook__nearmem_refuse_near(uintptr_t addr)
{
    __atomic_store_n(&refused_near, addr, __ATOMIC_RELAXED);
}

uintptr_t chook__code_alloc(uintptr_t near, size_t size)
{
    if (size == 0 || size > REGION_CODE) return 0;
    uintptr_t refused = __atomic_load_n(&refused_near, __ATOMIC_RELAXED);
    if (near && refused && within(near, refused)) return 0;
    size = CHOOK_ALIGN_UP(size, GRANULE);
    chook__mutex_lock(&pool.lock);
    uintptr_t a = 0;
    for (struct region *r = pool.regions; r && !a; r = r->next)
        if (region_serves(r, near)) a = region_take_code(r, size);
    if (!a) {
        struct region *r = region_new(near);
        if (r) a = region_take_code(r, size);
    }
    chook__mutex_unlock(&pool.lock);
    return a;
}

static struct region *region_of(uintptr_t addr)
{
    for (struct region *r = pool.regions; r; r = r->next)
        if (addr >= r->code && addr < r->code + REGION_SIZE) return r;
    return NULL;
}

void chook__code_free(uintptr_t addr, size_t size)
{
    if (!addr) return;
    size = CHOOK_ALIGN_UP(size, GRANULE);
    size_t cls = size / GRANULE;
    if (cls > FREE_CLASSES) return; /* large blocks are rare: keep them */
    struct code_free *f = chook__alloc(sizeof *f);
    if (!f) return;
    chook__mutex_lock(&pool.lock);
    struct region *r = region_of(addr);
    if (r) {
        f->addr = addr;
        f->next = r->free_code[cls];
        r->free_code[cls] = f;
        f = NULL;
    }
    chook__mutex_unlock(&pool.lock);
    if (f) chook__free(f, sizeof *f);
}

static uintptr_t *region_take_slot(struct region *r)
{
    if (r->free_slots) {
        struct slot_free *s = r->free_slots;
        r->free_slots = s->next;
        s->next = NULL;
        return (uintptr_t *)s;
    }
    if (r->data + REGION_DATA - r->data_bump < sizeof(uintptr_t)) return NULL;
    uintptr_t *slot = (uintptr_t *)r->data_bump;
    r->data_bump += sizeof(uintptr_t);
    return slot;
}

uintptr_t *chook__slot_alloc(uintptr_t near)
{
    chook__mutex_lock(&pool.lock);
    uintptr_t *slot = NULL;
    for (struct region *r = pool.regions; r && !slot; r = r->next)
        if (region_serves(r, near)) slot = region_take_slot(r);
    if (!slot) {
        struct region *r = region_new(near);
        if (r) slot = region_take_slot(r);
    }
    chook__mutex_unlock(&pool.lock);
    return slot;
}

void chook__slot_free(uintptr_t *slot)
{
    if (!slot) return;
    chook__mutex_lock(&pool.lock);
    struct region *r = region_of((uintptr_t)slot);
    if (r) {
        struct slot_free *s = (struct slot_free *)slot;
        s->next = r->free_slots;
        r->free_slots = s;
    }
    chook__mutex_unlock(&pool.lock);
}

/* fork() must not split this lock (see chook__fork_guard). */
__attribute__((constructor)) static void nearmem_fork_guard(void)
{
    chook__fork_guard(&pool.lock, CHOOK_RANK_NEARMEM);
}
