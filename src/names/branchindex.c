/*
 * The per-module index of direct branch targets: which instruction, anywhere in
 * a module, jumps to an address. A hook overwrites the first bytes of a function;
 * a branch from another function into the middle of them (glibc's mempcpy ends
 * with a jump to memmove+3) would land inside the written jump. The scan of the
 * hooked function alone cannot see it: this index can.
 *
 * Built once per module, on the first hook or probe of an address in it, by a
 * linear sweep (Zydis) over its executable segments, started again at every
 * function symbol so that data or padding between functions cannot put the
 * sweep out of step for long. Bytes chook itself has patched are read as they
 * were (the sites' saved originals). It keeps, sorted by target, every direct
 * branch whose target is not the start of a function symbol (those are entries:
 * a hook's patch never starts strictly after one, and never covers another), as
 * 32-bit offsets from the module's lowest address: 8 bytes per branch.
 *
 * Lifetime: the index belongs to the module record and is freed with it; a module
 * unloaded by dlclose leaves the list at the next refresh, so a library loaded
 * later at the same place gets a new record and a new index. Everything here
 * runs under the commit lock (site.c's callers), which also serialises builds.
 */
#include <elf.h>
#include <link.h>

#include "codepage.h"
#include "hook.h"
#include "symbols.h"

#define WINDOW (1u << 20)  /* bytes of code read at once */
#define MARGIN 16u         /* read past a window: an instruction may straddle it */

struct chook__branch_index {
    uint64_t *e;     /* (target offset << 32) | source offset, sorted */
    size_t n, cap;
    uintptr_t lo;    /* offsets are from here (the module's lowest address) */
    uint64_t build_ns;
    size_t insn_bytes; /* bytes swept */
};

void chook__branch_index_free(struct chook__branch_index *ix)
{
    if (!ix) return;
    chook__free(ix->e, ix->cap * sizeof *ix->e);
    chook__free(ix, sizeof *ix);
}

/* ---- building ------------------------------------------------------------------ */

struct builder {
    struct chook__branch_index *ix;
    const uintptr_t *starts; /* function symbol starts, sorted */
    size_t nstarts;
    uintptr_t seg_lo[8], seg_hi[8]; /* executable segments */
    unsigned nseg;
    int oom;
};

static int is_start(const struct builder *b, uintptr_t a)
{
    size_t lo = 0, hi = b->nstarts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->starts[mid] < a) lo = mid + 1;
        else hi = mid;
    }
    return lo < b->nstarts && b->starts[lo] == a;
}

static void on_branch(void *data, uintptr_t from, uintptr_t to, int is_call)
{
    struct builder *b = data;
    struct chook__branch_index *ix = b->ix;
    (void)is_call;
    int in_code = 0;
    for (unsigned i = 0; i < b->nseg && !in_code; i++)
        in_code = to >= b->seg_lo[i] && to < b->seg_hi[i];
    if (!in_code || b->oom || is_start(b, to)) return;
    if (ix->n == ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 4096;
        uint64_t *e = chook__alloc(cap * sizeof *e);
        if (!e) {
            b->oom = 1;
            return;
        }
        if (ix->n) chook__memcpy(e, ix->e, ix->n * sizeof *e);
        chook__free(ix->e, ix->cap * sizeof *e);
        ix->e = e;
        ix->cap = cap;
    }
    ix->e[ix->n++] = ((uint64_t)(to - ix->lo) << 32) | (uint32_t)(from - ix->lo);
}

