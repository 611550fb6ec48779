/*
 * Hooking every function of libc at once: resolve them by pattern
 * ("libc.so.6:*"), hook each hookable one with a generic pass-through replacement
 * in one transaction, run some libc-heavy work through the hooks, and remove them
 * all in one transaction. Prints the time of each step and per function.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <chook.h>

#include "bench.h"

#define MAX_FUNCS 8192
extern char hookall_thunks[];
extern void *hookall_originals[MAX_FUNCS];

struct all {
    void *addr[MAX_FUNCS];
    unsigned n, symbols, refused;
};

static int collect(const chook_symbol *sym, void *data)
{
    struct all *a = data;
    a->symbols++;
    for (unsigned i = 0; i < a->n; i++)
        if (a->addr[i] == sym->address) return 0; /* one function, several names */
    chook_probe_info info;
    chook_probe(sym->address, &info);
    if (info.status != CHOOK_OK) {
        a->refused++;
        return 0;
    }
    if (a->n < MAX_FUNCS) a->addr[a->n++] = sym->address;
    return 0;
}

static unsigned long work(void)
{
    char buf[256];
    unsigned long acc = 0;
    for (int i = 0; i < 2000; i++) {
        snprintf(buf, sizeof buf, "%d-%s", i, "chook");
        acc += strlen(buf);
        char *p = malloc(64 + (size_t)i % 64);
        memset(p, i & 0xff, 64);
        acc += (unsigned char)p[3];
        free(p);
        acc += (unsigned long)strtol("12345", NULL, 10);
    }
    return acc;
}

int main(int argc, char **argv)
{
    static struct all a;
    bench_begin(argc, argv, "chook: hook every function of libc at once");
    unsigned long expect = work();

    uint64_t t0 = bench_now_ns();
    if (chook_symbol_each("libc.so.6:*", collect, &a) != CHOOK_OK) {
        fprintf(stderr, "enumerate: %s\n", chook_last_error());
        return 1;
    }
    uint64_t t1 = bench_now_ns();
    chook_transaction_begin();
    for (unsigned i = 0; i < a.n; i++)
        chook_install(a.addr[i], hookall_thunks + 8 * i, &hookall_originals[i]);
    int st = chook_transaction_commit();
    uint64_t t2 = bench_now_ns();
    if (st != CHOOK_OK) {
        fprintf(stderr, "install: %s\n", chook_last_error());
        return 1;
    }
    unsigned long got = work();
    uint64_t t3 = bench_now_ns();
    chook_transaction_begin();
    for (unsigned i = 0; i < a.n; i++) chook_uninstall(a.addr[i]);
    st = chook_transaction_commit();
    uint64_t t4 = bench_now_ns();
    if (st != CHOOK_OK || got != expect) {
        fprintf(stderr, "uninstall: %s (work %lu vs %lu)\n", chook_last_error(), got, expect);
        return 1;
    }
    bench_report("libc_symbols", a.symbols, "symbols");
    bench_report("libc_functions_hooked", a.n, "functions (one per address)");
    bench_report("libc_functions_refused", a.refused, "symbols not hookable");
    bench_report("resolve_and_probe_ms", (double)(t1 - t0) / 1e6, "ms");
    bench_report("install_transaction_ms", (double)(t2 - t1) / 1e6, "ms");
    bench_report("install_per_function_us", (double)(t2 - t1) / 1e3 / a.n, "us/function");
    bench_report("uninstall_transaction_ms", (double)(t4 - t3) / 1e6, "ms");
    bench_end();
    return 0;
}
