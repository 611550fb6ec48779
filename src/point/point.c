/*
 * Compiled-in hook points: finding them (by name, by module, all of them) in
 * the loaded modules, through the ELF notes their modules carry (see point.h).
 */
#include <elf.h>
#include <link.h>

#include "point.h"

/* ---- the note and the table of one module ------------------------------------ */

int chook__point_section(const chook__module *m, uint32_t type,
                         uintptr_t *start, uintptr_t *stop)
{
    const ElfW(Phdr) *ph = m->phdr;
    if (!ph) return 0;
    for (unsigned i = 0; i < m->phnum; i++) {
        if (ph[i].p_type != PT_NOTE) continue;
        /* Notes are padded to the segment's alignment (8 for .note.gnu.property). */
        uintptr_t align = ph[i].p_align == 8 ? 8 : 4;
        uintptr_t a = m->base + ph[i].p_vaddr;
        uintptr_t end = a + ph[i].p_memsz;
        if (a < m->lo || end > m->hi || end < a) continue;
        while (end - a >= sizeof(ElfW(Nhdr))) {
            const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)a;
            uintptr_t name = a + sizeof *n;
            uintptr_t desc = name + CHOOK_ALIGN_UP((uintptr_t)n->n_namesz, align);
            uintptr_t next = desc + CHOOK_ALIGN_UP((uintptr_t)n->n_descsz, align);
            if (next > end || next <= a) break;
            if (n->n_type == type && n->n_namesz == 6 && n->n_descsz == 8 &&
                chook__memcmp((const void *)name, "chook", 6) == 0) {
                int32_t off[2];
                chook__memcpy(off, (const void *)desc, sizeof off);
                uintptr_t s = desc + (uintptr_t)(intptr_t)off[0];
                uintptr_t e = desc + 4 + (uintptr_t)(intptr_t)off[1];
                /* A table outside the module or of a ragged size is not ours. */
                if (s <= e && s >= m->lo && e <= m->hi) {
                    *start = s;
                    *stop = e;
                    return 1;
                }
            }
            a = next;
        }
    }
    return 0;
}

/* Calls visit for every well-formed point of module m; stops at non-zero. */
static int module_points(const chook__module *m,
                         int (*visit)(struct chook_point *p, const chook__module *m,
                                      void *ctx),
                         void *ctx)
{
    uintptr_t start, stop;
    if (!chook__point_section(m, CHOOK__NOTE_POINTS, &start, &stop)) return 0;
    if ((start | stop) % sizeof(void *)) return 0;
    for (uintptr_t a = start; a < stop; a += sizeof(void *)) {
        struct chook_point *p = *(struct chook_point *const *)a;
        /* The record is a hidden symbol of the same module; one built for
         * another layout of the record is skipped, not misread. */
        if (!p || (uintptr_t)p < m->lo || (uintptr_t)p >= m->hi ||
            (uintptr_t)p % _Alignof(struct chook_point) ||
            p->chook__abi != CHOOK_POINT_ABI)
            continue;
        int r = visit(p, m, ctx);
        if (r) return r;
    }
    return 0;
}

/* Calls visit for every point of every loaded module (snapshot of the module
 * list, taken with chook's module service). */
static int each_point(int (*visit)(struct chook_point *p, const chook__module *m,
                                   void *ctx),
                      void *ctx)
{
    chook__module **mods;
    size_t n;
    CHOOK_CHECK(chook__module_list(&mods, &n));
    int r = 0;
    for (size_t i = 0; i < n && !r; i++) r = module_points(mods[i], visit, ctx);
    chook__module_list_free(mods, n);
    return r;
}

/* ---- checking a point given by the user -------------------------------------- */

static int is_p(struct chook_point *p, const chook__module *m, void *ctx)
{
    (void)m;
    return p == (struct chook_point *)ctx;
}

int chook__point_check(const struct chook_point *p, const char *what,
                       chook__module **module)
{
    if (!p) return chook__fail(CHOOK_EINVAL, "%s: point is NULL", what);
    chook__module *m = chook__module_at((uintptr_t)p);
    if (m) {
        int found = module_points(m, is_p, (void *)(uintptr_t)p);
        if (found) {
            *module = m;
            return CHOOK_OK;
        }
        chook__module_unref(m);
    }
    return chook__fail(CHOOK_EINVAL, "%s: %p is not a hook point of a loaded module",
                       what, (const void *)p);
}

void chook__point_describe(struct chook_point *p, const chook__module *m,
                           chook_point_info *info)
{
    const struct chook_point_attachment *att =
        __atomic_load_n(&p->chook__attached, __ATOMIC_ACQUIRE);
    info->point = p;
    info->name = p->chook__name;
    info->module = m->pub.path;
    info->signature = p->chook__signature;
    info->file = p->chook__file;
    info->line = p->chook__line;
    info->nargs = p->chook__nargs;
    info->returns_void = p->chook__void != 0;
    info->state = att ? (enum chook_point_state)att->kind : CHOOK_POINT_DETACHED;
    info->size = sizeof *info;
}

