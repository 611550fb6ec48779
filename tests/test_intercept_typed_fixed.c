/*
 * Typed listeners with callbacks fixed at compile time (CHOOK_TYPED_FIXED,
 * chook_typed_fixed.h): the same rules as CHOOK_TYPED — typed pointers,
 * skipping, call data, re-entrancy, the ignore switch, one replacement on many
 * targets with their own data — with a prolog or an epilog left out.
 */
#include <criterion/criterion.h>

#include "chook_typed_fixed.h"

#define NOINLINE __attribute__((noinline, noclone))

NOINLINE double mix(double a, long b, float t)
{
    double r = a + (double)b * t;
    __asm__ volatile("" : "+x"(r));
    return r;
}
static double (*volatile p_mix)(double, long, float) = mix;

NOINLINE double mix2(double a, long b, float t)
{
    double r = a - (double)b * t;
    __asm__ volatile("" : "+x"(r));
    return r;
}
static double (*volatile p_mix2)(double, long, float) = mix2;

struct seen {
    int prologs, epilogs;
    double a, result;
    long b;
    float t;
    uint64_t cd;
};

static int mix_prolog(double *a, long *b, float *t, double *ret, uint64_t *cd, void *data)
{
    struct seen *s = data;
    s->prologs++;
    s->a = *a;
    s->b = *b;
    s->t = *t;
    if (*b < 0) {
        *ret = -1.0;
        return CHOOK_SKIP;
    }
    *t = 0.5f; /* the original sees it */
    *cd = 77;
    /* A hooked function called from a callback runs without callbacks. */
    if (p_mix(1.0, 1, 1.0f) != 2.0) s->prologs += 1000;
    return CHOOK_CONTINUE;
}

static void mix_epilog(double *ret, uint64_t *cd, void *data)
{
    struct seen *s = data;
    s->epilogs++;
    s->result = *ret;
    s->cd = *cd;
    *ret += 100.0;
}

CHOOK_TYPED_FIXED(mix_both, mix_prolog, mix_epilog, double, double, long, float)
CHOOK_TYPED_FIXED(mix_enter_only, mix_prolog, NULL, double, double, long, float)
CHOOK_TYPED_FIXED(mix_leave_only, NULL, mix_epilog, double, double, long, float)
CHOOK_TYPED_FIXED(mix_none, NULL, NULL, double, double, long, float)

Test(typed_fixed, prolog_and_epilog_get_typed_pointers_and_share_call_data)
{
    struct seen s = { 0 };
    chook_typed *t;
    cr_assert_eq(mix_both_attach((void *)mix, &s, &t), CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(p_mix(1.0, 4, 0.25f), 1.0 + 4 * 0.5 + 100.0);
    cr_expect_eq(s.prologs, 1, "the prolog ran once: its own inner call was not observed");
    cr_expect_eq(s.a, 1.0);
    cr_expect_eq(s.b, 4);
    cr_expect_eq(s.t, 0.25f);
    cr_expect_eq(s.epilogs, 1);
    cr_expect_eq(s.result, 3.0, "the epilog saw the original's result");
    cr_expect_eq(s.cd, 77, "call data goes from prolog to epilog");
    cr_assert_eq(chook_typed_detach(t), CHOOK_OK);
    cr_expect_eq(p_mix(1.0, 4, 0.25f), 2.0, "detached: the plain original");
}

Test(typed_fixed, a_prolog_skips_the_original_and_the_epilog_still_runs)
{
    struct seen s = { 0 };
    chook_typed *t;
    cr_assert_eq(mix_both_attach((void *)mix, &s, &t), CHOOK_OK);
    cr_expect_eq(p_mix(1.0, -1, 1.0f), 99.0, "skipped with -1, then the epilog added 100");
    cr_expect_eq(s.epilogs, 1);
    cr_expect_eq(s.cd, 0, "call data starts at zero");
    cr_assert_eq(chook_typed_detach(t), CHOOK_OK);
}

Test(typed_fixed, either_callback_may_be_left_out)
{
    struct seen s = { 0 };
    chook_typed *t;
    cr_assert_eq(mix_enter_only_attach((void *)mix, &s, &t), CHOOK_OK);
    cr_expect_eq(p_mix(1.0, 4, 0.25f), 3.0);
    cr_expect_eq(s.prologs, 1);
    cr_expect_eq(s.epilogs, 0);
    cr_assert_eq(chook_typed_detach(t), CHOOK_OK);

    cr_assert_eq(mix_leave_only_attach((void *)mix, &s, &t), CHOOK_OK);
    cr_expect_eq(p_mix(1.0, 4, 0.25f), 102.0);
    cr_expect_eq(s.prologs, 1);
    cr_expect_eq(s.epilogs, 1);
    cr_assert_eq(chook_typed_detach(t), CHOOK_OK);
}

Test(typed_fixed, needs_a_callback)
{
    chook_typed *t = NULL;
    cr_expect_eq(mix_none_attach((void *)mix, NULL, &t), CHOOK_EINVAL);
    cr_expect_null(t);
    cr_expect_eq(p_mix(1.0, 4, 0.25f), 2.0, "nothing was installed");
}

Test(typed_fixed, one_replacement_on_two_targets_each_with_its_own_data)
{
    struct seen s1 = { 0 }, s2 = { 0 };
    chook_typed *t1, *t2;
    cr_assert_eq(mix_both_attach((void *)mix, &s1, &t1), CHOOK_OK);
    cr_assert_eq(mix_both_attach((void *)mix2, &s2, &t2), CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(p_mix2(1.0, 4, 0.25f), 1.0 - 4 * 0.5 + 100.0, "mix2's own original");
    cr_expect_eq(s2.prologs, 1);
    cr_expect_eq(s1.prologs, 0, "each target reports to its own data");
    cr_expect_eq(p_mix(1.0, 4, 0.25f), 103.0);
    cr_expect_eq(s1.prologs, 1);
    cr_assert_eq(chook_typed_detach(t1), CHOOK_OK);
    cr_assert_eq(chook_typed_detach(t2), CHOOK_OK);
}

static int note_prolog(long **out, long *v, uint64_t *cd, void *data)
{
    (void)out, (void)cd;
    (*(int *)data)++;
    *v += 1;
    return CHOOK_CONTINUE;
}

NOINLINE void put(long *out, long v)
{
    *out = v;
    __asm__ volatile("" ::: "memory");
}
static void (*volatile p_put)(long *, long) = put;

CHOOK_TYPED_FIXED_VOID(put_hook, note_prolog, NULL, long *, long)

Test(typed_fixed, void_functions_and_the_ignore_switch)
{
    int prologs = 0;
    long out = 0;
    chook_typed *t;
    cr_assert_eq(put_hook_attach((void *)put, &prologs, &t), CHOOK_OK);
    p_put(&out, 41);
    cr_expect_eq(out, 42);
    cr_expect_eq(prologs, 1);
    cr_assert_eq(chook_ignore_thread(1), CHOOK_OK);
    p_put(&out, 41);
    cr_expect_eq(out, 41, "an ignored thread runs unobserved");
    cr_expect_eq(prologs, 1);
    cr_assert_eq(chook_ignore_thread(0), CHOOK_OK);
    cr_assert_eq(chook_typed_detach(t), CHOOK_OK);
}
