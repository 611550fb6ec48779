/*
 * Code I/O of a commit, batched: every read or write through /proc/self/mem
 * costs the kernel a page-table walk, so a transaction of thousands of hooks
 * reads and writes once per page (or per run of adjacent blocks) rather than
 * once per site. Everything here runs under the commit lock.
 */
#include "codepage.h"
#include "hook.h"

/* Sites are grouped by page (the kernel's, chook__page_size()) and by at most
 * BATCH bytes, the size of the buffers on the stack. */
#define BATCH 4096u
#define RUN_MAX (64u * 1024u) /* longest single write of adjacent blocks */

typedef uintptr_t (*site_key)(const struct site *s);

static uintptr_t key_patch(const struct site *s) { return s->patch_at; }

/* Heap sort: no libc (qsort may be hooked), no recursion, no extra memory. */
static void sift(struct site **v, size_t root, size_t n, site_key key)
{
    for (;;) {
        size_t big = root, l = 2 * root + 1, r = l + 1;
        if (l < n && key(v[l]) > key(v[big])) big = l;
        if (r < n && key(v[r]) > key(v[big])) big = r;
        if (big == root) return;
        struct site *t = v[root];
        v[root] = v[big];
        v[big] = t;
        root = big;
    }
}

static void sort_sites(struct site **v, size_t n, site_key key)
{
    /* Already sorted is the common case (targets queued in address order). */
    size_t i = 1;
    while (i < n && key(v[i - 1]) <= key(v[i])) i++;
    if (i >= n) return;
    for (i = n / 2; i > 0; i--) sift(v, i - 1, n, key);
    for (i = n; i > 1; i--) {
        struct site *t = v[0];
        v[0] = v[i - 1];
        v[i - 1] = t;
        sift(v, 0, i - 1, key);
    }
}

void chook__sites_sort_by_patch(struct site **v, size_t n)
{
    sort_sites(v, n, key_patch);
}

/* A block to write, with its address beside it: sorting thousands of blocks by
 * an address read through each site pointer would miss the cache on every
 * comparison. */
struct pending {
    uintptr_t code;
    struct site *site;
};

static void sift_pending(struct pending *v, size_t root, size_t n)
{
    for (;;) {
        size_t big = root, l = 2 * root + 1, r = l + 1;
        if (l < n && v[l].code > v[big].code) big = l;
        if (r < n && v[r].code > v[big].code) big = r;
        if (big == root) return;
        struct pending t = v[root];
        v[root] = v[big];
        v[big] = t;
        root = big;
    }
}

static void sort_pending(struct pending *v, size_t n)
{
    size_t i = 1;
    while (i < n && v[i - 1].code <= v[i].code) i++;
    if (i >= n) return;
    for (i = n / 2; i > 0; i--) sift_pending(v, i - 1, n);
    for (i = n; i > 1; i--) {
        struct pending t = v[0];
        v[0] = v[i - 1];
        v[i - 1] = t;
        sift_pending(v, 0, i - 1);
    }
}

int chook__sites_write_blocks(struct site **v, size_t n)
{
    size_t m = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!v[i]->block) continue;
        m++;
        total += v[i]->code_size;
    }
    if (!m) return CHOOK_OK;
    /* A single install writes one small block: no heap for it (chook's heap
     * maps and unmaps large buffers). */
    struct pending one[1];
    uint8_t small[512];
    size_t cap = total < RUN_MAX ? total : RUN_MAX;
    struct pending *p = m == 1 ? one : chook__alloc(m * sizeof *p);
    uint8_t *buf = !p ? NULL : cap <= sizeof small ? small : chook__alloc(cap);
    int st = buf ? CHOOK_OK : chook__fail(CHOOK_ENOMEM, "out of memory writing trampolines");
    size_t k = 0;
    for (size_t i = 0; p && i < n; i++)
        if (v[i]->block) p[k++] = (struct pending){ v[i]->code, v[i] };
    if (st == CHOOK_OK) sort_pending(p, m);
    for (size_t i = 0, j; st == CHOOK_OK && i < m; i = j) {
        /* One run: blocks that follow each other in memory. */
        uintptr_t start = p[i].code;
        size_t len = 0;
        for (j = i; j < m && p[j].code == start + len && len + p[j].site->code_size <= cap;
             j++) {
            chook__memcpy(buf + len, p[j].site->block, p[j].site->code_size);
            len += p[j].site->code_size;
        }
        if (j == i) { /* a block longer than a run: cannot happen, blocks are small */
            st = chook__fail(CHOOK_EINTERNAL, "target 0x%lx: block of %zu bytes",
                             (unsigned long)p[i].site->target, p[i].site->code_size);
            break;
        }
        st = chook__code_write(start, buf, len);
        if (st != CHOOK_OK) {
            st = chook__fail_context(st, "target 0x%lx: ", (unsigned long)p[i].site->target);
            break;
        }
        for (size_t w = i; w < j; w++) chook__site_drop_block(p[w].site);
    }
    if (buf && buf != small) chook__free(buf, cap);
    if (p && p != one) chook__free(p, m * sizeof *p);
    return st;
}

