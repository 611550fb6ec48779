/*
 * Modules and symbol tables, shared by the by-name services (symbols.c,
 * modules.c, symtab.c, extent.c, byname.c, imports.c, pending.c).
 *
 * Ownership: a chook__module is reference-counted. The list of loaded modules
 * (modules.c) holds one reference; every caller that uses a module outside the
 * list lock takes its own with chook__module_list() / chook__module_find() and
 * drops it with chook__module_unref(). A module that has been unloaded leaves the
 * list at the next refresh and is freed with its last reference, so callbacks may
 * run without any chook lock held.
 */
#ifndef CHOOK_SYMBOLS_H
#define CHOOK_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

#include "chook.h"

/* One defined symbol of a module's ELF file. */
typedef struct chook__sym {
    uint64_t value;   /* st_value: ELF address (runtime address = base + value) */
    uint64_t size;    /* st_size */
    uint32_t name;    /* offset of its name (without any @version) in strings */
    uint8_t type;     /* STT_FUNC, STT_GNU_IFUNC or STT_OBJECT */
    uint8_t flags;    /* CHOOK__SYM_* */
} chook__sym;

#define CHOOK__SYM_EXPORTED 0x01  /* global or weak in .dynsym, default visibility */
#define CHOOK__SYM_LOCAL    0x02  /* STB_LOCAL (a static function or object) */
#define CHOOK__SYM_OLDVER   0x04  /* a non-default symbol version (name@VER) */
#define CHOOK__SYM_DEBUG    0x08  /* found only in the separate debug file */

/* The symbols of one ELF file, parsed once. */
typedef struct chook__symtab {
    chook__sym *syms;     /* sorted by name, then by address */
    size_t n, syms_cap;
    uint32_t *by_addr;    /* indices of function symbols sorted by address, one per
                             address (the largest alias) */
    size_t n_by_addr, by_addr_cap;
    char *strings;        /* names, NUL-terminated */
    size_t strings_len;   /* allocated bytes */
    int has_symtab;       /* local symbols were available (.symtab or debug file) */
    char debug_path[256]; /* the separate debug file used, "" when none */
} chook__symtab;

typedef struct chook__module {
    chook_module pub;         /* what the public API shows (points into here) */
    char *path;               /* file as the loader named it (the vDSO: its name) */
    size_t path_size;
    char *real;               /* its real path (symbolic links resolved) */
    size_t real_size;
    char soname[128];
    const char *basename;     /* into path */
    uintptr_t base;           /* load bias */
    uintptr_t lo, hi;         /* [lo, hi) covered by PT_LOAD segments */
    uintptr_t ehdr;           /* runtime address of the ELF header, 0 if unknown */
    const void *phdr;         /* program headers in memory */
    unsigned phnum;
    int in_memory;            /* no file: parse the mapped image (the vDSO) */
    int refs;
    int listed;               /* still in the list of loaded modules */
    int parse_state;          /* 0 not yet, 1 parsed, -1 failed */
    int parse_status;         /* status of a failed parse */
    int settled;              /* known relocated (pending.c): its IFUNC resolvers
                                 may run */
    chook__symtab tab;
    struct chook__branch_index *branches; /* branchindex.c: built on first use,
                                             freed with the record */
    struct chook__module *next;
} chook__module;

/* strcmp that never calls libc (the user may have hooked strcmp). */
static inline int chook__strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

/* The calling thread's chook_last_error(), kept across internal queries whose
 * failures are not the caller's business (a symbol extent the core asks for). */
typedef struct chook__saved_error { char message[512]; } chook__saved_error;
void chook__error_save(chook__saved_error *e);
void chook__error_restore(const chook__saved_error *e);

/* ---- modules.c -------------------------------------------------------------- */

/* Brings the list of loaded modules up to date (dl_iterate_phdr). */
int chook__modules_refresh(void);

