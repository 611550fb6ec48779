/*
 * Sites: checking a target, planning its patch, building its trampoline and entry
 * stub in executable memory near it. Everything here runs under the commit lock
 * and before any thread is parked, so it may format messages.
 */
#include <sys/mman.h>

#include "codepage.h"
#include "hook.h"

#define SCAN_UNKNOWN 4096u        /* bytes scanned for branches when the size is unknown */
#define SCAN_MAX (256u * 1024u)   /* longest function body scanned */
#define ENTRY_STUB 8u             /* bytes of the entry stub (slot jump + traps) */

/* Sites by target, and by the 64-byte cell of their target (the overlap check
 * looks for sites near an address; sites are never removed from either). */
#define CELL_SHIFT 6

static struct {
    struct site **buckets, **cells;
    size_t nbuckets, count;
} sites;

static size_t hash_addr(uintptr_t a, size_t n)
{
    uint64_t h = (uint64_t)a * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 32) & (n - 1);
}

struct site *chook__site_find(uintptr_t target)
{
    if (!sites.nbuckets) return NULL;
    for (struct site *s = sites.buckets[hash_addr(target, sites.nbuckets)]; s; s = s->hash_next)
        if (s->target == target) return s;
    return NULL;
}

static void link_site(struct site *e, struct site **b, struct site **c, size_t n)
{
    size_t k = hash_addr(e->target, n);
    e->hash_next = b[k];
    b[k] = e;
    k = hash_addr(e->target >> CELL_SHIFT, n);
    e->cell_next = c[k];
    c[k] = e;
}

static int sites_add(struct site *s)
{
    if (sites.count + 1 > sites.nbuckets) {
        size_t n = sites.nbuckets ? sites.nbuckets * 2 : 256;
        struct site **b = chook__alloc(n * sizeof *b);
        struct site **c = b ? chook__alloc(n * sizeof *c) : NULL;
        if (!c) {
            if (b) chook__free(b, n * sizeof *b);
            return CHOOK_ENOMEM;
        }
        for (size_t i = 0; i < sites.nbuckets; i++) {
            for (struct site *e = sites.buckets[i], *next; e; e = next) {
                next = e->hash_next;
                link_site(e, b, c, n);
            }
        }
        chook__free(sites.buckets, sites.nbuckets * sizeof *b);
        chook__free(sites.cells, sites.nbuckets * sizeof *c);
        sites.buckets = b;
        sites.cells = c;
        sites.nbuckets = n;
    }
    link_site(s, sites.buckets, sites.cells, sites.nbuckets);
    sites.count++;
    return CHOOK_OK;
}

int chook__check_code_address(uintptr_t addr, const char *what)
{
    chook__region r;
    /* The snapshot is trusted for good news only: a miss or a non-executable
     * mapping is read again, in case the snapshot predates a dlopen or mprotect. */
    if (chook__maps_find_cached(addr, &r) != CHOOK_OK || !(r.prot & PROT_EXEC)) {
        chook__maps_invalidate();
        if (chook__maps_find_cached(addr, &r) != CHOOK_OK) r.prot = -1;
    }
    if (r.prot == -1)
        return chook__fail(CHOOK_EUNMAPPED, "%s 0x%lx is not mapped", what, (unsigned long)addr);
    if (!(r.prot & PROT_EXEC))
        return chook__fail(CHOOK_ENOTEXEC, "%s 0x%lx is not executable (mapped %s%s%s)", what,
                           (unsigned long)addr, r.perms, r.path[0] ? " by " : "", r.path);
    return CHOOK_OK;
}

/* chook's own code, when chook is a shared library (libchook.so*): hooking it
 * would send chook's own calls (commits, the dispatcher's helpers) into the
 * replacement. A static chook is part of the program and is not told apart. */