/* The sites from v[i] on whose patches lie in the page of v[i]'s first byte and
 * within BATCH bytes of it: returns the index after the last one (at least i + 1). */
static size_t group_end(struct site *const *v, size_t i, size_t n)
{
    size_t ps = chook__page_size();
    uintptr_t limit = CHOOK_ALIGN_DOWN(v[i]->patch_at, ps) + ps;
    if (limit - v[i]->patch_at > BATCH) limit = v[i]->patch_at + BATCH;
    size_t j = i + 1;
    while (j < n && v[j]->patch_at >= v[j - 1]->patch_at + v[j - 1]->plan.patch_len &&
           v[j]->patch_at + v[j]->plan.patch_len <= limit)
        j++;
    return j;
}

size_t chook__sites_check(struct site *const *v, size_t n,
                          const uint8_t *(*expect)(const struct site *))
{
    uint8_t buf[BATCH];
    for (size_t i = 0, j; i < n; i = j) {
        j = group_end(v, i, n);
        uintptr_t start = v[i]->patch_at;
        size_t len = v[j - 1]->patch_at + v[j - 1]->plan.patch_len - start;
        long got = chook__code_read_raw(start, buf, len);
        for (size_t k = i; k < j; k++) {
            size_t off = v[k]->patch_at - start, pl = v[k]->plan.patch_len;
            if (got < (long)(off + pl) || chook__memcmp(buf + off, expect(v[k]), pl) != 0)
                return k;
        }
    }
    return n;
}

int chook__sites_write_patches(struct site *const *v, size_t n,
                               const uint8_t *(*old)(const struct site *),
                               const uint8_t *(*new_)(const struct site *), size_t *bad,
                               int *changed)
{
    uint8_t buf[BATCH], back[BATCH];
    *changed = 0;
    for (size_t i = 0, j; i < n; i = j) {
        j = group_end(v, i, n);
        uintptr_t start = v[i]->patch_at;
        size_t len = v[j - 1]->patch_at + v[j - 1]->plan.patch_len - start;
        if (j == i + 1) {
            /* Alone in its page: the patch itself, as checked before the stop. */
            chook__memcpy(buf, new_(v[i]), len);
        } else {
            /* The bytes between patches are read now, while nobody else runs, so
             * writing them back changes nothing; each site must still hold what
             * it held (a foreign patch since the check is not overwritten). */
            if (chook__code_read_raw(start, buf, len) != (long)len) {
                *bad = i;
                *changed = 1;
                return CHOOK_EPATCH;
            }
            for (size_t k = i; k < j; k++) {
                size_t off = v[k]->patch_at - start, pl = v[k]->plan.patch_len;
                if (chook__memcmp(buf + off, old(v[k]), pl) != 0) {
                    *bad = i;
                    *changed = 1;
                    return CHOOK_EPATCH;
                }
                chook__memcpy(buf + off, new_(v[k]), pl);
            }
        }
        if (chook__code_write_raw(start, buf, len) != 0 ||
            chook__code_read_raw(start, back, len) != (long)len ||
            chook__memcmp(back, buf, len) != 0) {
            /* Some of the group may be written: the caller restores all of it. */
            *bad = j - 1;
            return CHOOK_EPATCH;
        }
    }
    *bad = n;
    return CHOOK_OK;
}
