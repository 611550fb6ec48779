/*
 * The list of loaded modules, kept in step with the dynamic linker through
 * dl_iterate_phdr: its load and unload counters (dlpi_adds / dlpi_subs) tell when
 * the list must be rebuilt, so an unchanged process pays one callback per refresh.
 * Module records are reference-counted (see symbols.h) and their symbol tables
 * parsed on first use, then cached for as long as the module stays loaded.
 */
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <link.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/syscall.h>

#include "internal.h"
#include "lockrank.h"
#include "stop.h"
#include "symbols.h"

static struct {
    chook__mutex lock;       /* guards head, counters and refs */
    chook__mutex parse_lock; /* one ELF parse at a time */
    chook__module *head;     /* load order */
    unsigned long long adds, subs;
    int valid;
} mods;

void chook__module_ref(chook__module *m)
{
    __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
}

void chook__module_unref(chook__module *m)
{
    if (!m || __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
    chook__symtab_free(&m->tab);
    chook__branch_index_free(m->branches);
    chook__free(m->path, m->path_size);
    chook__free(m->real, m->real_size);
    chook__free(m, sizeof(*m));
}

/* ---- reading the dynamic linker's list ---------------------------------------------- */

typedef struct seen {
    const char *name;
    uintptr_t base, lo, hi;
    const ElfW(Phdr) *phdr;
    unsigned phnum;
} seen;

typedef struct walk {
    seen *items;
    size_t n, cap;
    unsigned long long adds, subs;
    int unchanged, oom;
} walk;

static int walk_cb(struct dl_phdr_info *info, size_t size, void *ctx)
{
    walk *w = ctx;
    if (w->n == 0 && size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
        w->adds = info->dlpi_adds;
        w->subs = info->dlpi_subs;
        if (__atomic_load_n(&mods.valid, __ATOMIC_ACQUIRE) && w->adds == __atomic_load_n(&mods.adds, __ATOMIC_ACQUIRE) &&
            w->subs == __atomic_load_n(&mods.subs, __ATOMIC_ACQUIRE)) {
            w->unchanged = 1;
            return 1;
        }
    }
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        seen *p = chook__alloc(cap * sizeof(*p));
        if (!p) {
            w->oom = 1;
            return 1;
        }
        if (w->items) {
            chook__memcpy(p, w->items, w->n * sizeof(*p));
            chook__free(w->items, w->cap * sizeof(*p));
        }
        w->items = p;
        w->cap = cap;
    }
    seen *s = &w->items[w->n++];
    s->name = info->dlpi_name ? info->dlpi_name : "";
    s->base = info->dlpi_addr;
    s->phdr = info->dlpi_phdr;
    s->phnum = info->dlpi_phnum;
    s->lo = UINTPTR_MAX;
    s->hi = 0;
    for (unsigned i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (a < s->lo) s->lo = a;
        if (a + ph->p_memsz > s->hi) s->hi = a + ph->p_memsz;
    }
    if (s->lo == UINTPTR_MAX) s->lo = s->hi = 0;
    return 0;
}

static char *dup_string(const char *s, size_t *size)
{
    size_t n = chook__strlen(s) + 1;
    char *p = chook__alloc(n);
    if (p) chook__memcpy(p, s, n);
    *size = n;
    return p;
}

/* The soname, read from the module's dynamic section in memory. The dynamic
 * linker has usually turned DT_STRTAB into an absolute address; the vDSO's is
 * still relative to the load bias. */