static int check_not_chook(uintptr_t target)
{
    chook__region self, r;
    if (chook__maps_find_cached((uintptr_t)check_not_chook, &self) != CHOOK_OK ||
        chook__maps_find_cached(target, &r) != CHOOK_OK || !self.path[0])
        return CHOOK_OK;
    for (size_t i = 0; self.path[i] || r.path[i]; i++)
        if (self.path[i] != r.path[i]) return CHOOK_OK;
    const char *base = self.path;
    for (const char *p = self.path; *p; p++)
        if (*p == '/') base = p + 1;
    static const char lib[] = "libchook.so";
    for (size_t i = 0; i + 1 < sizeof lib; i++)
        if (base[i] != lib[i]) return CHOOK_OK;
    return chook__fail(CHOOK_ESELF, "target 0x%lx is chook's own code (%s): chook cannot "
                       "hook itself", (unsigned long)target, base);
}

/* What we learn about a target before deciding anything. */
struct analysis {
    uint8_t bytes[256];
    chook_arch_code code;
    chook_arch_plan plan;
    uintptr_t func_start;
    size_t func_size;
    size_t func_offset;   /* target - func_start when inside a function, else 0 */
    int boundary_unknown; /* inside a function, but its code before the target
                             does not decode: the boundary could not be checked */
};

/* A target inside a known function must start one of its instructions: decode
 * the function from its start up to the target. A target inside an instruction
 * would run the tail of that instruction's bytes as code (SIGILL or worse). */
static int check_boundary(uintptr_t target, struct analysis *a)
{
    a->func_offset = 0;
    a->boundary_unknown = 0;
    if (!a->func_size || a->func_start >= target) return CHOOK_OK;
    a->func_offset = (size_t)(target - a->func_start);
    if (a->func_offset > SCAN_MAX) {
        a->boundary_unknown = 1;
        return CHOOK_OK;
    }
    uint8_t small[512];
    size_t len = a->func_offset + CHOOK_ARCH_MAX_PATCH;
    uint8_t *buf = len <= sizeof small ? small : chook__alloc(len);
    if (!buf) return chook__fail(CHOOK_ENOMEM, "out of memory checking target 0x%lx",
                                 (unsigned long)target);
    long n = len <= sizeof small ? chook__code_read_cached(a->func_start, buf, len)
                                 : chook__code_read(a->func_start, buf, len);
    int st = CHOOK_OK;
    uintptr_t insn = 0;
    size_t ilen = 0;
    chook_arch_code code = { .bytes = buf, .avail = n > 0 ? (size_t)n : 0, .pc = a->func_start };
    int r = n > 0 ? chook_arch_insn_boundary(&code, target, &insn, &ilen) : -1;
    if (r < 0) a->boundary_unknown = 1;
    if (r == 0) {
        char where[160];
        chook__describe_code(target, where, sizeof where);
        st = chook__fail(CHOOK_EDECODE,
                         "target 0x%lx (%s) is not an instruction boundary: it is byte %lu of "
                         "the %zu-byte '%s' at +0x%lx of its function; hook the function's "
                         "entry or the start of an instruction",
                         (unsigned long)target, where, (unsigned long)(target - insn), ilen,
                         chook_arch_insn_name(buf + (insn - a->func_start),
                                              (size_t)n - (size_t)(insn - a->func_start), insn),
                         (unsigned long)(insn - a->func_start));
    }
    if (buf != small) chook__free(buf, len);
    return st;
}

static int analyze(uintptr_t target, size_t need, struct analysis *a)
{
    char err[CHOOK_ARCH_ERRLEN];
    /* Cached: commit checks these bytes afresh before anything is written. */
    long n = chook__code_read_cached(target, a->bytes, sizeof a->bytes);
    if (n <= 0)
        return chook__fail(CHOOK_EUNMAPPED, "target 0x%lx cannot be read", (unsigned long)target);
    uintptr_t next_start = 0;
    a->func_start = 0;
    a->func_size = 0;
    if (!chook__symbol_extent(target, &a->func_start, &a->func_size, &next_start)) {
        a->func_start = 0;
        a->func_size = 0;
        next_start = 0;
    }
    a->code = (chook_arch_code){
        .bytes = a->bytes, .avail = (size_t)n, .pc = target,
        .func_end = a->func_size ? a->func_start + a->func_size : 0,
        .next_start = next_start,
    };
    /* A symbol that ends before the target says nothing about it. */
    if (a->code.func_end && a->code.func_end <= target) {
        a->code.func_end = 0;
        a->func_size = 0;
    }
    CHOOK_CHECK(check_boundary(target, a));
    err[0] = 0;
    int st = chook_arch_plan_patch(&a->code, need, &a->plan, err, sizeof err);
    if (st != CHOOK_OK)
        return chook__fail(st, "target 0x%lx: %s", (unsigned long)target, err);
    return CHOOK_OK;
}

