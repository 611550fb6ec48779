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

/* ---- compiler clones ------------------------------------------------------------- */

/* The suffix words GCC gives the copies it makes of a function: foo.constprop.0
 * (constants propagated), foo.isra.0 (scalar replacement of aggregates),
 * foo.part.0 (a part split out), foo.cold (its cold blocks), foo.lto_priv.0,
 * foo.localalias. Clang's foo.llvm.123 too. */
static int clone_word(const char *w, size_t n)
{
    static const char *const words[] = { "constprop", "isra", "part", "cold", "lto_priv",
                                         "localalias", "llvm", "specialized" };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (chook__strlen(words[i]) == n && chook__memcmp(words[i], w, n) == 0) return 1;
    return 0;
}

/* Whether s (after a '.') is a chain of clone suffixes: words, each optionally
 * followed by numbers ("isra.0.constprop.0", "part.0.cold"). */
static int clone_chain(const char *s, int *cold)
{
    int words = 0;
    while (*s) {
        const char *e = s;
        while (*e && *e != '.') e++;
        size_t n = (size_t)(e - s);
        int digits = n > 0;
        for (size_t i = 0; i < n; i++) digits &= s[i] >= '0' && s[i] <= '9';
        if (!digits) {
            if (!clone_word(s, n)) return 0;
            if (n == 4 && chook__memcmp(s, "cold", 4) == 0) *cold = 1;
            words++;
        } else if (!words) {
            return 0;
        }
        s = *e ? e + 1 : e;
        if (*e && !*s) return 0; /* trailing dot */
    }
    return words > 0;
}

size_t chook__clone_base_len(const char *name, int *cold)
{
    int c = 0;
    size_t len = chook__strlen(name);
    for (size_t i = 1; i < len; i++) {
        if (name[i] != '.') continue;
        c = 0;
        if (clone_chain(name + i + 1, &c)) {
            if (cold) *cold = c;
            return i;
        }
    }
    if (cold) *cold = 0;
    return len;
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

/* No symbol of that name: the compiler's clones of it (foo.constprop.0), which
 * are all there is of a function that was only cloned. Cold parts are not
 * functions one can call. */
static int lookup_clone(const char *module, const char *name, chook__module **list, size_t n,
                        chook__module **mod_out, size_t *index_out)
{
    candidate c[AMBIGUOUS_LISTED + 1];
    size_t found = 0, len = chook__strlen(name);
    for (size_t k = 0; k < n; k++) {
        chook__module *m = list[k];
        if (m->parse_state != 1) continue;
        /* Sorted by name: the clones follow the names that sort before "name." */
        for (size_t j = 0; j < m->tab.n; j++) {
            const chook__sym *s = &m->tab.syms[j];
            const char *sn = m->tab.strings + s->name;
            if (s->type == STT_OBJECT || (s->flags & CHOOK__SYM_OLDVER) || sn[len] != '.' ||
                chook__memcmp(sn, name, len) != 0)
                continue;
            int cold;
            if (chook__clone_base_len(sn, &cold) != len || cold) continue;
            int dup = 0;
            for (size_t q = 0; q < found && q <= AMBIGUOUS_LISTED; q++)
                if (c[q].m->base + c[q].m->tab.syms[c[q].i].value == m->base + s->value) dup = 1;
            if (dup) continue;
            if (found <= AMBIGUOUS_LISTED) c[found] = (candidate){ m, j };
            found++;
        }
    }
    if (found == 1) {
        *mod_out = c[0].m;
        *index_out = c[0].i;
        return CHOOK_OK;
    }
    if (found > 1) {
        char names[400];
        size_t pos = 0;
        for (size_t k = 0; k < found && k < AMBIGUOUS_LISTED && pos < sizeof names; k++) {
            int w = snprintf(names + pos, sizeof names - pos, "%s%s", k ? ", " : "",
                             c[k].m->tab.strings + c[k].m->tab.syms[c[k].i].name);
            if (w < 0) break;
            pos += (size_t)w;
        }
        return chook__fail(CHOOK_EAMBIGUOUS, "no symbol '%s', but %zu compiler clones of it "
                           "(%s%s); name one, or use chook_attach_pattern() to reach every "
                           "clone", name, found, names, found > AMBIGUOUS_LISTED ? ", ..." : "");
    }
    return search_failed(module, name, list, n);
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
    return lookup_clone(module, name, list, n, mod_out, index_out);
}

int chook_symbol_lookup(const char *module, const char *name, chook_symbol *symbol,
                        void **address)
{
    chook__clear_error();
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
    return chook_symbol_each_ex(pattern, 0, fn, data);
}

/* Whether a symbol name matches sympat: as it is, or, with CHOOK_EACH_CLONES,
 * without its clone suffix. */
static int name_matches(const char *sympat, const char *name, unsigned flags)
{
    if (fnmatch(sympat, name, 0) == 0) return 1;
    if (!(flags & CHOOK_EACH_CLONES)) return 0;
    size_t base = chook__clone_base_len(name, NULL);
    if (!name[base] || base >= 256) return 0;
    char b[256];
    chook__memcpy(b, name, base);
    b[base] = 0;
    return fnmatch(sympat, b, 0) == 0;
}

int chook_symbol_each_ex(const char *pattern, unsigned flags, chook_symbol_fn fn, void *data)
{
    chook__clear_error();
    if (!pattern || !fn)
        return chook__fail(CHOOK_EINVAL, "chook_symbol_each: %s is NULL", !pattern ? "pattern" : "fn");
    if (flags & ~(unsigned)(CHOOK_EACH_EXPORTED | CHOOK_EACH_CLONES))
        return chook__fail(CHOOK_EINVAL, "chook_symbol_each_ex: unknown flags 0x%x", flags);
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
            if ((flags & CHOOK_EACH_EXPORTED) && !(s->flags & CHOOK__SYM_EXPORTED)) continue;
            if (!name_matches(sympat, m->tab.strings + s->name, flags)) continue;
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
    chook__clear_error(); /* what fn's own calls left is not this call's */
    return CHOOK_OK;
}
