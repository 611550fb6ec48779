/*
 * chook-trace overhead: runs the test program tests/trace/trace_target (built
 * with the tests) untraced and under chook-trace in summary mode, and reports
 * the cost per traced call: (traced time - untraced time) / calls, the best of
 * a few runs each (start-up included, spread over millions of calls).
 *   - a function of the program itself (tp_leaf, 20 million calls);
 *   - labs() in libc called through the PLT (5 million calls; 100,000 for the
 *     others, which cost microseconds per call), also under
 *     ltrace, uftrace and a bpftrace uprobe when those are installed: the same
 *     program, the same calls. Absent ones are skipped with a line saying so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#ifndef TRACE_TOOL
#define TRACE_TOOL "chook-trace"
#endif
#ifndef TRACE_TARGET
#define TRACE_TARGET "trace_target"
#endif

#define ROUNDS 3

/* Runs argv with output to /dev/null; returns the wall time in ns, 0 on failure. */
static uint64_t run(char *const argv[])
{
    fflush(stdout);
    uint64_t t0 = bench_now_ns();
    pid_t pid = fork();
    if (pid < 0) return 0;
    if (pid == 0) {
        freopen("/dev/null", "w", stdout);
        freopen("/dev/null", "w", stderr);
        execvp(argv[0], argv);
        _exit(127);
    }
    int ws;
    waitpid(pid, &ws, 0);
    uint64_t t = bench_now_ns() - t0;
    return WIFEXITED(ws) && WEXITSTATUS(ws) == 0 ? t : 0;
}

static uint64_t best_of(char *const argv[], int rounds)
{
    uint64_t b = 0;
    for (int i = 0; i < rounds; i++) {
        uint64_t t = run(argv);
        if (!t) return 0;
        if (!b || t < b) b = t;
    }
    return b;
}

static uint64_t best(char *const argv[])
{
    return best_of(argv, ROUNDS);
}

static int have(const char *prog)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", prog);
    return system(cmd) == 0;
}

static void per_call(const char *name, uint64_t traced, uint64_t plain, double calls)
{
    if (!traced || !plain) {
        if (!bench_json_mode) printf("  %-52s %14s  (failed to run)\n", name, "-");
        return;
    }
    double ns = traced > plain ? (double)(traced - plain) / calls : 0.0;
    bench_report(name, ns, "ns/call");
}

int main(int argc, char **argv)
{
    bench_begin(argc, argv, "chook-trace: overhead per traced call (summary mode)");
    if (!TRACE_TARGET[0] || access(TRACE_TOOL, X_OK) != 0) {
        if (!bench_json_mode) printf("  skip: chook-trace or tests/trace/trace_target not built\n");
        bench_end();
        return 0;
    }
    char *plain_leaf[] = { TRACE_TARGET, "spin", "2", NULL };
    char *traced_leaf[] = { TRACE_TOOL, "-q", "-f", ":tp_leaf", "--", TRACE_TARGET, "spin", "2",
                            NULL };
    uint64_t p = best(plain_leaf), t = best(traced_leaf);
    per_call("trace_program_function_overhead", t, p, 20e6);
    bench_report("trace_program_function_untraced_ns", p ? (double)p / 20e6 : 0, "ns/call");

    char *plain_labs[] = { TRACE_TARGET, "labs", "50", NULL };
    char *chook_labs[] = { TRACE_TOOL, "-q", "-f", "libc.so.6:labs", "--", TRACE_TARGET, "labs",
                           "50", NULL };
    uint64_t pl = best(plain_labs);
    per_call("trace_libc_labs_overhead_chook_trace", best(chook_labs), pl, 5e6);
    /* The other tracers cost microseconds per call: 100,000 calls, one run. */
    char *plain_labs1[] = { TRACE_TARGET, "labs", "1", NULL };
    uint64_t pl1 = best(plain_labs1);
    if (have("ltrace")) {
        char *a[] = { "ltrace", "-c", "-e", "labs", "-o", "/dev/null", TRACE_TARGET, "labs", "1",
                      NULL };
        per_call("trace_libc_labs_overhead_ltrace", best_of(a, 1), pl1, 1e5);
    } else if (!bench_json_mode) {
        printf("  skip: ltrace is not installed\n");
    }
    if (have("uftrace")) {
        char *a[] = { "uftrace", "record", "--force", "-d", "/tmp/chook-bench-uftrace.data",
                      TRACE_TARGET, "labs", "1", NULL };
        per_call("trace_libc_labs_overhead_uftrace", best_of(a, 1), pl1, 1e5);
        if (system("rm -rf /tmp/chook-bench-uftrace.data") != 0) {
            /* nothing to clean */
        }
    } else if (!bench_json_mode) {
        printf("  skip: uftrace is not installed\n");
    }
    if (have("bpftrace") && geteuid() == 0) {
        char probe[512];
        snprintf(probe, sizeof probe, "uprobe:/lib/x86_64-linux-gnu/libc.so.6:labs /pid == cpid/ "
                 "{ @c = count(); }");
        char *a[] = { "bpftrace", "-q", "-e", probe, "-c", TRACE_TARGET " labs 1", NULL };
        per_call("trace_libc_labs_overhead_bpftrace", best_of(a, 1), pl1, 1e5);
    } else if (!bench_json_mode) {
        printf("  skip: bpftrace is not installed (or not root)\n");
    }
    bench_end();
    return 0;
}
