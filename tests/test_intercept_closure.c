/*
 * Closure replacements (one replacement on many targets, each with its own data,
 * found with chook_current()) and typed listeners (CHOOK_TYPED).
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "chook.h"

#define NOINLINE __attribute__((noinline, noclone))

NOINLINE long op_add(long a, long b) { long r = a + b; __asm__ volatile("" : "+r"(r)); return r; }
NOINLINE long op_sub(long a, long b) { long r = a - b; __asm__ volatile("" : "+r"(r)); return r; }
NOINLINE long op_mul(long a, long b) { long r = a * b; __asm__ volatile("" : "+r"(r)); return r; }

NOINLINE long countdown(long n)
{
    long (*volatile self)(long) = countdown;
    long r = n <= 0 ? 0 : 1 + self(n - 1);
    __asm__ volatile("" : "+r"(r));
    return r;
}

NOINLINE double lerp(double a, double b, float t, int *calls)
{
    (*calls)++;
    double r = a + (b - a) * t;
    __asm__ volatile("" : "+x"(r));
    return r;
}

NOINLINE void store3(long *out, long a, double b)
{
    out[0] = a;
    out[1] = (long)b;
    __asm__ volatile("" ::: "memory");
}

typedef long (*binop)(long, long);
static binop volatile p_add = op_add, p_sub = op_sub, p_mul = op_mul;
static long (*volatile p_countdown)(long) = countdown;
static double (*volatile p_lerp)(double, double, float, int *) = lerp;
static void (*volatile p_store3)(long *, long, double) = store3;

/* ---- closures ---- */

struct tally {
    const char *name;
    int calls;
    long offset;
};

/* One replacement for all three targets: which one runs, and its data, come from
 * the closure. */
static long tally_binop(long a, long b)
{
    const chook_closure *c = chook_current();
    struct tally *t = c->data;
    t->calls++;
    return ((binop)c->original)(a, b) + t->offset;
}

Test(closure, one_replacement_serves_many_targets_each_with_its_own_data)
{
    struct tally ta = { "add", 0, 1000 }, ts = { "sub", 0, 2000 }, tm = { "mul", 0, 3000 };
    const chook_closure *ca, *cs, *cm;
    cr_assert_eq(chook_replace((void *)op_add, (void *)tally_binop, &ta, &ca), CHOOK_OK, "%s",
                 chook_last_error());
    cr_assert_eq(chook_replace((void *)op_sub, (void *)tally_binop, &ts, &cs), CHOOK_OK);
    cr_assert_eq(chook_replace((void *)op_mul, (void *)tally_binop, &tm, &cm), CHOOK_OK);
    cr_expect_eq(ca->target, (void *)op_add);
    cr_expect_eq(ca->data, &ta);
    cr_expect_eq(p_add(6, 3), 1009);
    cr_expect_eq(p_sub(6, 3), 2003);
    cr_expect_eq(p_mul(6, 3), 3018);
    cr_expect_eq(p_mul(2, 2), 3004);
    cr_expect_eq(ta.calls, 1);
    cr_expect_eq(ts.calls, 1);
    cr_expect_eq(tm.calls, 2);
    cr_assert_eq(chook_remove(ca->hook), CHOOK_OK);
    cr_assert_eq(chook_remove(cs->hook), CHOOK_OK);
    cr_assert_eq(chook_remove(cm->hook), CHOOK_OK);
    cr_expect_eq(p_add(6, 3), 9);
    cr_expect_null(chook_current(), "nothing left on the ring");
}

struct depth_seen {
    const chook_closure *seen[8];
    int n;
};

static long count_replacement(long n)
{
    const chook_closure *c = chook_current();
    struct depth_seen *d = c->data;
    if (d->n < 8) d->seen[d->n++] = c;
    return ((long (*)(long))c->original)(n);
}

Test(closure, recursive_calls_each_see_their_own_closure)
{
    struct depth_seen d = { { 0 }, 0 };
    const chook_closure *c;
    cr_assert_eq(chook_replace((void *)countdown, (void *)count_replacement, &d, &c), CHOOK_OK);
    cr_expect_eq(p_countdown(5), 5);
    cr_expect_eq(d.n, 6);
    for (int i = 0; i < d.n; i++) cr_expect_eq(d.seen[i], c, "level %d", i);
    cr_expect_null(chook_current());
    cr_assert_eq(chook_remove(c->hook), CHOOK_OK);
}

/* Nested different closures, and a signal handler running a closure hook
 * between another hook's thunk and its chook_current(). */
static volatile sig_atomic_t handler_result;
static void on_signal(int sig)
{
    (void)sig;
    handler_result = (sig_atomic_t)p_sub(10, 4);
}

static long add_raising(long a, long b)
{
    raise(SIGUSR1); /* the handler's hook pushes and pops before we ask */
    const chook_closure *c = chook_current();
    struct tally *t = c->data;
    t->calls++;
    return ((binop)c->original)(a, b) + t->offset;
}

Test(closure, a_signal_handler_running_a_closure_hook_does_not_disturb_the_interrupted_one)
{
    struct tally ta = { "add", 0, 100 }, ts = { "sub", 0, 200 };
    const chook_closure *ca, *cs;
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
    cr_assert_eq(chook_replace((void *)op_add, (void *)add_raising, &ta, &ca), CHOOK_OK);
    cr_assert_eq(chook_replace((void *)op_sub, (void *)tally_binop, &ts, &cs), CHOOK_OK);
    /* add_raising asks for its closure only after the handler ran op_sub's hook. */
    cr_expect_eq(p_add(1, 2), 103);
    cr_expect_eq(handler_result, 206);
    cr_expect_eq(ta.calls, 1);
    cr_expect_eq(ts.calls, 1);
    cr_assert_eq(chook_remove(ca->hook), CHOOK_OK);
    cr_assert_eq(chook_remove(cs->hook), CHOOK_OK);
}

