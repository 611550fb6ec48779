/*
 * Interception: cost per call of listeners, typed listeners and closure
 * replacements, against a direct call of the same trivial function timed in the
 * same round. Each round times the direct call and then every variant (attached,
 * timed, detached), in an order rotated from round to round so that none always
 * runs right after the direct call; the figures are the min, median and max over
 * the rounds of the variant's time per call minus that round's direct call
 * (added_ns), and of their ratio. A function with one listener takes the
 * dispatcher's one-listener entry; two listeners show the cost of the general one.
 * Instructions per call (load-independent) come from scripts/bench-icount.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <chook.h>
#include <chook_typed_fixed.h>

#include "bench.h"

__attribute__((noinline)) long bench_icpt_target(long x)
{
    __asm__ volatile("");
    return x * 3 + 1;
}

static double time_calls(long (*volatile f)(long), long n)
{
    long acc = 0;
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) acc += f(i);
    uint64_t t1 = bench_now_ns();
    BENCH_KEEP(acc);
    return (double)(t1 - t0) / (double)n;
}

static void die(const char *what)
{
    fprintf(stderr, "%s failed: %s\n", what, chook_last_error());
    exit(1);
}

/* ---- the variants ------------------------------------------------------------------ */

static int empty_enter(chook_call *call, void *data)
{
    (void)call, (void)data;
    return CHOOK_CONTINUE;
}

static void empty_leave(chook_call *call, void *data) { (void)call, (void)data; }

static int read_enter(chook_call *call, void *data)
{
    (void)data;
    *chook_call_data(call) = *chook_arg(call, 0);
    return CHOOK_CONTINUE;
}

static void rewrite_leave(chook_call *call, void *data)
{
    (void)data;
    *chook_retval(call) += *chook_call_data(call) & 1;
}

CHOOK_TYPED(bench_typed, long, long)

static int typed_prolog(long *x, long *ret, uint64_t *cd, void *data)
{
    (void)ret, (void)data;
    *cd = (uint64_t)*x;
    return CHOOK_CONTINUE;
}

static void typed_epilog(long *ret, uint64_t *cd, void *data)
{
    (void)data;
    *ret += (long)(*cd & 1);
}

/* The same callbacks fixed at compile time: called directly, usually inlined. */
CHOOK_TYPED_FIXED(bench_typed_fixed, typed_prolog, typed_epilog, long, long)

static long closure_repl(long x)
{
    const chook_closure *c = chook_current();
    return ((long (*)(long))c->original)(x);
}

static long (*keep_original)(long);

static long keep_repl(long x) { return keep_original(x); }

/* V_ENTER_LEAVE_SIG: with a signature the dispatcher copies exactly its stack
 * arguments (none), instead of the caller's frame looked up per call site: the
 * difference to V_ENTER_LEAVE is the cost of passing any number of stack
 * arguments without one. V_KEEP: a replacement behind CHOOK_KEEP_REGS. */
enum variant {
    V_ENTER, V_ENTER_LEAVE, V_READ_REWRITE, V_TWO, V_TYPED, V_TYPED_FIXED, V_CLOSURE,
    V_ENTER_LEAVE_SIG, V_KEEP, V_COUNT
};

static const char *const names[V_COUNT] = {
    "empty_enter", "empty_enter_leave", "enter_read_arg_leave_rewrite_ret",
    "two_listeners_empty_enter_leave", "typed", "typed_fixed", "closure_replacement",
    "empty_enter_leave_signature", "keep_regs_replacement",
};

struct active {
    chook_listener *l, *l2;
    chook_typed *t;
    const chook_closure *c;
    chook_hook *h;
};

static void attach(enum variant v, struct active *a)
{
    void *target = (void *)bench_icpt_target;
    int st = CHOOK_OK;
    switch (v) {
    case V_ENTER: st = chook_attach(target, empty_enter, NULL, NULL, &a->l); break;
    case V_ENTER_LEAVE: st = chook_attach(target, empty_enter, empty_leave, NULL, &a->l); break;
    case V_READ_REWRITE: st = chook_attach(target, read_enter, rewrite_leave, NULL, &a->l); break;
    case V_TWO: /* a set of two: the general (C) dispatch */
        st = chook_attach(target, empty_enter, empty_leave, NULL, &a->l);
        if (st == CHOOK_OK) st = chook_attach(target, empty_enter, empty_leave, NULL, &a->l2);
        break;
    case V_TYPED: st = bench_typed_attach(target, typed_prolog, typed_epilog, NULL, &a->t); break;
    case V_TYPED_FIXED: st = bench_typed_fixed_attach(target, NULL, &a->t); break;
    case V_CLOSURE: st = chook_replace(target, (void *)closure_repl, NULL, &a->c); break;
    case V_ENTER_LEAVE_SIG: {
        chook_attach_opts o = { .signature = "i->i" };
        st = chook_attach_ex(target, empty_enter, empty_leave, NULL, &o, &a->l);
        break;
    }
    case V_KEEP:
        st = chook_install_flags(target, (void *)keep_repl, (void **)&keep_original, &a->h,
                                 CHOOK_KEEP_REGS | CHOOK_KEEP_RET_INT);
        break;
    case V_COUNT: break;
    }
    if (st != CHOOK_OK) die(names[v]);
}