/* Names the instruction at `at` and where it is, for messages. */
static void describe_insn(uintptr_t at, const char **name, char *where, size_t len)
{
    uint8_t b[CHOOK_ARCH_MAX_PATCH];
    long n = chook__code_read_cached(at, b, sizeof b);
    *name = n > 0 ? chook_arch_insn_name(b, (size_t)n, at) : "?";
    chook__describe_code(at, where, len);
}

/* No instruction may branch into the bytes we overwrite: not from the function
 * itself (a loop back into its prologue), not from anywhere else in its module
 * (another function's jump into it, as glibc's mempcpy into memmove), and no loop
 * may go back through the entry (it would run the hook on every turn). */
static int check_branches(uintptr_t target, const struct analysis *a)
{
    uintptr_t lo = target + a->plan.skip, hi = lo + a->plan.patch_len;
    uintptr_t start = a->func_size ? a->func_start : target;
    size_t len = a->func_size ? a->func_size + a->plan.padding_len : SCAN_UNKNOWN;
    if (a->func_size && hi > a->func_start + a->func_size)
        len = hi - a->func_start;
    if (len > SCAN_MAX) len = SCAN_MAX;
    /* The bytes analyze() read usually hold the whole function already. */
    int own = !(start == target && len <= a->code.avail);
    uint8_t *buf = own ? chook__alloc(len) : (uint8_t *)a->bytes;
    if (!buf) return chook__fail(CHOOK_ENOMEM, "out of memory scanning target 0x%lx",
                                 (unsigned long)target);
    /* Short bodies come from the page cache (targets of a transaction often
     * share pages); long ones are read at once rather than page by page. */
    long n = !own ? (long)len : len <= 2 * 4096u ? chook__code_read_cached(start, buf, len)
                                                 : chook__code_read(start, buf, len);
    int st = CHOOK_OK;
    const char *name;
    char where[160];
    if (n > 0) {
        chook_arch_code code = {
            .bytes = buf, .avail = (size_t)n, .pc = start,
            .func_end = a->func_size ? a->func_start + a->func_size : 0,
            .next_start = a->code.next_start,
        };
        chook_arch_scan sc;
        /* A loop through a point inside a function is what hooking that point
         * asks for: back edges count only at an entry. */
        int found = chook_arch_scan_function(&code, lo, hi, a->func_offset ? 0 : target, &sc);
        if (found & CHOOK_ARCH_SCAN_INTO) {
            describe_insn(sc.into_from, &name, where, sizeof where);
            st = chook__fail(CHOOK_EBRANCHIN,
                             "target 0x%lx: '%s' at 0x%lx (%s) jumps back into bytes "
                             "%lu..%lu that the patch would overwrite (to 0x%lx)",
                             (unsigned long)target, name, (unsigned long)sc.into_from, where,
                             (unsigned long)(sc.into_to - target),
                             (unsigned long)(hi - target - 1), (unsigned long)sc.into_to);
        } else if (found & CHOOK_ARCH_SCAN_BACK) {
            describe_insn(sc.back_from, &name, where, sizeof where);
            st = chook__fail(CHOOK_EBRANCHIN,
                             "target 0x%lx: '%s' at 0x%lx (%s) jumps back to the function's "
                             "entry (+%lu): a loop through the first instruction would run "
                             "the hook again on every turn",
                             (unsigned long)target, name, (unsigned long)sc.back_from, where,
                             (unsigned long)(sc.back_to - target));
        }
    }
    if (own) chook__free(buf, len);
    if (st == CHOOK_OK) {
        uintptr_t from = 0, to = 0;
        int r = chook__branch_index_find(lo, hi, &from, &to);
        if (r < 0) return r;
        if (r == 1) {
            describe_insn(from, &name, where, sizeof where);
            st = chook__fail(CHOOK_EBRANCHIN,
                             "target 0x%lx: '%s' at 0x%lx (%s) jumps to 0x%lx (+%lu), inside "
                             "the bytes +%lu..+%lu that the patch would overwrite",
                             (unsigned long)target, name, (unsigned long)from, where,
                             (unsigned long)to, (unsigned long)(to - target),
                             (unsigned long)(lo - target), (unsigned long)(hi - target - 1));
        }
    }
    return st;
}

