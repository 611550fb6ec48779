/*
 * Resolving symbols by name and enumerating functions by pattern, over the cached
 * module symbol tables (modules.c, symtab.c).
 *
 * Search order of a lookup, as a user of the dynamic linker expects:
 *   1. exported definitions (default version) in module load order: the first wins,
 *      as for dlsym(RTLD_DEFAULT);
 *   2. other definitions (local or hidden) from .symtab or the debug file: exactly
 *      one address must remain, or the name is ambiguous;
 *   3. old symbol versions, as a last resort.
 */
#include <dlfcn.h>
#include <elf.h>
#include <fnmatch.h>
#include <stdio.h>

#include "internal.h"
#include "symbols.h"

#define AMBIGUOUS_LISTED 6 /* candidates named in the message (it has 512 bytes) */

/* The implementation an IFUNC selects. An exported one is asked of the dynamic
 * linker (dlsym runs the resolver exactly as symbol binding does); a local one has
 * its resolver called directly, as the linker does for IRELATIVE relocations. */
static void *resolve_ifunc(chook__module *m, const char *name, uintptr_t resolver,
                           int exported)
{
    if (exported) {
        void *h = dlopen(m->pub.is_main ? NULL : m->path, RTLD_LAZY | RTLD_NOLOAD);
        if (h) {
            void *p = dlsym(h, name);
            dlclose(h);
            if (p) return p;
        }
    }
    return (void *)chook_arch_call_ifunc_resolver(resolver);
}

static size_t size_at(uintptr_t addr)
{
    chook__module *m = chook__module_at(addr);
    size_t size = 0;
    if (m && chook__module_parse(m) == CHOOK_OK) {
        long k = chook__symtab_at(&m->tab, addr - m->base);
        if (k >= 0) {
            const chook__sym *s = &m->tab.syms[m->tab.by_addr[k]];
            if (s->value == addr - m->base) size = s->size;
        }
    }
    chook__module_unref(m);
    return size;
}

void chook__symbol_fill(chook__module *m, size_t i, chook_symbol *out)
{
    const chook__sym *s = &m->tab.syms[i];
    uintptr_t addr = m->base + s->value;
    out->name = m->tab.strings + s->name;
    out->module = &m->pub;
    out->flags = s->type == STT_OBJECT ? CHOOK_SYMBOL_OBJECT : CHOOK_SYMBOL_FUNCTION;
    if (s->flags & CHOOK__SYM_EXPORTED) out->flags |= CHOOK_SYMBOL_EXPORTED;
    if (s->flags & CHOOK__SYM_LOCAL) out->flags |= CHOOK_SYMBOL_LOCAL;
    if (s->flags & CHOOK__SYM_DEBUG) out->flags |= CHOOK_SYMBOL_DEBUG;
    out->resolver = NULL;
    out->size_of_struct = sizeof *out;
    out->address = (void *)addr;
    out->size = s->size;
    if (s->type == STT_GNU_IFUNC) {
        out->flags |= CHOOK_SYMBOL_IFUNC;
        out->resolver = (void *)addr;
        out->address = resolve_ifunc(m, out->name, addr, s->flags & CHOOK__SYM_EXPORTED);
        out->size = out->address ? size_at((uintptr_t)out->address) : 0;
    }
}

/* ---- lookup ---------------------------------------------------------------------- */

typedef struct candidate {
    chook__module *m;
    size_t i;
} candidate;

static int search_failed(const char *module, const char *name, chook__module **list,
                         size_t n)
{
    if (module && n == 1) {
        chook__module *m = list[0];
        if (m->tab.has_symtab)
            return chook__fail(CHOOK_ENOSYM, "no symbol '%s' in %s (searched .dynsym and %s)",
                               name, m->path,
                               m->tab.debug_path[0] ? m->tab.debug_path : ".symtab");
        return chook__fail(CHOOK_ENOSYM,
                           "no symbol '%s' in %s (searched .dynsym only: the file has no "
                           ".symtab and no separate debug file was found)", name, m->path);
    }
    return chook__fail(CHOOK_ENOSYM, "no symbol '%s' in any of the %zu loaded modules", name, n);
}

static int ambiguous(const char *name, const candidate *c, size_t n)
{
    char list[400];
    size_t pos = 0;
    for (size_t k = 0; k < n && k < AMBIGUOUS_LISTED && pos < sizeof(list); k++) {
        int w = snprintf(list + pos, sizeof(list) - pos, "%s%s at %p", k ? ", " : "",
                         c[k].m->basename,
                         (void *)(c[k].m->base + c[k].m->tab.syms[c[k].i].value));
        if (w < 0) break;
        pos += (size_t)w;
    }
    return chook__fail(CHOOK_EAMBIGUOUS,
                       "symbol '%s' is ambiguous: %zu local definitions (%s%s); name the "
                       "module or use the address", name, n, list,
                       n > AMBIGUOUS_LISTED ? ", ..." : "");
}

/* pass 1: exported and current; pass 2: any current version; pass 3: old versions. */
static int pass_accepts(int pass, const chook__sym *s)
{
    if (pass == 1) return (s->flags & (CHOOK__SYM_EXPORTED | CHOOK__SYM_OLDVER)) == CHOOK__SYM_EXPORTED;
    if (pass == 2) return !(s->flags & CHOOK__SYM_OLDVER);
    return 1;
}