static long plain_repl(long a, long b) { (void)a; (void)b; return 0; }

Test(closure, bad_input_is_refused)
{
    const chook_closure *c = NULL;
    cr_expect_eq(chook_replace((void *)op_add, (void *)plain_repl, NULL, NULL), CHOOK_EINVAL);
    cr_expect_eq(chook_replace(NULL, (void *)plain_repl, NULL, &c), CHOOK_EINVAL);
    cr_expect_eq(chook_replace((void *)op_add, NULL, NULL, &c), CHOOK_EINVAL);
    cr_expect_eq(chook_replace((void *)op_add, (void *)op_add, NULL, &c), CHOOK_ESELF);
    cr_expect_null(c);
    cr_expect_eq(p_add(1, 1), 2);
}

/* ---- typed listeners ---- */

CHOOK_TYPED(lerp_t, double, double, double, float, int *)
CHOOK_TYPED_VOID(store3_t, long *, long, double)

struct lerp_log {
    double a, b, result;
    float t;
    int prologs, epilogs;
    uint64_t cd_seen;
};

static int lerp_prolog(double *a, double *b, float *t, int **calls, double *ret, uint64_t *cd,
                       void *data)
{
    (void)calls;
    (void)ret;
    struct lerp_log *g = data;
    g->prologs++;
    g->a = *a;
    g->b = *b;
    g->t = *t;
    *t = 0.5f; /* typed write: the original sees it */
    *cd = 99;
    return CHOOK_CONTINUE;
}

static void lerp_epilog(double *ret, uint64_t *cd, void *data)
{
    struct lerp_log *g = data;
    g->epilogs++;
    g->result = *ret;
    g->cd_seen = *cd;
    *ret += 1000.0;
}

Test(typed, prolog_and_epilog_get_typed_pointers)
{
    struct lerp_log g = { 0 };
    chook_typed *t;
    int calls = 0;
    cr_assert_eq(lerp_t_attach((void *)lerp, lerp_prolog, lerp_epilog, &g, &t), CHOOK_OK, "%s",
                 chook_last_error());
    double r = p_lerp(0.0, 10.0, 0.25f, &calls);
    cr_expect_eq(r, 1005.0);
    cr_expect_eq(calls, 1);
    cr_expect_eq(g.a, 0.0);
    cr_expect_eq(g.b, 10.0);
    cr_expect_eq(g.t, 0.25f);
    cr_expect_eq(g.result, 5.0);
    cr_expect_eq(g.cd_seen, 99);
    cr_assert_eq(chook_typed_detach(t), CHOOK_OK);
    cr_expect_eq(p_lerp(0.0, 10.0, 0.25f, &calls), 2.5);
}

static int lerp_skip(double *a, double *b, float *t, int **calls, double *ret, uint64_t *cd,
                     void *data)
{
    (void)a, (void)b, (void)t, (void)calls, (void)cd, (void)data;
    *ret = -1.0;
    return CHOOK_SKIP;
}

Test(typed, a_prolog_skips_the_original_and_the_epilog_still_runs)
{
    struct lerp_log g = { 0 };
    chook_typed *t;
    int calls = 0;
    cr_assert_eq(lerp_t_attach((void *)lerp, lerp_skip, lerp_epilog, &g, &t), CHOOK_OK);
    cr_expect_eq(p_lerp(0.0, 10.0, 0.25f, &calls), 999.0);
    cr_expect_eq(calls, 0, "the original did not run");
    cr_expect_eq(g.epilogs, 1);
    cr_assert_eq(chook_typed_detach(t), CHOOK_OK);
}

static int store_prolog(long **out, long *a, double *b, uint64_t *cd, void *data)
{
    (void)out, (void)cd;
    (*(int *)data)++;
    *a += 1;
    *b *= 2;
    /* A hooked function called from a prolog runs without callbacks. */
    long tmp[2];
    p_store3(tmp, 0, 0.0);
    return CHOOK_CONTINUE;
}

Test(typed, void_functions_and_re_entrancy)
{
    int prologs = 0;
    chook_typed *t;
    long out[2] = { 0, 0 };
    cr_assert_eq(store3_t_attach((void *)store3, store_prolog, NULL, &prologs, &t), CHOOK_OK);
    p_store3(out, 41, 3.0);
    cr_expect_eq(out[0], 42);
    cr_expect_eq(out[1], 6);
    cr_expect_eq(prologs, 1, "the inner call from the prolog was not observed");
    cr_assert_eq(chook_ignore_thread(1), CHOOK_OK);
    p_store3(out, 41, 3.0);
    cr_expect_eq(out[0], 41, "an ignored thread runs unobserved");
    cr_assert_eq(chook_ignore_thread(0), CHOOK_OK);
    cr_assert_eq(chook_typed_detach(t), CHOOK_OK);
}

Test(typed, needs_a_callback)
{
    chook_typed *t = NULL;
    cr_expect_eq(lerp_t_attach((void *)lerp, NULL, NULL, NULL, &t), CHOOK_EINVAL);
    cr_expect_null(t);
}