static int relocate_at(uintptr_t target, const struct analysis *a, uintptr_t pc,
                       chook_arch_tramp *t)
{
    char err[CHOOK_ARCH_ERRLEN];
    err[0] = 0;
    int st = chook_arch_relocate(&a->code, &a->plan, pc, t, err, sizeof err);
    if (st != CHOOK_OK)
        return chook__fail(st, "target 0x%lx: %s", (unsigned long)target, err);
    return CHOOK_OK;
}

int chook__site_check_overlap(const struct site *s)
{
    /* Patches are at most CHOOK_ARCH_MAX_PATCH (+ skip) long: look at the sites
     * whose targets lie that far before the patch or inside it. */
    uintptr_t lo = s->patch_at, hi = s->patch_at + s->plan.patch_len;
    uintptr_t from = lo > CHOOK_ARCH_MAX_PATCH + 8 ? lo - CHOOK_ARCH_MAX_PATCH - 8 : 0;
    for (uintptr_t cell = from >> CELL_SHIFT; cell <= (hi - 1) >> CELL_SHIFT; cell++) {
        for (const struct site *o = sites.cells[hash_addr(cell, sites.nbuckets)]; o;
             o = o->cell_next) {
            if (o == s || o->target >> CELL_SHIFT != cell || o->target < from ||
                o->target >= hi || !o->patched)
                continue;
            uintptr_t olo = o->patch_at, ohi = o->patch_at + o->plan.patch_len;
            if (olo < hi && lo < ohi)
                return chook__fail(CHOOK_EPATCH,
                                   "target 0x%lx: its patch would overlap the hook at 0x%lx",
                                   (unsigned long)s->target, (unsigned long)o->target);
        }
    }
    return CHOOK_OK;
}

int chook__site_bytes_are(const struct site *s, const uint8_t *expect)
{
    uint8_t now[CHOOK_ARCH_MAX_PATCH];
    long n = chook__code_read(s->patch_at, now, s->plan.patch_len);
    return n == (long)s->plan.patch_len && chook__memcmp(now, expect, s->plan.patch_len) == 0;
}

/* Is the code at an unpatched site still what its trampoline was made from? */
static int site_still_valid(const struct site *s)
{
    uint8_t now[sizeof s->prologue];
    long n = chook__code_read_cached(s->target, now, s->prologue_len);
    return n == (long)s->prologue_len && chook__memcmp(now, s->prologue, s->prologue_len) == 0;
}

/* Allocates the site's block (entry stub, then trampoline) near `near` and
 * relocates the prologue to its real address. The relocation's length depends
 * on the distance (a RIP-relative operand may need a longer form), so the block
 * is allocated at a first guess and again, at the size the relocation turned out
 * to need, when that differs by a granule: blocks carry no unused slack.
 * Returns the block (its size in *size), or 0 with *st == CHOOK_OK when no
 * memory can be had there, or 0 with a failing *st. */
static uintptr_t place(uintptr_t target, uintptr_t near, const struct analysis *a,
                       size_t guess, chook_arch_tramp *t, size_t *size, int *st)
{
    enum { ATTEMPTS = 4 };
    /* Whole granules of chook__code_alloc (16 bytes): a block covers its
     * allocation, so neighbouring blocks are written in one go at commit. */
    size_t want = CHOOK_ALIGN_UP(ENTRY_STUB + guess, 16u);
    *st = CHOOK_OK;
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        uintptr_t code = chook__code_alloc(near, want);
        if (!code) return 0;
        *st = relocate_at(target, a, code + ENTRY_STUB, t);
        size_t need = CHOOK_ALIGN_UP(ENTRY_STUB + t->len, 16u);
        /* Exact, or at least fitting once a smaller block has been tried. */
        if (*st == CHOOK_OK && (need == want || (need < want && attempt + 1 == ATTEMPTS))) {
            *size = want;
            return code;
        }
        /* Never written: nothing can run it. */
        chook__code_free(code, want);
        if (*st != CHOOK_OK) return 0;
        want = need;
    }
    *st = chook__fail(CHOOK_EINTERNAL, "target 0x%lx: the trampoline's size kept changing "
                      "with its address", (unsigned long)target);
    return 0;
}

