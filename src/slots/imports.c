/*
 * Import hooks: the calls one module makes to a function of another module go
 * through that module's GOT entries for the function (the JUMP_SLOT entries its
 * PLT jumps through, and the GLOB_DAT entries used for calls compiled with
 * -fno-plt and for taking the function's address). Rewriting those entries
 * redirects exactly that module's calls; every other module keeps its own GOT.
 *
 * The entries are found from the module's dynamic section as the dynamic linker
 * left it in memory (DT_JMPREL, DT_RELA, DT_SYMTAB, DT_STRTAB), so stripped
 * modules work too. Each entry is swapped atomically (dataslot.c): lazily bound
 * GOTs are writable, BIND_NOW / RELRO ones are read-only and briefly made
 * writable.
 */
#include <dlfcn.h>
#include <elf.h>
#include <link.h>

#include "handle.h"
#include "internal.h"
#include "lockrank.h"
#include "stop.h"
#include "symbols.h"

#define IMPORT_MAX_SLOTS 16

struct chook_import {
    chook__module *module;           /* referenced */
    void **slots[IMPORT_MAX_SLOTS];  /* GOT entries of the symbol */
    void *saved[IMPORT_MAX_SLOTS];   /* what each held before */
    size_t n;
    void *replacement;
    void *original;
    struct chook_import *next;       /* list of live hooks, newest first */
    uintptr_t handle;                /* the user's handle (handle.h) */
};

static chook__mutex imports_lock;
static struct chook_import *imports;


/* The dynamic linker rewrites most d_ptr entries to run-time addresses; a few
 * layouts keep them relative to the load bias. */
static uintptr_t dyn_addr(const chook__module *m, uintptr_t v)
{
    return v >= m->lo && v < m->hi ? v : v + m->base;
}

typedef struct dyninfo {
    const ElfW(Rela) *jmprel, *rela;
    size_t jmprel_size, rela_size;
    const ElfW(Sym) *symtab;
    const char *strtab;
    size_t strsz;
} dyninfo;

static int read_dynamic(const chook__module *m, dyninfo *d)
{
    const ElfW(Phdr) *ph = m->phdr;
    const ElfW(Dyn) *dyn = NULL;
    for (unsigned i = 0; i < m->phnum; i++)
        if (ph[i].p_type == PT_DYNAMIC) dyn = (const ElfW(Dyn) *)(m->base + ph[i].p_vaddr);
    if (!dyn) return chook__fail(CHOOK_ENOTSUP, "module %s has no dynamic section", m->path);
    int pltrel = DT_RELA;
    *d = (dyninfo){ 0 };
    for (; dyn->d_tag != DT_NULL; dyn++) {
        switch (dyn->d_tag) {
        case DT_JMPREL: d->jmprel = (const void *)dyn_addr(m, dyn->d_un.d_ptr); break;
        case DT_PLTRELSZ: d->jmprel_size = dyn->d_un.d_val; break;
        case DT_PLTREL: pltrel = (int)dyn->d_un.d_val; break;
        case DT_RELA: d->rela = (const void *)dyn_addr(m, dyn->d_un.d_ptr); break;
        case DT_RELASZ: d->rela_size = dyn->d_un.d_val; break;
        case DT_SYMTAB: d->symtab = (const void *)dyn_addr(m, dyn->d_un.d_ptr); break;
        case DT_STRTAB: d->strtab = (const void *)dyn_addr(m, dyn->d_un.d_ptr); break;
        case DT_STRSZ: d->strsz = dyn->d_un.d_val; break;
        default: break;
        }
    }
    if (pltrel != DT_RELA)
        return chook__fail(CHOOK_ENOTSUP, "module %s uses REL relocations for its PLT", m->path);
    if (!d->symtab || !d->strtab)
        return chook__fail(CHOOK_ENOTSUP, "module %s has no dynamic symbol table", m->path);
    return CHOOK_OK;
}

