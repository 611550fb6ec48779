/*
 * Reading /proc/self/maps with raw system calls and a fixed buffer: used to check
 * that a target is mapped and executable before reading it, and to find free
 * address space near targets.
 */
#include <fcntl.h>
#include <sys/mman.h>

#include "codepage.h"
#include "internal.h"
#include "lockrank.h"

static uintptr_t parse_hex(const char **p)
{
    uintptr_t v = 0;
    for (;;) {
        char c = **p;
        unsigned d;
        if (c >= '0' && c <= '9') d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') d = (unsigned)(c - 'a' + 10);
        else break;
        v = (v << 4) | d;
        (*p)++;
    }
    return v;
}

/* Parses one line "start-end perms offset dev inode path". */
static int parse_line(const char *line, const char *end, chook__region *r)
{
    const char *p = line;
    r->start = parse_hex(&p);
    if (*p++ != '-') return 0;
    r->end = parse_hex(&p);
    if (*p++ != ' ' || end - p < 4) return 0;
    for (int i = 0; i < 4; i++) r->perms[i] = p[i];
    r->perms[4] = 0;
    r->prot = (p[0] == 'r' ? PROT_READ : 0) | (p[1] == 'w' ? PROT_WRITE : 0) |
              (p[2] == 'x' ? PROT_EXEC : 0);
    p += 4;
    /* Skip offset, dev, inode: three fields. */
    for (int field = 0; field < 3; field++) {
        while (p < end && *p == ' ') p++;
        while (p < end && *p != ' ') p++;
    }
    while (p < end && *p == ' ') p++;
    size_t n = (size_t)(end - p);
    if (n >= sizeof r->path) n = sizeof r->path - 1;
    chook__memcpy(r->path, p, n);
    r->path[n] = 0;
    return 1;
}

int chook__maps_each(int (*fn)(const chook__region *r, void *ctx), void *ctx)
{
    enum { BUF = 16384 };
    char *buf = chook__alloc(BUF);
    if (!buf) return chook__fail(CHOOK_ENOMEM, "out of memory reading /proc/self/maps");
    long fd = chook__sys_open("/proc/self/maps", O_RDONLY);
    if (fd < 0) {
        chook__free(buf, BUF);
        return chook__fail(CHOOK_ENOSYS, "cannot open /proc/self/maps (errno %ld)", -fd);
    }
    size_t have = 0;
    int result = 0;
    for (;;) {
        long n = chook__sys_read((int)fd, buf + have, BUF - have);
        if (n < 0) {
            result = chook__fail(CHOOK_ENOSYS, "cannot read /proc/self/maps (errno %ld)", -n);
            break;
        }
        have += (size_t)n;
        size_t pos = 0;
        for (;;) {
            size_t eol = pos;
            while (eol < have && buf[eol] != '\n') eol++;
            if (eol == have && n != 0) break; /* partial line: read more */
            if (eol > pos) {
                chook__region r;
                if (parse_line(buf + pos, buf + eol, &r) && (result = fn(&r, ctx)) != 0)
                    goto done;
            }
            pos = eol + 1;
            if (pos >= have) break;
        }
        if (pos > have) pos = have;
        /* Keep the partial line at the start of the buffer. */
        chook__memcpy(buf, buf + pos, have - pos);
        have -= pos;
        if (n == 0) break;
        if (have == BUF) have = 0; /* a line longer than the buffer: drop it */
    }
done:
    chook__sys_close((int)fd);
    chook__free(buf, BUF);
    return result;
}

struct find_ctx { uintptr_t addr; chook__region *out; };

static int find_cb(const chook__region *r, void *ctx)
{
    struct find_ctx *f = ctx;
    if (f->addr >= r->start && f->addr < r->end) {
        *f->out = *r;
        return 1;
    }
    return r->start > f->addr ? 2 : 0;
}

int chook__maps_find(uintptr_t addr, chook__region *out)
{
    /* Defined on every path, found or not (callers pass fresh locals). */
    chook__memset(out, 0, sizeof *out);
    struct find_ctx f = { addr, out };
    int r = chook__maps_each(find_cb, &f);
    if (r < 0) return r;
    if (r == 1) return CHOOK_OK;
    return chook__fail(CHOOK_EUNMAPPED, "address 0x%lx is not mapped", (unsigned long)addr);
}

/*
 * A snapshot of the mappings, for checks done once per hook: reading
 * /proc/self/maps costs tens of microseconds, too much for a transaction of
 * thousands of hooks. The snapshot is taken again when it is older than
 * SNAPSHOT_NS (the clock is looked at every 16th lookup) or does not hold the
 * address. A stale answer cannot crash anything:
 * code is then read and written through /proc/self/mem, which fails cleanly on an
 * unmapped address.
 */
#define SNAPSHOT_NS (50u * 1000u * 1000u)

static struct {
    chook__mutex lock;
    chook__region *regions;
    size_t count, cap;
    uint64_t taken_ns;
    uint64_t now_ns;   /* the clock at the last look */
    unsigned lookups;  /* the clock is a system call: looked at every 16th lookup */
} snap;

static int snap_add(const chook__region *r, void *ctx)
{
    (void)ctx;
    if (snap.count == snap.cap) {
        size_t cap = snap.cap ? snap.cap * 2 : 256;
        chook__region *n = chook__alloc(cap * sizeof *n);
        if (!n) return -1;
        if (snap.count) chook__memcpy(n, snap.regions, snap.count * sizeof *n);
        chook__free(snap.regions, snap.cap * sizeof *n);
        snap.regions = n;
        snap.cap = cap;
    }
    snap.regions[snap.count++] = *r;
    return 0;
}

static int snap_lookup(uintptr_t addr, chook__region *out)
{
    size_t lo = 0, hi = snap.count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const chook__region *r = &snap.regions[mid];
        if (addr < r->start) hi = mid;
        else if (addr >= r->end) lo = mid + 1;
        else {
            *out = *r;
            return 1;
        }
    }
    return 0;
}

int chook__maps_find_cached(uintptr_t addr, chook__region *out)
{
    chook__mutex_lock(&snap.lock);
    if (snap.lookups++ % 16 == 0) snap.now_ns = chook__now_ns();
    uint64_t now = snap.now_ns;
    int found = snap.count && now - snap.taken_ns < SNAPSHOT_NS && snap_lookup(addr, out);
    if (!found) {
        snap.count = 0;
        int r = chook__maps_each(snap_add, NULL);
        snap.taken_ns = snap.now_ns = now = chook__now_ns();
        /* Cached code is trusted no longer than the snapshot (codepage.h). */
        chook__code_cache_drop();
        if (r < 0) snap.count = 0;
        found = snap_lookup(addr, out);
    }
    chook__mutex_unlock(&snap.lock);
    if (!found)
        return chook__fail(CHOOK_EUNMAPPED, "address 0x%lx is not mapped", (unsigned long)addr);
    return CHOOK_OK;
}

void chook__maps_invalidate(void)
{
    chook__mutex_lock(&snap.lock);
    snap.taken_ns = 0;
    snap.count = 0;
    chook__mutex_unlock(&snap.lock);
    /* Mappings changed: cached code may belong to what was unmapped. */
    chook__code_cache_drop();
}

/* fork() must not split this lock (see chook__fork_guard). */
__attribute__((constructor)) static void maps_fork_guard(void)
{
    chook__fork_guard(&snap.lock, CHOOK_RANK_MAPS);
}
