/*
 * Compiled-in hook points: cost per call against the same function without a
 * point, measured in the same run (best of interleaved rounds):
 *   detached (branch mode: one load and a predicted branch; jump mode: one no-op)
 *     target <= 1.02;
 *   attached with a typed prolog and epilog;
 *   attached with generic callbacks (on_enter + on_leave through chook_call).
 * Two bodies: a 64-byte FNV-1a hash (a small but real function) and an addition
 * (a function that does nothing, the worst case for any per-call cost).
 */
#include <stdio.h>
#include <stdlib.h>

#include <chook.h>
#include <chook_point.h>

#include "bench.h"
#include "point/bodies.h"

/* ---- the functions --------------------------------------------------------------- */

BENCH_POINT_FN uint64_t bp_hash_plain(const unsigned char *p, size_t n)
{
    return bp_hash_body(p, n);
}

CHOOK_POINT(bp_hash, uint64_t, const unsigned char *, size_t);

BENCH_POINT_FN uint64_t bp_hash(const unsigned char *p, size_t n)
{
    CHOOK_ENTER(bp_hash, p, n);
    uint64_t r = bp_hash_body(p, n);
    CHOOK_RETURN(bp_hash, r);
}

BENCH_POINT_FN long bp_add_plain(long a, long b)
{
    return bp_add_body(a, b);
}

CHOOK_POINT(bp_add, long, long, long);

BENCH_POINT_FN long bp_add(long a, long b)
{
    CHOOK_ENTER(bp_add, a, b);
    long r = bp_add_body(a, b);
    CHOOK_RETURN(bp_add, r);
}

/* ---- callbacks: the least a useful agent does ------------------------------------------ */

static void hash_epilog(void *data, uint64_t *r)
{
    *r ^= (uint64_t)(uintptr_t)data;
}

static int hash_prolog(void *data, chook_point_epilog_bp_hash *ep, uint64_t *r,
                       const unsigned char **p, size_t *n)
{
    (void)r, (void)p, (void)data;
    ep->fn = hash_epilog;
    ep->data = (void *)(uintptr_t)(*n & 1); /* per-call state: 0 for even sizes */
    return CHOOK_POINT_CONTINUE;
}

static void add_epilog(void *data, long *r)
{
    *r += (long)(intptr_t)data;
}

static int add_prolog(void *data, chook_point_epilog_bp_add *ep, long *r, long *a, long *b)
{
    (void)data, (void)r, (void)b;
    ep->fn = add_epilog;
    ep->data = (void *)(intptr_t)(*a & 0); /* per-call state, neutral */
    return CHOOK_POINT_CONTINUE;
}

static int generic_enter(chook_call *call, void *data)
{
    (void)data;
    *chook_call_data(call) = *chook_arg(call, 1) & 0;
    return CHOOK_CONTINUE;
}

static void generic_leave(chook_call *call, void *data)
{
    (void)data;
    *chook_retval(call) ^= *chook_call_data(call);
}

/* ---- timing ------------------------------------------------------------------------- */

static unsigned char key[64];

static double time_hash(uint64_t (*volatile f)(const unsigned char *, size_t), long n)
{
    uint64_t acc = 0;
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) acc += f(key, sizeof key);
    uint64_t t1 = bench_now_ns();
    BENCH_KEEP(acc);
    return (double)(t1 - t0) / (double)n;
}

static double time_add(long (*volatile f)(long, long), long n)
{
    long acc = 0;
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) acc += f(i, 1);
    uint64_t t1 = bench_now_ns();
    BENCH_KEEP(acc);
    return (double)(t1 - t0) / (double)n;
}

static void check(int status, const char *what)
{
    if (status != CHOOK_OK) {
        fprintf(stderr, "%s failed: %s\n", what, chook_last_error());
        exit(1);
    }
}

static chook_point *find(const char *name)
{
    chook_point *p;
    check(chook_point_find(name, &p), name);
    return p;
}

enum { PLAIN, DETACHED, JUMP, TYPED, GENERIC, N_VARIANTS };

static const char *const variant_name[N_VARIANTS] = {
    "direct", "detached_branch", "detached_jump", "typed_prolog_epilog", "generic_enter_leave",
};

static double best[2][N_VARIANTS];

static void keep_best(int body, int v, double ns)
{
    if (best[body][v] == 0 || ns < best[body][v]) best[body][v] = ns;
}

int main(int argc, char **argv)
{
    bench_begin(argc, argv, "chook hook points: cost per call (best of interleaved rounds)");
    for (size_t i = 0; i < sizeof key; i++) key[i] = (unsigned char)(i * 7 + 1);
    chook_point *hash = find("bp_hash"), *add = find("bp_add");
    /* The jump-mode points stay detached: their cost is the no-op alone. */
    find("bp_hash_jump");
    find("bp_add_jump");

    const long n_hash = 1000000, n_add = 10000000;
    for (int round = 0; round < 7; round++) {
        keep_best(0, PLAIN, time_hash(bp_hash_plain, n_hash));
        keep_best(0, DETACHED, time_hash(bp_hash, n_hash));
        keep_best(0, JUMP, time_hash(bp_hash_jump, n_hash));
        check(chook_point_attach_bp_hash(hash, hash_prolog, NULL), "attach typed");
        keep_best(0, TYPED, time_hash(bp_hash, n_hash));
        check(chook_point_attach_generic(hash, generic_enter, generic_leave, NULL),
              "attach generic");
        keep_best(0, GENERIC, time_hash(bp_hash, n_hash));
        check(chook_point_detach(hash), "detach");
        check(chook_point_wait(hash, CHOOK_POINT_WAIT_FOREVER), "wait");

        keep_best(1, PLAIN, time_add(bp_add_plain, n_add));
        keep_best(1, DETACHED, time_add(bp_add, n_add));
        keep_best(1, JUMP, time_add(bp_add_jump, n_add));
        check(chook_point_attach_bp_add(add, add_prolog, NULL), "attach typed");
        keep_best(1, TYPED, time_add(bp_add, n_add));
        check(chook_point_attach_generic(add, generic_enter, generic_leave, NULL),
              "attach generic");
        keep_best(1, GENERIC, time_add(bp_add, n_add));
        check(chook_point_detach(add), "detach");
        check(chook_point_wait(add, CHOOK_POINT_WAIT_FOREVER), "wait");
    }

    static const char *const body_name[2] = { "hash64", "add" };
    char name[96];
    for (int b = 0; b < 2; b++) {
        snprintf(name, sizeof name, "point_%s_direct", body_name[b]);
        bench_report(name, best[b][PLAIN], "ns/call");
        for (int v = DETACHED; v < N_VARIANTS; v++) {
            snprintf(name, sizeof name, "point_%s_%s_ratio", body_name[b], variant_name[v]);
            bench_report(name, best[b][v] / best[b][PLAIN], "x direct");
        }
        for (int v = TYPED; v < N_VARIANTS; v++) {
            snprintf(name, sizeof name, "point_%s_%s_added", body_name[b], variant_name[v]);
            bench_report(name, best[b][v] - best[b][PLAIN], "ns/call");
        }
    }
    bench_end();
    return 0;
}