/* A referenced snapshot of the loaded modules in load order (the main program
 * first). *out is a chook__alloc'ed array of *n references; release it with
 * chook__module_list_free(). */
int chook__module_list(chook__module ***out, size_t *n);
void chook__module_list_free(chook__module **list, size_t n);

/* The module (referenced) that maps addr, NULL when none. */
chook__module *chook__module_at(uintptr_t addr);

/* The one loaded module named `name` (referenced). NULL name is refused here.
 * Returns CHOOK_OK, CHOOK_ENOMODULE or CHOOK_EAMBIGUOUS with a message. */
int chook__module_find(const char *name, chook__module **out);

void chook__module_ref(chook__module *m);
void chook__module_unref(chook__module *m);

/* Whether `name` names module m: its path, its soname, its file name, or one of
 * those without a trailing ".N[.N...]" version ("libz.so" names libz.so.1).
 * With glob != 0, name is an fnmatch pattern tried against path, file name and
 * soname. */
int chook__module_matches(const chook__module *m, const char *name, int glob);

/* Parses m's symbols on first use (thread-safe). Returns CHOOK_OK or a status
 * with a message. */
int chook__module_parse(chook__module *m);

/* ---- branchindex.c ------------------------------------------------------------ */

struct chook__branch_index;
void chook__branch_index_free(struct chook__branch_index *ix);

/* ---- symtab.c ----------------------------------------------------------------- */

/* Reads the symbols of the ELF file at path (or of the image in memory when
 * image != NULL) into tab, adding the separate debug file's .symtab when the file
 * has none. Returns CHOOK_OK or a status with a message. */
int chook__symtab_load(chook__symtab *tab, const char *path, const void *image,
                       size_t image_size, char *soname, size_t soname_size);
void chook__symtab_free(chook__symtab *tab);

/* The range of entries of tab->syms named exactly `name`: *first and the count. */
size_t chook__symtab_range(const chook__symtab *tab, const char *name, size_t *first);

/* The position in tab->by_addr of the function with the greatest address <=
 * value, -1 when none. */
long chook__symtab_at(const chook__symtab *tab, uint64_t value);

/* Where separate debug files are looked for ("/usr/lib/debug" by default). Tests
 * point it at a directory of their own. The string is copied. */
void chook__symtab_set_debug_root(const char *dir);

/* ---- symbols.c ---------------------------------------------------------------- */

/* Fills the public view of symbol i of module m (IFUNCs resolved). */
void chook__symbol_fill(chook__module *m, size_t i, chook_symbol *out);

/* The address of `name` in module m, by the same rules as chook_symbol_lookup()
 * but without asking the dynamic linker (no dlopen/dlsym: safe while it holds its
 * lock). An IFUNC has its resolver called only when call_resolvers != 0 (the
 * module is relocated); otherwise it gives CHOOK_ENOTSUP. */
int chook__symbol_resolve_in(chook__module *m, const char *name, int call_resolvers,
                             uintptr_t *addr);

/* The length of name without a compiler clone suffix (".constprop.0",
 * ".isra.0", ".part.0", ".cold", ...): strlen(name) when it has none. *cold (may
 * be NULL) tells whether the suffix names a cold part (entered by a jump, not a
 * function one calls). */
size_t chook__clone_base_len(const char *name, int *cold);

/* ---- dataslot.c --------------------------------------------------------------- */

/* Atomically replaces *slot with value when it holds expect, also on a read-only
 * page (made writable for the store, then given back its exact protection).
 * Returns CHOOK_OK; CHOOK_EINVAL (misaligned, unreadable), CHOOK_EUNMAPPED,
 * CHOOK_EPATCH (it held something else, or mprotect failed) with a message. */
int chook__slot_swap(void **slot, void *expect, void *value);
/* Whether *slot may be read: CHOOK_OK, or CHOOK_EINVAL / CHOOK_EUNMAPPED. */
int chook__slot_check(void **slot);

#endif /* CHOOK_SYMBOLS_H */