static void read_soname(chook__module *m, const ElfW(Phdr) *phdr, unsigned phnum)
{
    const ElfW(Dyn) *dyn = NULL;
    for (unsigned i = 0; i < phnum; i++)
        if (phdr[i].p_type == PT_DYNAMIC) dyn = (const ElfW(Dyn) *)(m->base + phdr[i].p_vaddr);
    if (!dyn) return;
    uintptr_t strtab = 0;
    size_t strsz = 0, soname = (size_t)-1;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        if (dyn->d_tag == DT_STRTAB) strtab = dyn->d_un.d_ptr;
        else if (dyn->d_tag == DT_STRSZ) strsz = dyn->d_un.d_val;
        else if (dyn->d_tag == DT_SONAME) soname = dyn->d_un.d_val;
    }
    if (!strtab || soname >= strsz) return;
    if (strtab < m->lo || strtab >= m->hi) strtab += m->base;
    if (strtab < m->lo || strtab + strsz > m->hi) return;
    const char *s = (const char *)strtab + soname;
    size_t n = 0;
    while (soname + n < strsz && s[n] && n + 1 < sizeof(m->soname)) n++;
    chook__memcpy(m->soname, s, n);
    m->soname[n] = '\0';
}

static chook__module *new_module(const seen *s, int first)
{
    chook__module *m = chook__alloc(sizeof(*m));
    if (!m) return NULL;
    char buf[PATH_MAX];
    const char *path = s->name;
    if (first && !path[0]) {
        /* The main program: the dynamic linker gives no name; its file is the
         * target of /proc/self/exe. */
        long n = chook_arch_syscall(SYS_readlinkat, AT_FDCWD, (long)"/proc/self/exe",
                                    (long)buf, sizeof(buf) - 1, 0, 0);
        buf[n > 0 ? n : 0] = '\0';
        path = buf;
        m->pub.is_main = 1;
    }
    m->path = dup_string(path, &m->path_size);
    if (!m->path) {
        chook__free(m, sizeof(*m));
        return NULL;
    }
    /* The real path, to match names given through other links. */
    char real[PATH_MAX];
    const char *r = m->pub.is_main || !path[0] || !realpath(path, real) ? m->path : real;
    m->real = dup_string(r, &m->real_size);
    if (!m->real) {
        chook__free(m->path, m->path_size);
        chook__free(m, sizeof(*m));
        return NULL;
    }
    const char *slash = m->path;
    for (const char *p = m->path; *p; p++)
        if (*p == '/') slash = p + 1;
    m->basename = slash;
    m->base = s->base;
    m->lo = s->lo;
    m->hi = s->hi;
    m->phdr = s->phdr;
    m->phnum = s->phnum;
    m->in_memory = s->lo != 0 && s->lo == (uintptr_t)getauxval(AT_SYSINFO_EHDR);
    read_soname(m, s->phdr, s->phnum);
    m->refs = 1; /* the list's */
    m->listed = 1;
    m->pub.path = m->path;
    m->pub.name = m->basename;
    m->pub.soname = m->soname;
    m->pub.base = (void *)m->base;
    m->pub.start = (void *)m->lo;
    m->pub.end = (void *)m->hi;
    m->pub.size = sizeof m->pub;
    return m;
}

/* The dynamic linker mapped or unmapped something: the core's snapshot of
 * /proc/self/maps may describe what was there before (a module loaded where
 * another was). */
static void forget_maps_snapshot(void)
{
    chook__maps_invalidate();
}

void chook__error_save(chook__saved_error *e)
{
    const char *msg = chook_last_error();
    size_t n = chook__strlen(msg);
    if (n >= sizeof(e->message)) n = sizeof(e->message) - 1;
    chook__memcpy(e->message, msg, n);
    e->message[n] = '\0';
}

void chook__error_restore(const chook__saved_error *e)
{
    chook__set_last_error(e->message);
}