/* Stable radix sort on the upper 32 bits (the target), 16 bits per pass. */
static int sort_by_target(struct chook__branch_index *ix)
{
    if (ix->n < 2) return CHOOK_OK;
    uint64_t *tmp = chook__alloc(ix->n * sizeof *tmp);
    size_t *count = chook__alloc(65537 * sizeof *count);
    if (!tmp || !count) {
        if (tmp) chook__free(tmp, ix->n * sizeof *tmp);
        if (count) chook__free(count, 65537 * sizeof *count);
        return CHOOK_ENOMEM;
    }
    uint64_t *src = ix->e, *dst = tmp;
    for (unsigned shift = 32; shift < 64; shift += 16) {
        chook__memset(count, 0, 65537 * sizeof *count);
        for (size_t i = 0; i < ix->n; i++) count[((src[i] >> shift) & 0xffff) + 1]++;
        for (size_t d = 0; d < 65536; d++) count[d + 1] += count[d];
        for (size_t i = 0; i < ix->n; i++) dst[count[(src[i] >> shift) & 0xffff]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    /* Two passes: the sorted data is back in ix->e. */
    chook__free(tmp, ix->n * sizeof *tmp);
    chook__free(count, 65537 * sizeof *count);
    return CHOOK_OK;
}

/* Sweeps [lo, hi), one window at a time, starting again at every symbol start. */
static void sweep_segment(struct builder *b, uintptr_t lo, uintptr_t hi, uint8_t *buf)
{
    uintptr_t p = lo;
    size_t k = 0;
    while (k < b->nstarts && b->starts[k] <= p) k++;
    while (p < hi) {
        uintptr_t wend = hi - p > WINDOW ? p + WINDOW : hi;
        size_t want = (size_t)((hi - wend > MARGIN ? wend + MARGIN : hi) - p);
        long n = chook__code_read(p, buf, want);
        if (n <= 0) return; /* a hole: nothing more can be read */
        chook__sites_overlay_original(p, buf, (size_t)n);
        uintptr_t wlo = p, bufend = p + (size_t)n;
        while (p < wend && p < bufend) {
            while (k < b->nstarts && b->starts[k] <= p) k++;
            uintptr_t rend = k < b->nstarts && b->starts[k] < hi ? b->starts[k] : hi;
            uintptr_t avail_end = rend < bufend ? rend : bufend;
            uintptr_t until_end = rend < wend ? rend : wend;
            chook_arch_code code = { .bytes = buf + (p - wlo), .avail = avail_end - p, .pc = p };
            p += chook_arch_sweep_branches(&code, until_end - p, on_branch, b);
        }
        b->ix->insn_bytes += (size_t)(p - wlo);
    }
}

static int build(chook__module *m, struct chook__branch_index **out)
{
    struct builder b = { 0 };
    uintptr_t *starts = NULL;
    size_t starts_cap = 0;
    int st = CHOOK_OK;

    b.ix = chook__alloc(sizeof *b.ix);
    if (!b.ix) return chook__fail(CHOOK_ENOMEM, "out of memory for the branch index of %s",
                                  m->path);
    b.ix->lo = m->lo;
    const ElfW(Phdr) *ph = m->phdr;
    for (unsigned i = 0; ph && i < m->phnum && b.nseg < 8; i++) {
        if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_X) || !ph[i].p_filesz) continue;
        uintptr_t lo = m->base + ph[i].p_vaddr, hi = lo + ph[i].p_filesz;
        /* Offsets are 32-bit: code beyond 4 GiB of the module's start is not indexed. */
        if (lo < m->lo || lo - m->lo >= UINT32_MAX) continue;
        if (hi - m->lo > UINT32_MAX) hi = m->lo + UINT32_MAX;
        b.seg_lo[b.nseg] = lo;
        b.seg_hi[b.nseg++] = hi;
    }
    /* Without symbols the sweep still runs, from each segment's start only. The
     * symbols are parsed (and cached) for lookups anyway: the build time counts
     * from here. */
    int parsed = chook__module_parse(m) == CHOOK_OK;
    uint64_t t0 = chook__now_ns();
    if (parsed && m->tab.n_by_addr) {
        starts_cap = m->tab.n_by_addr;
        starts = chook__alloc(starts_cap * sizeof *starts);
        if (!starts) st = CHOOK_ENOMEM;
        for (size_t i = 0; starts && i < m->tab.n_by_addr; i++)
            starts[b.nstarts++] = m->base + m->tab.syms[m->tab.by_addr[i]].value;
        b.starts = starts;
    }
    uint8_t *buf = st == CHOOK_OK ? chook__alloc(WINDOW + MARGIN) : NULL;
    if (st == CHOOK_OK && !buf) st = CHOOK_ENOMEM;
    for (unsigned i = 0; st == CHOOK_OK && i < b.nseg; i++)
        sweep_segment(&b, b.seg_lo[i], b.seg_hi[i], buf);
    if (st == CHOOK_OK && b.oom) st = CHOOK_ENOMEM;
    if (st == CHOOK_OK) st = sort_by_target(b.ix);
    if (buf) chook__free(buf, WINDOW + MARGIN);
    if (starts) chook__free(starts, starts_cap * sizeof *starts);
    if (st != CHOOK_OK) {
        chook__branch_index_free(b.ix);
        return chook__fail(st, "out of memory for the branch index of %s", m->path);
    }
    b.ix->build_ns = chook__now_ns() - t0;
    *out = b.ix;
    return CHOOK_OK;
}

