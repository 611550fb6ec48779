/*
 * The extent of the function that holds an address, for the core's short-function
 * padding and branch-into checks: from the cached symbol tables of the module that
 * maps the address (.dynsym, .symtab and the separate debug file), so static
 * functions have a size and a known successor too.
 */
#include "internal.h"
#include "symbols.h"

int chook__symbol_extent(uintptr_t addr, uintptr_t *start, size_t *size,
                         uintptr_t *next_start)
{
    /* Not finding an extent is not an error of the caller's call: keep its
     * last-error message as it was. */
    chook__saved_error saved;
    chook__error_save(&saved);
    chook__module *m = chook__module_at(addr);
    int found = 0;
    if (m && chook__module_parse(m) == CHOOK_OK) {
        const chook__symtab *t = &m->tab;
        long k = chook__symtab_at(t, addr - m->base);
        if (k >= 0) {
            const chook__sym *s = &t->syms[t->by_addr[k]];
            uintptr_t a = m->base + s->value;
            /* A zero-sized symbol (hand-written assembly) covers its own address. */
            if (addr < a + (s->size ? s->size : 1)) {
                *start = a;
                *size = s->size;
                *next_start = (size_t)k + 1 < t->n_by_addr
                                  ? m->base + t->syms[t->by_addr[k + 1]].value : 0;
                found = 1;
            }
        }
    }
    chook__module_unref(m);
    chook__error_restore(&saved);
    return found;
}

int chook__symbol_cold_part(uintptr_t addr, char *name, size_t cap)
{
    chook__saved_error saved;
    chook__error_save(&saved);
    chook__module *m = chook__module_at(addr);
    int cold = 0;
    if (m && chook__module_parse(m) == CHOOK_OK) {
        const chook__symtab *t = &m->tab;
        long k = chook__symtab_at(t, addr - m->base);
        if (k >= 0) {
            const chook__sym *s = &t->syms[t->by_addr[k]];
            const char *n = t->strings + s->name;
            if (m->base + s->value == addr) chook__clone_base_len(n, &cold);
            if (cold && cap) {
                size_t i = 0;
                for (; n[i] && i + 1 < cap; i++) name[i] = n[i];
                name[i] = 0;
            }
        }
    }
    chook__module_unref(m);
    chook__error_restore(&saved);
    return cold;
}