/* A first guess of the trampoline's length: the instructions it takes over and
 * a jump back, as when nothing needs a longer form. */
static size_t tramp_guess(const struct analysis *a, enum chook_arch_jump back)
{
    return a->plan.skip + a->plan.patch_len + chook_arch_jump_size(back);
}

static int build(struct site *s, uintptr_t target)
{
    /* On the stack (under 1 KiB): a transaction builds thousands of sites and
     * each heap round trip takes the heap's lock. */
    struct analysis an;
    chook_arch_tramp tr;
    struct analysis *a = &an;
    chook_arch_tramp *t = &tr;
    int st = CHOOK_OK;
    enum chook_arch_jump kind = CHOOK_ARCH_JUMP_NEAR;
    uintptr_t code = 0;
    size_t size = 0;

    if (st == CHOOK_OK) st = analyze(target, chook_arch_jump_size(kind), a);
    if (st == CHOOK_OK) st = check_branches(target, a);
    if (st == CHOOK_OK)
        code = place(target, target, a, tramp_guess(a, CHOOK_ARCH_JUMP_NEAR), t, &size, &st);
    if (st == CHOOK_OK && !code) {
        /* No memory within reach: an absolute jump needs more bytes. */
        kind = CHOOK_ARCH_JUMP_FAR;
        st = analyze(target, chook_arch_jump_size(kind), a);
        if (st == CHOOK_OK) st = check_branches(target, a);
        if (st == CHOOK_OK)
            code = place(target, 0, a, tramp_guess(a, CHOOK_ARCH_JUMP_FAR), t, &size, &st);
        if (st == CHOOK_OK && !code)
            st = chook__fail(CHOOK_ENOMEM, "target 0x%lx: no executable memory can be had",
                             (unsigned long)target);
    }
    uintptr_t *slot = NULL;
    if (st == CHOOK_OK) {
        slot = chook__slot_alloc(code);
        if (!slot) st = chook__fail(CHOOK_ENOMEM, "target 0x%lx: no slot memory",
                                    (unsigned long)target);
    }
    uint8_t *block = NULL;
    if (st == CHOOK_OK) {
        block = chook__alloc(size);
        if (!block) st = chook__fail(CHOOK_ENOMEM, "out of memory preparing target 0x%lx",
                                     (unsigned long)target);
    }
    if (st == CHOOK_OK) {
        /* Traps after the trampoline too: the block is written whole. */
        chook_arch_fill_trap(block, size);
        if (!chook_arch_write_slot_jump(block, code, (uintptr_t)slot))
            st = chook__fail(CHOOK_EINTERNAL, "slot out of reach of its stub");
    }
    if (st == CHOOK_OK) {
        chook__memcpy(block + ENTRY_STUB, t->bytes, t->len);
        /* The slot starts at the trampoline: a thread that reaches the entry
         * stub before the first hook is set runs the original. */
        __atomic_store_n(slot, code + ENTRY_STUB, __ATOMIC_RELEASE);
    }
    if (st == CHOOK_OK) {
        uintptr_t patch_at = target + a->plan.skip;
        size_t jl = chook_arch_write_jump(s->patch, patch_at, code, kind);
        if (!jl || jl > a->plan.patch_len) {
            st = chook__fail(CHOOK_EINTERNAL, "target 0x%lx: jump does not fit",
                             (unsigned long)target);
        } else {
            chook_arch_fill_trap(s->patch + jl, a->plan.patch_len - jl);
            s->target = target;
            s->func_offset = a->func_offset;
            s->patch_at = patch_at;
            s->plan = a->plan;
            s->jump = kind;
            chook__memcpy(s->original, a->bytes + a->plan.skip, a->plan.patch_len);
            s->prologue_len = a->plan.skip + a->plan.patch_len;
            chook__memcpy(s->prologue, a->bytes, s->prologue_len);
            s->code = code;
            s->code_size = size;
            s->entry = code;
            s->tramp = code + ENTRY_STUB;
            s->tramp_len = t->len;
            chook__memcpy(s->tramp_off, t->insn_off, sizeof s->tramp_off);
            s->entry_slot = slot;
            /* Written at commit (chook__site_write_blocks), with the other
             * blocks of the transaction: nothing can reach it before. */
            s->block = block;
            block = NULL;
        }
    }
    if (block) chook__free(block, size);
    if (st != CHOOK_OK) {
        /* Nothing reachable refers to these yet. */
        if (slot) chook__slot_free(slot);
        if (code) chook__code_free(code, size);
    }
    return st;
}