static void collect(const chook__module *m, const dyninfo *d, const ElfW(Rela) *rel,
                    size_t bytes, const char *name, struct chook_import *h, int *overflow)
{
    for (size_t i = 0; i < bytes / sizeof(*rel); i++) {
        unsigned type = (unsigned)ELF64_R_TYPE(rel[i].r_info);
        size_t symi = ELF64_R_SYM(rel[i].r_info);
        if (!symi || !chook_arch_is_got_reloc(type)) continue;
        const ElfW(Sym) *sym = &d->symtab[symi];
        if (sym->st_name >= d->strsz || chook__strcmp(d->strtab + sym->st_name, name) != 0)
            continue;
        void **slot = (void **)(m->base + rel[i].r_offset);
        int dup = 0;
        for (size_t k = 0; k < h->n; k++) dup |= h->slots[k] == slot;
        if (dup) continue;
        if (h->n == IMPORT_MAX_SLOTS) {
            *overflow = 1;
            return;
        }
        h->slots[h->n++] = slot;
    }
}

/* What the module's calls reach today: an entry already bound (outside the
 * module's own PLT) says it; an entry still lazy is resolved as the dynamic
 * linker will: the global scope first, then the module's own. */
static void *current_target(const chook__module *m, const struct chook_import *h,
                            const char *name)
{
    for (size_t k = 0; k < h->n; k++) {
        uintptr_t v = (uintptr_t)__atomic_load_n(h->slots[k], __ATOMIC_ACQUIRE);
        if (v && (v < m->lo || v >= m->hi)) return (void *)v;
    }
    void *p = dlsym(RTLD_DEFAULT, name);
    if (p) return p;
    void *handle = dlopen(m->pub.is_main ? NULL : m->path, RTLD_LAZY | RTLD_NOLOAD);
    if (handle) {
        p = dlsym(handle, name);
        dlclose(handle);
    }
    return p;
}

static int is_live(const struct chook_import *h)
{
    for (struct chook_import *i = imports; i; i = i->next)
        if (i == h) return 1;
    return 0;
}

static void unlink_hook(struct chook_import *h)
{
    for (struct chook_import **pp = &imports; *pp; pp = &(*pp)->next)
        if (*pp == h) {
            *pp = h->next;
            return;
        }
}

/* Puts back saved[0..n) into the first n slots. */
static void restore(struct chook_import *h, size_t n)
{
    for (size_t k = 0; k < n; k++)
        chook__slot_swap(h->slots[k], h->replacement, h->saved[k]);
}