static void detach(enum variant v, struct active *a)
{
    int st = CHOOK_OK;
    if (v == V_TYPED || v == V_TYPED_FIXED) st = chook_typed_detach(a->t);
    else if (v == V_CLOSURE) st = chook_remove(a->c->hook);
    else if (v == V_KEEP) st = chook_remove(a->h);
    else st = chook_detach(a->l);
    if (st == CHOOK_OK && a->l2) st = chook_detach(a->l2);
    if (st != CHOOK_OK) die("detach");
}

/* Options (for instruction counts under valgrind --tool=callgrind): --rounds R,
 * --calls N per timing, --only VARIANT (one variant besides the direct call;
 * "direct" for none). */
static long option(int argc, char **argv, const char *name, long dflt)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return atol(argv[i + 1]);
    return dflt;
}

static int only_variant(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--only") != 0) continue;
        for (int v = 0; v < V_COUNT; v++)
            if (strcmp(argv[i + 1], names[v]) == 0) return v;
        return V_COUNT; /* "direct" (or unknown): no variant */
    }
    return -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Reports NAME_min, NAME_median and NAME_max of v[0..n) (sorts v). */
static void report_spread(const char *name, double *v, long n, const char *unit)
{
    char key[128];
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    snprintf(key, sizeof key, "%s_min", name);
    bench_report(key, v[0], unit);
    snprintf(key, sizeof key, "%s_median", name);
    bench_report(key, v[n / 2], unit);
    snprintf(key, sizeof key, "%s_max", name);
    bench_report(key, v[n - 1], unit);
}

int main(int argc, char **argv)
{
    bench_begin(argc, argv, "chook interception: cost per call");
    const long n = option(argc, argv, "--calls", 1000000);
    long rounds = option(argc, argv, "--rounds", 40);
    if (rounds < 1) rounds = 1;
    const int only = only_variant(argc, argv);
    double *direct = calloc((size_t)rounds, sizeof *direct);
    double *added[V_COUNT], *ratio[V_COUNT];
    for (int v = 0; v < V_COUNT; v++) {
        added[v] = calloc((size_t)rounds, sizeof *added[v]);
        ratio[v] = calloc((size_t)rounds, sizeof *ratio[v]);
        if (!added[v] || !ratio[v]) die("calloc");
    }
    if (!direct) die("calloc");
    for (long round = 0; round < rounds; round++) {
        double d = time_calls(bench_icpt_target, n);
        direct[round] = d;
        for (int k = 0; k < V_COUNT; k++) {
            int v = (int)((k + round) % V_COUNT); /* rotated: interleaved order */
            if (only >= 0 && v != only) continue;
            struct active a = { 0 };
            attach((enum variant)v, &a);
            double t = time_calls(bench_icpt_target, n);
            detach((enum variant)v, &a);
            added[v][round] = t - d;
            ratio[v][round] = t / d;
        }
    }
    if (chook_detach_wait(1000) != CHOOK_OK) die("chook_detach_wait");
    char name[96];
    report_spread("direct_call_ns", direct, rounds, "ns");
    for (int v = 0; v < V_COUNT; v++) {
        if (only >= 0 && v != only) continue;
        snprintf(name, sizeof name, "%s_added_ns", names[v]);
        report_spread(name, added[v], rounds,
                      v == V_ENTER_LEAVE ? "ns (target < 10)"
                      : v >= V_TYPED && v <= V_CLOSURE ? "ns (target < 3)" : "ns");
        snprintf(name, sizeof name, "%s_ratio", names[v]);
        report_spread(name, ratio[v], rounds,
                      v == V_ENTER_LEAVE ? "x direct (target <= 3)" : "x direct");
    }
    for (int v = 0; v < V_COUNT; v++) {
        free(added[v]);
        free(ratio[v]);
    }
    free(direct);
    bench_end();
    return 0;
}