void chook__sites_overlay_original(uintptr_t addr, uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < sites.nbuckets; i++) {
        for (const struct site *e = sites.buckets[i]; e; e = e->hash_next) {
            if (!e->patched || e->patch_at >= addr + len ||
                e->patch_at + e->plan.patch_len <= addr)
                continue;
            for (size_t k = 0; k < e->plan.patch_len; k++) {
                uintptr_t at = e->patch_at + k;
                if (at >= addr && at < addr + len) buf[at - addr] = e->original[k];
            }
        }
    }
}

void chook__site_drop_block(struct site *s)
{
    if (s->block) chook__free(s->block, s->code_size);
    s->block = NULL;
}

int chook__site_prepare(uintptr_t target, struct site **out)
{
    struct site *s = chook__site_find(target);
    if (s && (s->patched || s->hooks)) {
        *out = s;
        return CHOOK_OK;
    }
    CHOOK_CHECK(chook__check_code_address(target, "target"));
    CHOOK_CHECK(check_not_chook(target));
    if (s && site_still_valid(s)) {
        *out = s;
        return CHOOK_OK;
    }
    /* New, or the code changed since (e.g. a library was reloaded there): build
     * afresh. The old trampoline is left in place for any thread still in it. */
    struct site *fresh = chook__alloc(sizeof *fresh);
    if (!fresh) return chook__fail(CHOOK_ENOMEM, "out of memory");
    /* Overlap with other patches is checked at commit, when it matters. */
    int st = build(fresh, target);
    if (st != CHOOK_OK) {
        if (fresh->entry_slot) chook__slot_free(fresh->entry_slot);
        if (fresh->code) chook__code_free(fresh->code, fresh->code_size);
        chook__free(fresh, sizeof *fresh);
        return st;
    }
    if (s) {
        /* Keep the record (handles may point at it); take the new code. An old
         * block never written is dropped: nothing ever reached it. */
        chook__site_drop_block(s);
        struct site *keep_next = s->hash_next, *keep_cell = s->cell_next;
        struct chook_hook *keep_free = s->free_hooks;
        *s = *fresh;
        s->hash_next = keep_next;
        s->cell_next = keep_cell;
        s->free_hooks = keep_free;
        for (struct chook_hook *h = keep_free; h; h = h->free_next) h->site = s;
        chook__free(fresh, sizeof *fresh);
    } else {
        s = fresh;
        if (sites_add(s) != CHOOK_OK) {
            chook__site_drop_block(s);
            chook__slot_free(s->entry_slot);
            chook__code_free(s->code, s->code_size);
            chook__free(s, sizeof *s);
            return chook__fail(CHOOK_ENOMEM, "out of memory");
        }
    }
    *out = s;
    return CHOOK_OK;
}