int chook_import_install(const char *module, const char *symbol, void *replacement,
                         void **original, chook_import **handle)
{
    chook__clear_error();
    if (handle) *handle = NULL;
    if (!module || !symbol || !replacement)
        return chook__fail(CHOOK_EINVAL, "chook_import_install: %s is NULL",
                           !module ? "module" : !symbol ? "symbol" : "replacement");
    chook__module *m;
    CHOOK_CHECK(chook__module_find(module, &m));
    struct chook_import *h = chook__alloc(sizeof(*h));
    if (!h) {
        chook__module_unref(m);
        return chook__fail(CHOOK_ENOMEM, "out of memory for an import hook");
    }
    h->module = m;
    h->replacement = replacement;

    dyninfo d;
    int overflow = 0;
    int status = read_dynamic(m, &d);
    if (status == CHOOK_OK) {
        if (d.jmprel) collect(m, &d, d.jmprel, d.jmprel_size, symbol, h, &overflow);
        if (d.rela) collect(m, &d, d.rela, d.rela_size, symbol, h, &overflow);
        if (overflow)
            status = chook__fail(CHOOK_ENOTSUP, "%s has more than %d GOT entries for '%s'",
                                 m->path, IMPORT_MAX_SLOTS, symbol);
        else if (h->n == 0)
            status = chook__fail(CHOOK_ENOSYM, "%s does not import '%s' (no JUMP_SLOT or "
                                 "GLOB_DAT relocation names it)", m->path, symbol);
    }

    chook__mutex_lock(&imports_lock);
    for (struct chook_import *i = imports; status == CHOOK_OK && i; i = i->next)
        if (i->module == m && i->replacement == replacement && i->slots[0] == h->slots[0])
            status = chook__fail(CHOOK_EEXIST, "%s: the import of '%s' is already redirected "
                                 "to %p", m->path, symbol, replacement);
    if (status == CHOOK_OK && replacement == current_target(m, h, symbol))
        status = chook__fail(CHOOK_ESELF, "%s: the replacement of '%s' is the function itself",
                             m->path, symbol);
    if (status == CHOOK_OK) {
        h->original = current_target(m, h, symbol);
        if (!h->original)
            status = chook__fail(CHOOK_ENOSYM, "%s imports '%s' but no module defines it",
                                 m->path, symbol);
    }
    size_t done = 0;
    if (status == CHOOK_OK) {
        /* The original is published before any call can reach the replacement. */
        if (original) __atomic_store_n(original, h->original, __ATOMIC_RELEASE);
        for (; done < h->n; done++) {
            h->saved[done] = __atomic_load_n(h->slots[done], __ATOMIC_ACQUIRE);
            status = chook__slot_swap(h->slots[done], h->saved[done], replacement);
            if (status != CHOOK_OK) break;
        }
        if (status != CHOOK_OK) {
            restore(h, done);
            chook__fail_context(status, "%s: import of '%s': ", m->path, symbol);
        }
    }
    if (status == CHOOK_OK) {
        h->next = imports;
        imports = h;
    }
    chook__mutex_unlock(&imports_lock);
    if (status == CHOOK_OK && !(h->handle = chook__handle_new(CHOOK__H_IMPORT, h))) {
        /* No handle to give: undo, as if it had never been installed. */
        chook__mutex_lock(&imports_lock);
        restore(h, h->n);
        unlink_hook(h);
        chook__mutex_unlock(&imports_lock);
        status = chook__fail(CHOOK_ENOMEM, "out of memory for an import hook handle");
    }
    if (status != CHOOK_OK) {
        chook__module_unref(m);
        chook__free(h, sizeof(*h));
        return status;
    }
    if (handle) *handle = (chook_import *)h->handle;
    return CHOOK_OK;
}

int chook_import_remove(chook_import *handle)
{
    chook__clear_error();
    struct chook_import *h;
    chook__mutex_lock(&imports_lock);
    /* Garbage is refused without a dereference, a stale handle by its generation. */
    int hst = chook__handle_get((uintptr_t)handle, CHOOK__H_IMPORT, "import hook", (void **)&h);
    if (hst == CHOOK_OK && !is_live(h))
        hst = chook__fail(CHOOK_ENOTHOOKED, "import hook %p is not installed", (void *)handle);
    if (hst != CHOOK_OK) {
        chook__mutex_unlock(&imports_lock);
        return hst;
    }
    chook__modules_refresh();
    int status = CHOOK_OK;
    if (h->module->listed) {
        /* A newer hook on the same entries chains to this one through its
         * original: it must go first. */
        for (struct chook_import *i = imports; i != h; i = i->next)
            for (size_t k = 0; k < i->n && status == CHOOK_OK; k++)
                if (i->slots[k] == h->slots[0])
                    status = chook__fail(CHOOK_EBUSY, "%s: a newer import hook (to %p) is "
                                         "installed on the same GOT entries; remove it first",
                                         h->module->path, i->replacement);
        for (size_t k = 0; k < h->n && status == CHOOK_OK; k++) {
            status = chook__slot_swap(h->slots[k], h->replacement, h->saved[k]);
            if (status != CHOOK_OK) {
                /* Put the entries already restored back under the hook. */
                for (size_t j = 0; j < k; j++)
                    chook__slot_swap(h->slots[j], h->saved[j], h->replacement);
            }
        }
    }
    /* A module unloaded since took its GOT with it: nothing to restore. */
    if (status == CHOOK_OK) {
        unlink_hook(h);
        chook__handle_release(h->handle);
    }
    chook__mutex_unlock(&imports_lock);
    if (status != CHOOK_OK) return status;
    chook__module_unref(h->module);
    chook__free(h, sizeof(*h));
    return CHOOK_OK;
}

/* fork() must not split this lock (see chook__fork_guard). */
__attribute__((constructor)) static void imports_fork_guard(void)
{
    chook__fork_guard(&imports_lock, CHOOK_RANK_IMPORTS);
}