int chook__modules_refresh(void)
{
    walk w = { 0 };
    dl_iterate_phdr(walk_cb, &w);
    if (w.unchanged) {
        chook__free(w.items, w.cap * sizeof(*w.items));
        return CHOOK_OK;
    }
    if (w.oom) {
        chook__free(w.items, w.cap * sizeof(*w.items));
        return chook__fail(CHOOK_ENOMEM, "out of memory listing the loaded modules");
    }

    forget_maps_snapshot();

    /* Build the new list, reusing the records of modules still loaded. Names are
     * compared under the list lock: the strings in `seen` belong to the dynamic
     * linker and stay valid while the module is loaded, which it was a moment ago;
     * a module unloaded since is caught by the counters at the next refresh. */
    chook__module *fresh = NULL, **tail = &fresh;
    int status = CHOOK_OK;
    chook__mutex_lock(&mods.lock);
    chook__module *old = mods.head;
    for (size_t i = 0; i < w.n; i++) {
        const seen *s = &w.items[i];
        chook__module *m = NULL, **pp;
        for (pp = &old; *pp; pp = &(*pp)->next) {
            chook__module *c = *pp;
            if (c->base == s->base && c->lo == s->lo && c->hi == s->hi &&
                (i == 0 ? c->pub.is_main : chook__strcmp(c->path, s->name) == 0)) {
                m = c;
                *pp = c->next;
                break;
            }
        }
        if (!m) m = new_module(s, i == 0);
        if (!m) {
            status = chook__fail(CHOOK_ENOMEM, "out of memory listing the loaded modules");
            break;
        }
        m->next = NULL;
        *tail = m;
        tail = &m->next;
    }
    if (status != CHOOK_OK) {
        /* Keep the old list (rebuilt below from both) and try again next time. */
        *tail = old;
        old = NULL;
    } else {
        mods.adds = w.adds;
        mods.subs = w.subs;
        mods.valid = 1;
    }
    mods.head = fresh;
    chook__mutex_unlock(&mods.lock);

    while (old) {
        chook__module *next = old->next;
        old->listed = 0;
        chook__module_unref(old);
        old = next;
    }
    chook__free(w.items, w.cap * sizeof(*w.items));
    return status;
}

int chook__module_list(chook__module ***out, size_t *n)
{
    CHOOK_CHECK(chook__modules_refresh());
    chook__mutex_lock(&mods.lock);
    size_t count = 0;
    for (chook__module *m = mods.head; m; m = m->next) count++;
    chook__module **list = chook__alloc((count ? count : 1) * sizeof(*list));
    if (!list) {
        chook__mutex_unlock(&mods.lock);
        return chook__fail(CHOOK_ENOMEM, "out of memory listing the loaded modules");
    }
    size_t i = 0;
    for (chook__module *m = mods.head; m; m = m->next) {
        chook__module_ref(m);
        list[i++] = m;
    }
    chook__mutex_unlock(&mods.lock);
    *out = list;
    *n = count;
    return CHOOK_OK;
}

void chook__module_list_free(chook__module **list, size_t n)
{
    for (size_t i = 0; i < n; i++) chook__module_unref(list[i]);
    chook__free(list, (n ? n : 1) * sizeof(*list));
}

chook__module *chook__module_at(uintptr_t addr)
{
    if (chook__modules_refresh() != CHOOK_OK) return NULL;
    chook__module *found = NULL;
    chook__mutex_lock(&mods.lock);
    for (chook__module *m = mods.head; m; m = m->next) {
        if (addr >= m->lo && addr < m->hi) {
            chook__module_ref(m);
            found = m;
            break;
        }
    }
    chook__mutex_unlock(&mods.lock);
    return found;
}

/* ---- names --------------------------------------------------------------------- */

/* cand equals name, or is name followed by one or more ".<digits>" groups. */
static int same_but_version(const char *cand, const char *name)
{
    while (*name && *cand == *name) cand++, name++;
    if (*name) return 0;
    if (!*cand) return 1;
    while (*cand == '.') {
        cand++;
        if (*cand < '0' || *cand > '9') return 0;
        while (*cand >= '0' && *cand <= '9') cand++;
    }
    return *cand == '\0';
}

static int has_slash(const char *s)
{
    for (; *s; s++)
        if (*s == '/') return 1;
    return 0;
}

int chook__module_matches(const chook__module *m, const char *name, int glob)
{
    if (glob) {
        if (!name[0]) return m->pub.is_main;
        return fnmatch(name, m->path, 0) == 0 || fnmatch(name, m->basename, 0) == 0 ||
               fnmatch(name, m->real, 0) == 0 ||
               (m->soname[0] && fnmatch(name, m->soname, 0) == 0);
    }
    if (!name[0]) return m->pub.is_main;
    if (has_slash(name))
        return chook__strcmp(m->path, name) == 0 || chook__strcmp(m->real, name) == 0;
    return same_but_version(m->basename, name) ||
           (m->soname[0] && same_but_version(m->soname, name));
}