static int lookup_in(const char *module, const char *name, chook__module **list, size_t n,
                     chook__module **mod_out, size_t *index_out)
{
    candidate c[AMBIGUOUS_LISTED + 1];
    for (int pass = 1; pass <= 3; pass++) {
        size_t found = 0;
        for (size_t k = 0; k < n; k++) {
            chook__module *m = list[k];
            int parsed = chook__module_parse(m);
            if (parsed != CHOOK_OK) {
                if (module) return parsed;
                continue;
            }
            size_t first, count = chook__symtab_range(&m->tab, name, &first);
            for (size_t j = first; j < first + count; j++) {
                const chook__sym *s = &m->tab.syms[j];
                if (!pass_accepts(pass, s)) continue;
                if (pass != 2) {
                    *mod_out = m;
                    *index_out = j;
                    return CHOOK_OK;
                }
                /* The same address under one name (an alias kept twice) is one
                 * definition. */
                int dup = 0;
                for (size_t q = 0; q < found && q <= AMBIGUOUS_LISTED; q++)
                    if (c[q].m->base + c[q].m->tab.syms[c[q].i].value == m->base + s->value)
                        dup = 1;
                if (dup) continue;
                if (found <= AMBIGUOUS_LISTED) c[found] = (candidate){ m, j };
                found++;
            }
        }
        if (pass == 2 && found == 1) {
            *mod_out = c[0].m;
            *index_out = c[0].i;
            return CHOOK_OK;
        }
        if (pass == 2 && found > 1) return ambiguous(name, c, found);
    }
    return search_failed(module, name, list, n);
}

int chook_symbol_lookup(const char *module, const char *name, chook_symbol *symbol,
                        void **address)
{
    if (!name) return chook__fail(CHOOK_EINVAL, "chook_symbol_lookup: name is NULL");
    if (!name[0]) return chook__fail(CHOOK_EINVAL, "chook_symbol_lookup: name is empty");
    chook__module **list;
    size_t n;
    chook__module *one = NULL;
    if (module) {
        CHOOK_CHECK(chook__module_find(module, &one));
        list = &one;
        n = 1;
    } else {
        CHOOK_CHECK(chook__module_list(&list, &n));
    }
    chook__module *m = NULL;
    size_t i = 0;
    int status = lookup_in(module, name, list, n, &m, &i);
    if (status == CHOOK_OK) {
        chook_symbol out = { 0 };
        chook__symbol_fill(m, i, &out);
        if (!out.address) {
            status = chook__fail(CHOOK_ENOSYM, "the resolver of IFUNC '%s' in %s selected no "
                                 "implementation", name, m->path);
        } else {
            if (symbol) *symbol = out;
            if (address) *address = out.address;
        }
    }
    if (one) chook__module_unref(one);
    else chook__module_list_free(list, n);
    return status;
}

int chook__symbol_resolve_in(chook__module *m, const char *name, int call_resolvers,
                             uintptr_t *addr)
{
    chook__module *one = m, *found = NULL;
    size_t i = 0;
    CHOOK_CHECK(lookup_in(m->path, name, &one, 1, &found, &i));
    const chook__sym *s = &m->tab.syms[i];
    uintptr_t a = m->base + s->value;
    if (s->type == STT_GNU_IFUNC) {
        if (!call_resolvers)
            return chook__fail(CHOOK_ENOTSUP, "'%s' in %s is an IFUNC, whose resolver cannot "
                               "run before the module is relocated", name, m->path);
        a = (uintptr_t)((void *(*)(void))a)();
        if (!a)
            return chook__fail(CHOOK_ENOSYM, "the resolver of IFUNC '%s' in %s selected no "
                               "implementation", name, m->path);
    }
    *addr = a;
    return CHOOK_OK;
}

/* ---- enumeration ------------------------------------------------------------------ */

int chook_symbol_each(const char *pattern, chook_symbol_fn fn, void *data)
{
    if (!pattern || !fn)
        return chook__fail(CHOOK_EINVAL, "chook_symbol_each: %s is NULL", !pattern ? "pattern" : "fn");
    char modpat[512];
    const char *sympat = pattern;
    int any_module = 1;
    for (const char *p = pattern; *p; p++) {
        if (*p != ':') continue;
        size_t len = (size_t)(p - pattern);
        if (len >= sizeof(modpat))
            return chook__fail(CHOOK_EINVAL, "module pattern of '%s' is too long", pattern);
        chook__memcpy(modpat, pattern, len);
        modpat[len] = '\0';
        sympat = p + 1;
        any_module = 0;
        break;
    }
    if (!*sympat) return chook__fail(CHOOK_EINVAL, "pattern '%s' has no symbol part", pattern);

    chook__module **list;
    size_t n;
    CHOOK_CHECK(chook__module_list(&list, &n));
    size_t modules = 0, calls = 0;
    int stop = 0;
    for (size_t k = 0; k < n && !stop; k++) {
        chook__module *m = list[k];
        if (!any_module && !chook__module_matches(m, modpat, 1)) continue;
        modules++;
        /* A module whose file cannot be read (deleted, replaced) has no
         * functions to offer; the others still do. */
        if (chook__module_parse(m) != CHOOK_OK) continue;
        for (size_t i = 0; i < m->tab.n && !stop; i++) {
            const chook__sym *s = &m->tab.syms[i];
            if (s->type == STT_OBJECT || (s->flags & CHOOK__SYM_OLDVER)) continue;
            if (fnmatch(sympat, m->tab.strings + s->name, 0) != 0) continue;
            chook_symbol sym;
            chook__symbol_fill(m, i, &sym);
            if (!sym.address) continue;
            calls++;
            stop = fn(&sym, data) != 0;
        }
    }
    chook__module_list_free(list, n);
    if (!any_module && modules == 0)
        return chook__fail(CHOOK_ENOMODULE, "no loaded module matches '%s'", modpat);
    if (calls == 0)
        return chook__fail(CHOOK_ENOSYM, "no function matches '%s'", pattern);
    return CHOOK_OK;
}
