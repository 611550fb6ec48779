/*
 * Cost of the by-name services: parsing libc's symbol tables once, looking up one
 * symbol, enumerating libc, and resolving + hooking every libc function that
 * matches a pattern in one transaction (then unhooking them in another).
 *
 * Usage: bench_symbols [--json] [PATTERN]   (default "libc.so.6:wcs*": functions
 * this program never calls while they are hooked to a stub).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "chook.h"

#define MAX_TARGETS 4096

typedef struct names {
    const char *name[MAX_TARGETS];
    void *addr[MAX_TARGETS];
    size_t n;
} names;

static int collect(const chook_symbol *s, void *data)
{
    names *out = data;
    if (out->n < MAX_TARGETS && (s->flags & CHOOK_SYMBOL_EXPORTED)) {
        out->name[out->n] = s->name;
        out->addr[out->n] = s->address;
        out->n++;
    }
    return 0;
}

static int count(const chook_symbol *s, void *data)
{
    (void)s;
    (*(size_t *)data)++;
    return 0;
}

/* Stands in for every hooked function; none of them is called while hooked. */
static void never_called(void)
{
    abort();
}

int main(int argc, char **argv)
{
    const char *pattern = "libc.so.6:wcs*";
    for (int i = 1; i < argc; i++)
        if (argv[i][0] != '-') pattern = argv[i];
    bench_begin(argc, argv, "chook by-name services (libc)");

    /* 1. First enumeration: parses libc's .dynsym/.symtab (and debug file). */
    size_t all = 0;
    uint64_t t0 = bench_now_ns();
    if (chook_symbol_each("libc.so.6:*", count, &all) != CHOOK_OK) {
        fprintf(stderr, "enumeration failed: %s\n", chook_last_error());
        return 1;
    }
    uint64_t t1 = bench_now_ns();
    bench_report("libc_functions", (double)all, "functions");
    bench_report("libc_first_enumeration_ms", (double)(t1 - t0) / 1e6, "ms");

    all = 0;
    t0 = bench_now_ns();
    chook_symbol_each("libc.so.6:*", count, &all);
    t1 = bench_now_ns();
    bench_report("libc_cached_enumeration_ms", (double)(t1 - t0) / 1e6, "ms");

    /* 2. Lookups of every exported libc function by name (cached tables). */
    static names exported;
    chook_symbol_each("libc.so.6:*", collect, &exported);
    size_t ok = 0;
    t0 = bench_now_ns();
    for (size_t i = 0; i < exported.n; i++) {
        void *addr;
        ok += chook_symbol_lookup("libc.so.6", exported.name[i], NULL, &addr) == CHOOK_OK;
        BENCH_KEEP(addr);
    }
    t1 = bench_now_ns();
    bench_report("lookup_in_module_ns", exported.n ? (double)(t1 - t0) / (double)exported.n : 0, "ns/lookup");
    t0 = bench_now_ns();
    for (size_t i = 0; i < exported.n; i++) {
        void *addr;
        ok += chook_symbol_lookup(NULL, exported.name[i], NULL, &addr) == CHOOK_OK;
        BENCH_KEEP(addr);
    }
    t1 = bench_now_ns();
    bench_report("lookup_any_module_ns", exported.n ? (double)(t1 - t0) / (double)exported.n : 0, "ns/lookup");
    bench_report("lookups_resolved", (double)ok, "lookups");

    /* 3. Resolve and hook every matching function in one transaction. */
    static names targets;
    t0 = bench_now_ns();
    if (chook_symbol_each(pattern, collect, &targets) != CHOOK_OK) {
        fprintf(stderr, "pattern %s: %s\n", pattern, chook_last_error());
        return 1;
    }
    /* Several names of one function are hooked once; unhookable ones are left out
     * (a transaction with one bad target would apply nothing). */
    static void *unique[MAX_TARGETS];
    size_t n = 0;
    for (size_t i = 0; i < targets.n; i++) {
        int dup = 0;
        for (size_t k = 0; k < n && !dup; k++) dup = unique[k] == targets.addr[i];
        chook_probe_info info;
        if (!dup && chook_probe(targets.addr[i], &info) == CHOOK_OK && info.status == CHOOK_OK)
            unique[n++] = targets.addr[i];
    }
    uint64_t t_resolved = bench_now_ns();
    chook_transaction_begin();
    for (size_t i = 0; i < n; i++) chook_install(unique[i], (void *)never_called, NULL);
    int st = chook_transaction_commit();
    uint64_t t_hooked = bench_now_ns();
    if (st != CHOOK_OK) {
        fprintf(stderr, "commit failed: %s\n", chook_last_error());
        return 1;
    }
    chook_transaction_begin();
    for (size_t i = 0; i < n; i++) chook_uninstall(unique[i]);
    st = chook_transaction_commit();
    uint64_t t_unhooked = bench_now_ns();
    if (st != CHOOK_OK) {
        fprintf(stderr, "uninstall commit failed: %s\n", chook_last_error());
        return 1;
    }
    bench_report("pattern_functions_hooked", (double)n, "functions");
    bench_report("pattern_resolve_and_probe_ms", (double)(t_resolved - t0) / 1e6, "ms");
    bench_report("pattern_install_transaction_ms", (double)(t_hooked - t_resolved) / 1e6, "ms");
    bench_report("pattern_uninstall_transaction_ms", (double)(t_unhooked - t_hooked) / 1e6, "ms");
    bench_report("pattern_install_per_function_us",
                 n ? (double)(t_hooked - t_resolved) / 1e3 / (double)n : 0, "us/function");
    bench_end();
    return 0;
}