int chook__module_find(const char *name, chook__module **out)
{
    chook__module **list;
    size_t n;
    CHOOK_CHECK(chook__module_list(&list, &n));
    char real[PATH_MAX];
    const char *want = name;
    if (has_slash(name) && realpath(name, real)) want = real;

    chook__module *found = NULL;
    int status = CHOOK_OK;
    for (size_t i = 0; i < n; i++) {
        chook__module *m = list[i];
        if (!chook__module_matches(m, name, 0) && !(want != name && chook__module_matches(m, want, 0)))
            continue;
        if (!found) {
            found = m;
        } else if (chook__strcmp(found->real, m->real) != 0 || found->base != m->base) {
            status = chook__fail(CHOOK_EAMBIGUOUS,
                                 "module name '%s' matches several loaded modules: %s at %p "
                                 "and %s at %p; give the full path",
                                 name, found->path, (void *)found->base, m->path,
                                 (void *)m->base);
            break;
        }
    }
    if (status == CHOOK_OK && !found)
        status = chook__fail(CHOOK_ENOMODULE, "no loaded module named '%s'", name);
    if (status == CHOOK_OK) {
        chook__module_ref(found);
        *out = found;
    }
    chook__module_list_free(list, n);
    return status;
}

int chook__module_parse(chook__module *m)
{
    int state = __atomic_load_n(&m->parse_state, __ATOMIC_ACQUIRE);
    if (state == 1) return CHOOK_OK;
    chook__mutex_lock(&mods.parse_lock);
    int status = CHOOK_OK;
    if (m->parse_state == 0) {
        const void *image = NULL;
        size_t image_size = 0;
        if (m->in_memory) {
            /* The whole mapping: the section headers lie past the loaded segment. */
            chook__region r;
            image = (const void *)m->lo;
            image_size = chook__maps_find(m->lo, &r) == CHOOK_OK ? r.end - m->lo : m->hi - m->lo;
        }
        status = chook__symtab_load(&m->tab, m->path, image, image_size, NULL, 0);
        m->parse_status = status;
        __atomic_store_n(&m->parse_state, status == CHOOK_OK ? 1 : -1, __ATOMIC_RELEASE);
    } else if (m->parse_state < 0) {
        status = chook__fail(m->parse_status, "the symbols of %s could not be read", m->path);
    }
    chook__mutex_unlock(&mods.parse_lock);
    return status;
}

/* ---- public -------------------------------------------------------------------- */

int chook_module_each(chook_module_fn fn, void *data)
{
    chook__clear_error();
    if (!fn) return chook__fail(CHOOK_EINVAL, "chook_module_each: fn is NULL");
    chook__module **list;
    size_t n;
    CHOOK_CHECK(chook__module_list(&list, &n));
    for (size_t i = 0; i < n; i++)
        if (fn(&list[i]->pub, data)) break;
    chook__module_list_free(list, n);
    chook__clear_error(); /* what fn's own calls left is not this call's */
    return CHOOK_OK;
}

int chook_module_find(const char *name, const chook_module **module)
{
    chook__clear_error();
    if (!name || !module)
        return chook__fail(CHOOK_EINVAL, "chook_module_find: %s is NULL", !name ? "name" : "module");
    chook__module *m;
    CHOOK_CHECK(chook__module_find(name, &m));
    *module = &m->pub;
    /* The record outlives this reference while the module stays loaded: the
     * list holds its own. */
    chook__module_unref(m);
    return CHOOK_OK;
}

/* fork() must not split this lock (see chook__fork_guard). */
__attribute__((constructor)) static void modules_parse_fork_guard(void)
{
    chook__fork_guard(&mods.parse_lock, CHOOK_RANK_MODULE_PARSE);
}

__attribute__((constructor)) static void modules_list_fork_guard(void)
{
    chook__fork_guard(&mods.lock, CHOOK_RANK_MODULES);
}