/* The module's index, built on first use. */
static int index_of(chook__module *m, struct chook__branch_index **out)
{
    struct chook__branch_index *ix = __atomic_load_n(&m->branches, __ATOMIC_ACQUIRE);
    if (!ix) {
        CHOOK_CHECK(build(m, &ix));
        __atomic_store_n(&m->branches, ix, __ATOMIC_RELEASE);
    }
    *out = ix;
    return CHOOK_OK;
}

/* ---- queries --------------------------------------------------------------------- */

int chook__branch_index_find(uintptr_t lo, uintptr_t hi, uintptr_t *from, uintptr_t *to)
{
    chook__saved_error saved;
    chook__error_save(&saved);
    chook__module *m = chook__module_at(lo);
    if (!m) {
        chook__error_restore(&saved);
        return 0;
    }
    struct chook__branch_index *ix;
    int st = index_of(m, &ix);
    if (st != CHOOK_OK) {
        chook__module_unref(m);
        return st;
    }
    int found = 0;
    if (lo >= ix->lo && hi - ix->lo <= UINT32_MAX) {
        uint64_t lo_off = lo - ix->lo, hi_off = hi - ix->lo;
        uint64_t key = (lo_off + 1) << 32;
        size_t a = 0, b = ix->n;
        while (a < b) {
            size_t mid = a + (b - a) / 2;
            if (ix->e[mid] < key) a = mid + 1;
            else b = mid;
        }
        for (; a < ix->n && (ix->e[a] >> 32) < hi_off; a++) {
            uint64_t f = ix->e[a] & 0xffffffffu;
            /* The patched instructions' own branches are relocated with them. */
            if (f >= lo_off && f < hi_off) continue;
            *from = ix->lo + (uintptr_t)f;
            *to = ix->lo + (uintptr_t)(ix->e[a] >> 32);
            found = 1;
            break;
        }
    }
    chook__module_unref(m);
    chook__error_restore(&saved);
    return found;
}

int chook__branch_index_stats(uintptr_t addr, size_t *branches, size_t *bytes,
                              uint64_t *build_ns)
{
    chook__module *m = chook__module_at(addr);
    if (!m) return chook__fail(CHOOK_ENOMODULE, "no module maps 0x%lx", (unsigned long)addr);
    struct chook__branch_index *ix;
    int st = index_of(m, &ix);
    if (st == CHOOK_OK) {
        *branches = ix->n;
        *bytes = ix->insn_bytes;
        *build_ns = ix->build_ns;
    }
    chook__module_unref(m);
    return st;
}

/* Appends s at out[*pos] (NUL-terminated, cut at len). No libc: the user may
 * have hooked snprintf, and this runs inside chook's calls. */
static void put_str(char *out, size_t len, size_t *pos, const char *s)
{
    while (*s && *pos + 1 < len) out[(*pos)++] = *s++;
    out[*pos < len ? *pos : len - 1] = 0;
}

static void put_hex(char *out, size_t len, size_t *pos, uintptr_t v)
{
    char digits[2 + 2 * sizeof v + 1], *p = digits + sizeof digits - 1;
    *p = 0;
    do {
        *--p = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    *--p = 'x';
    *--p = '0';
    put_str(out, len, pos, p);
}

void chook__describe_code(uintptr_t addr, char *out, size_t len)
{
    if (!out || !len) return;
    chook__saved_error saved;
    chook__error_save(&saved);
    chook__module *m = chook__module_at(addr);
    size_t pos = 0;
    out[0] = 0;
    if (m && chook__module_parse(m) == CHOOK_OK) {
        long k = chook__symtab_at(&m->tab, addr - m->base);
        if (k >= 0) {
            const chook__sym *s = &m->tab.syms[m->tab.by_addr[k]];
            uintptr_t a = m->base + s->value;
            /* Inside its size, or past a symbol of unknown size up to the next one. */
            int inside = s->size ? addr < a + s->size
                                 : ((size_t)k + 1 == m->tab.n_by_addr ||
                                    addr < m->base + m->tab.syms[m->tab.by_addr[k + 1]].value);
            if (inside) {
                put_str(out, len, &pos, m->tab.strings + s->name);
                put_str(out, len, &pos, "+");
                put_hex(out, len, &pos, addr - a);
                put_str(out, len, &pos, " in ");
                put_str(out, len, &pos, m->basename);
            }
        }
    }
    if (!pos) {
        if (m) {
            put_str(out, len, &pos, m->basename);
            put_str(out, len, &pos, "+");
            put_hex(out, len, &pos, addr - m->base);
        } else {
            put_hex(out, len, &pos, addr);
        }
    }
    chook__module_unref(m);
    chook__error_restore(&saved);
}