int chook__site_examine(uintptr_t target, chook_probe_info *info)
{
    struct site *s = chook__site_find(target);
    if (s && s->patched) {
        info->status = CHOOK_OK;
        info->hooked = 1;
        info->patch_address = (void *)s->patch_at;
        info->skipped = s->plan.skip;
        info->patch_size = s->plan.patch_len;
        info->padding_used = s->plan.padding_len;
        info->instructions = s->plan.n_insns;
        info->trampoline_size = s->tramp_len;
        info->jump = s->jump == CHOOK_ARCH_JUMP_FAR ? CHOOK_JUMP_ABS64 : CHOOK_JUMP_REL32;
        info->function_offset = s->func_offset;
        return CHOOK_OK;
    }
    int st = chook__check_code_address(target, "target");
    struct analysis *a = st == CHOOK_OK ? chook__alloc(sizeof *a) : NULL;
    chook_arch_tramp *t = a ? chook__alloc(sizeof *t) : NULL;
    if (st == CHOOK_OK && (!a || !t)) st = chook__fail(CHOOK_ENOMEM, "out of memory");
    if (st == CHOOK_OK) st = analyze(target, chook_arch_jump_size(CHOOK_ARCH_JUMP_NEAR), a);
    if (st == CHOOK_OK) st = check_branches(target, a);
    if (st == CHOOK_OK) st = relocate_at(target, a, target, t);
    if (st == CHOOK_OK) {
        info->patch_address = (void *)(target + a->plan.skip);
        info->skipped = a->plan.skip;
        info->patch_size = a->plan.patch_len;
        info->padding_used = a->plan.padding_len;
        info->instructions = a->plan.n_insns;
        info->trampoline_size = t->len;
        info->jump = CHOOK_JUMP_REL32;
        info->function_offset = a->func_offset;
        if (a->func_offset) {
            /* Hookable, but not a function entry: say so. */
            char where[160];
            chook__describe_code(target, where, sizeof where);
            /* Built by hand: the user may have hooked snprintf. A long symbol
             * name may cut the note short. */
            const char *parts[] = {
                "inside a function: ", where,
                a->boundary_unknown ? ", boundary not checked (the code before it does "
                                      "not decode)" : ", at an instruction boundary",
                "; replacements run with that point's registers and stack, listeners "
                "are refused",
            };
            size_t nl = 0;
            for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
                for (const char *c = parts[i]; *c && nl + 1 < sizeof info->reason; c++)
                    info->reason[nl++] = *c;
            info->reason[nl] = 0;
        }
    }
    info->status = st;
    if (t) chook__free(t, sizeof *t);
    if (a) chook__free(a, sizeof *a);
    return st;
}

struct chook_hook *chook__hook_new(struct site *s)
{
    struct chook_hook *h = s->free_hooks;
    if (h) {
        s->free_hooks = h->free_next;
    } else {
        h = chook__alloc(sizeof *h);
        if (!h) return NULL;
    }
    uintptr_t stub = h->stub;
    uintptr_t *stub_slot = h->stub_slot;
    chook__memset(h, 0, sizeof *h);
    h->stub = stub;
    h->stub_slot = stub_slot;
    h->magic = HOOK_MAGIC;
    h->site = s;
    h->state = HOOK_PENDING;
    return h;
}

/* Gives h an indirect-jump stub of its own (kept for reuse with the record). */
int chook__hook_give_stub(struct chook_hook *h)
{
    if (h->stub) return CHOOK_OK;
    struct site *s = h->site;
    uintptr_t stub = chook__code_alloc(s->code, 16);
    uintptr_t *slot = stub ? chook__slot_alloc(stub) : NULL;
    if (!slot) {
        if (stub) chook__code_free(stub, 16);
        return chook__fail(CHOOK_ENOMEM, "target 0x%lx: no memory for a hook stub",
                           (unsigned long)s->target);
    }
    uint8_t buf[16];
    chook_arch_fill_trap(buf, sizeof buf);
    __atomic_store_n(slot, s->tramp, __ATOMIC_RELEASE);
    if (!chook_arch_write_slot_jump(buf, stub, (uintptr_t)slot) ||
        chook__code_write(stub, buf, sizeof buf) != CHOOK_OK) {
        chook__slot_free(slot);
        chook__code_free(stub, 16);
        return chook__fail(CHOOK_EPATCH, "target 0x%lx: cannot write a hook stub",
                           (unsigned long)s->target);
    }
    h->stub = stub;
    h->stub_slot = slot;
    return CHOOK_OK;
}

void chook__hook_recycle(struct chook_hook *h)
{
    struct site *s = h->site;
    h->free_next = s->free_hooks;
    s->free_hooks = h;
}