int chook_point_get_info(const chook_point *point, chook_point_info *info)
{
    chook__clear_error();
    if (!info) return chook__fail(CHOOK_EINVAL, "chook_point_get_info: info is NULL");
    chook__module *m;
    CHOOK_CHECK(chook__point_check(point, "chook_point_get_info", &m));
    chook__point_describe((struct chook_point *)point, m, info);
    chook__module_unref(m);
    return CHOOK_OK;
}

/* ---- find ---------------------------------------------------------------------- */

typedef struct {
    const char *module;   /* NULL: any */
    const char *name;
    int modules_matched;  /* modules with points that `module` names */
    const chook__module *last_module;
    struct chook_point *found;
    const chook__module *found_in;
    struct chook_point *other;
    const chook__module *other_in;
} find_ctx;

static int find_visit(struct chook_point *p, const chook__module *m, void *ctx)
{
    find_ctx *f = ctx;
    if (f->module && !chook__module_matches(m, f->module, 0)) return 0;
    if (m != f->last_module) {
        f->last_module = m;
        f->modules_matched++;
    }
    if (!p->chook__name || chook__strcmp(p->chook__name, f->name) != 0) return 0;
    if (!f->found) {
        f->found = p;
        f->found_in = m;
    } else if (!f->other) {
        f->other = p;
        f->other_in = m;
    }
    return 0;
}

int chook_point_find_in(const char *module, const char *name, chook_point **point)
{
    chook__clear_error();
    if (!name || !point)
        return chook__fail(CHOOK_EINVAL, "chook_point_find: %s is NULL",
                           !name ? "name" : "point");
    find_ctx f = { .module = module, .name = name };
    int r = each_point(find_visit, &f);
    if (r < 0) return r;
    if (f.other)
        /* Both modules are still referenced by the list, so their paths hold. */
        return chook__fail(CHOOK_EAMBIGUOUS,
                           "hook point '%s' is defined by %s and by %s: name the module",
                           name, f.found_in->pub.path, f.other_in->pub.path);
    if (f.found) {
        *point = f.found;
        return CHOOK_OK;
    }
    if (module && !f.modules_matched)
        return chook__fail(CHOOK_ENOMODULE, "no loaded module named '%s' defines hook points",
                           module);
    if (module)
        return chook__fail(CHOOK_ENOSYM, "no hook point '%s' in module '%s'", name, module);
    return chook__fail(CHOOK_ENOSYM, "no loaded module defines a hook point '%s'", name);
}

int chook_point_find(const char *name, chook_point **point)
{
    return chook_point_find_in(NULL, name, point);
}

/* ---- each ---------------------------------------------------------------------- */

typedef struct {
    struct chook_point **points;
    const chook__module **modules;
    size_t n, cap;
    int oom;
} snap_ctx;

static int snap_visit(struct chook_point *p, const chook__module *m, void *ctx)
{
    snap_ctx *s = ctx;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct chook_point **np = chook__alloc(cap * sizeof(*np));
        const chook__module **nm = chook__alloc(cap * sizeof(*nm));
        if (!np || !nm) {
            if (np) chook__free(np, cap * sizeof(*np));
            if (nm) chook__free(nm, cap * sizeof(*nm));
            s->oom = 1;
            return 1;
        }
        if (s->n) {
            chook__memcpy(np, s->points, s->n * sizeof(*np));
            chook__memcpy(nm, s->modules, s->n * sizeof(*nm));
            chook__free(s->points, s->cap * sizeof(*np));
            chook__free(s->modules, s->cap * sizeof(*nm));
        }
        s->points = np;
        s->modules = nm;
        s->cap = cap;
    }
    s->points[s->n] = p;
    s->modules[s->n] = m;
    s->n++;
    return 0;
}

int chook_point_each(int (*fn)(const chook_point_info *info, void *ctx), void *ctx)
{
    chook__clear_error();
    if (!fn) return chook__fail(CHOOK_EINVAL, "chook_point_each: fn is NULL");
    chook__module **mods;
    size_t nmods;
    CHOOK_CHECK(chook__module_list(&mods, &nmods));
    /* Snapshot first: fn runs with no lock held and the module references keep
     * the module descriptions (paths) alive while it does. */
    snap_ctx s = { 0 };
    for (size_t i = 0; i < nmods && !s.oom; i++) module_points(mods[i], snap_visit, &s);
    int status = CHOOK_OK;
    if (s.oom) {
        status = chook__fail(CHOOK_ENOMEM, "chook_point_each: out of memory");
    } else {
        for (size_t i = 0; i < s.n; i++) {
            chook_point_info info;
            chook__point_describe(s.points[i], s.modules[i], &info);
            if (fn(&info, ctx)) break;
        }
    }
    if (s.cap) {
        chook__free(s.points, s.cap * sizeof(*s.points));
        chook__free(s.modules, s.cap * sizeof(*s.modules));
    }
    chook__module_list_free(mods, nmods);
    if (status == CHOOK_OK) chook__clear_error(); /* what fn's calls left is not ours */
    return status;
}
