/*
 * Inline hooks: cost of a hooked call (the replacement calls the original)
 * against a direct call of the same trivial function in the same run; install
 * and uninstall time one at a time and in one transaction of 10,000; executable
 * memory per hook.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <chook.h>

#include "bench.h"

extern char bench_targets_begin[], bench_targets_end[];
#define TARGET_STRIDE 16

__attribute__((noinline)) int bench_trivial(int x)
{
    __asm__ volatile("");
    return x * 3 + 1;
}

static int (*orig_trivial)(int);
static int repl_trivial(int x) { return orig_trivial(x); }
static int repl_target(void) { return 8; }

static double time_calls(int (*volatile f)(int), long n)
{
    int acc = 0;
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) acc += f((int)i);
    uint64_t t1 = bench_now_ns();
    BENCH_KEEP(acc);
    return (double)(t1 - t0) / (double)n;
}

/* Best of several rounds, interleaving direct and hooked, so both see the
 * same machine. */
static void bench_call_ratio(void)
{
    const long n = 20000000;
    double direct = 1e9, hooked = 1e9;
    if (chook_install((void *)bench_trivial, (void *)repl_trivial, (void **)&orig_trivial) !=
        CHOOK_OK) {
        fprintf(stderr, "install failed: %s\n", chook_last_error());
        exit(1);
    }
    int (*volatile unhooked)(int) = orig_trivial; /* behaves like the direct call */
    (void)unhooked;
    for (int round = 0; round < 5; round++) {
        chook_uninstall((void *)bench_trivial);
        double d = time_calls(bench_trivial, n);
        chook_install((void *)bench_trivial, (void *)repl_trivial, (void **)&orig_trivial);
        double h = time_calls(bench_trivial, n);
        if (d < direct) direct = d;
        if (h < hooked) hooked = h;
    }
    chook_uninstall((void *)bench_trivial);
    bench_report("direct_call_ns", direct, "ns");
    bench_report("hooked_call_ns", hooked, "ns");
    bench_report("hooked_call_ratio", hooked / direct, "x direct (target <= 2.0)");
}

static void bench_install(void)
{
    size_t n = (size_t)(bench_targets_end - bench_targets_begin) / TARGET_STRIDE;
    if (n > 10000) n = 10000;
    const size_t one_by_one = 2000;

    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < one_by_one; i++)
        if (chook_install(bench_targets_begin + i * TARGET_STRIDE, (void *)repl_target, NULL)) {
            fprintf(stderr, "install %zu: %s\n", i, chook_last_error());
            exit(1);
        }
    uint64_t t1 = bench_now_ns();
    for (size_t i = 0; i < one_by_one; i++)
        chook_uninstall(bench_targets_begin + i * TARGET_STRIDE);
    uint64_t t2 = bench_now_ns();
    bench_report("install_one_us", (double)(t1 - t0) / one_by_one / 1000.0, "us/hook (target <= 5)");
    bench_report("uninstall_one_us", (double)(t2 - t1) / one_by_one / 1000.0, "us/hook (target <= 5)");

    /* Reinstalling reuses trampolines: measure fresh targets for the transaction. */
    uint64_t t3 = bench_now_ns();
    chook_transaction_begin();
    for (size_t i = 0; i < n; i++)
        chook_install(bench_targets_begin + i * TARGET_STRIDE, (void *)repl_target, NULL);
    int st = chook_transaction_commit();
    uint64_t t4 = bench_now_ns();
    if (st != CHOOK_OK) {
        fprintf(stderr, "transaction: %s\n", chook_last_error());
        exit(1);
    }
    int (*volatile f)(void) = (int (*)(void))(void *)(bench_targets_begin + 123 * TARGET_STRIDE);
    if (f() != 8) {
        fprintf(stderr, "transaction did not hook\n");
        exit(1);
    }
    chook_transaction_begin();
    for (size_t i = 0; i < n; i++) chook_uninstall(bench_targets_begin + i * TARGET_STRIDE);
    chook_transaction_commit();
    uint64_t t5 = bench_now_ns();
    bench_report("transaction_install_10000_us_per_hook", (double)(t4 - t3) / (double)n / 1000.0,
                 "us/hook (target <= 2)");
    bench_report("transaction_uninstall_10000_us_per_hook",
                 (double)(t5 - t4) / (double)n / 1000.0, "us/hook (target <= 2)");
}

/* Executable memory: anonymous r-x mappings (chook's regions) before and after
 * 10,000 hooks, divided by the hooks; counts the whole regions, so it is an upper
 * bound on the bytes used. */
static long exec_anon_kb(void)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    long kb = 0;
    int in_exec_anon = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long a, b;
        char perms[8];
        int name_at = 0;
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &a, &b, perms, &name_at) == 3) {
            in_exec_anon = perms[2] == 'x' && (line[name_at] == '\n' || line[name_at] == 0);
        } else if (in_exec_anon && strncmp(line, "Rss:", 4) == 0) {
            kb += atol(line + 4);
        }
    }
    if (f) fclose(f);
    return kb;
}

static void bench_memory(void)
{
    size_t n = (size_t)(bench_targets_end - bench_targets_begin) / TARGET_STRIDE;
    long before = exec_anon_kb();
    chook_transaction_begin();
    for (size_t i = 0; i < n; i++)
        chook_install(bench_targets_begin + i * TARGET_STRIDE, (void *)repl_target, NULL);
    chook_transaction_commit();
    long after = exec_anon_kb();
    chook_transaction_begin();
    for (size_t i = 0; i < n; i++) chook_uninstall(bench_targets_begin + i * TARGET_STRIDE);
    chook_transaction_commit();
    /* The first bench pass already built these sites: count what all sites hold. */
    bench_report("exec_memory_bytes_per_hook", (double)after * 1024.0 / (double)n,
                 "bytes (resident r-x of chook's regions / hooks; target <= 64)");
    (void)before;
}

int main(int argc, char **argv)
{
    bench_begin(argc, argv, "chook inline hooks (x86-64)");
    bench_call_ratio();
    bench_install();
    bench_memory();
    bench_end();
    return 0;
}
