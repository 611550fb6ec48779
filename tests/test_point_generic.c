/*
 * Generic callbacks on hook points: agents that do not know the signature read
 * and write the arguments and the return value through the call-context
 * accessors of the interception API (chook_arg, chook_arg_fp, chook_arg_at,
 * chook_retval, chook_retval_fp, chook_skip, chook_call_data, chook_call_target),
 * with the same conventions (a float is the low 4 bytes of its double slot).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "chook_point.h"

static int mix_bodies;

/* Integer and floating arguments interleaved, and an argument of neither class. */
struct blob { int v[6]; };

CHOOK_POINT(pt_mix, long, int, double, const char *, float, struct blob, short);

__attribute__((noinline)) long pt_mix(int i, double d, const char *s, float f, struct blob b,
                                      short h)
{
    CHOOK_ENTER(pt_mix, i, d, s, f, b, h);
    mix_bodies++;
    long r = i + (long)(d * 10) + (long)strlen(s) * 1000 + (long)(f * 100) + b.v[5] + h;
    CHOOK_RETURN(pt_mix, r);
}

CHOOK_POINT(pt_ratio, double, double, double);

__attribute__((noinline)) double pt_ratio(double a, double b)
{
    CHOOK_ENTER(pt_ratio, a, b);
    CHOOK_RETURN(pt_ratio, a / b);
}

CHOOK_POINT(pt_half, float, float);

__attribute__((noinline)) float pt_half(float x)
{
    CHOOK_ENTER(pt_half, x);
    CHOOK_RETURN(pt_half, x / 2);
}

static int hits;

CHOOK_POINT_VOID(pt_hit, int);

__attribute__((noinline)) void pt_hit(int n)
{
    CHOOK_ENTER_VOID(pt_hit, n);
    hits += n;
}

static chook_point *find(const char *name)
{
    chook_point *p = NULL;
    cr_assert_eq(chook_point_find(name, &p), CHOOK_OK, "%s", chook_last_error());
    return p;
}

static struct blob blob(int last)
{
    struct blob b = { { 0, 0, 0, 0, 0, last } };
    return b;
}

/* ---- reading and writing arguments ------------------------------------------------ */

struct seen {
    int i;
    double d;
    const char *s;
    double f;
    short h;
    int enters, leaves;
    void *target;
};

static int read_args(chook_call *call, void *data)
{
    struct seen *s = data;
    s->enters++;
    s->i = (int)*chook_arg(call, 0);
    s->s = (const char *)*chook_arg(call, 1);
    s->h = (short)*chook_arg(call, 2);
    s->d = *chook_arg_fp(call, 0);
    s->f = *(float *)chook_arg_fp(call, 1); /* a float: the low 4 bytes of its slot */
    s->target = chook_call_target(call);
    cr_assert_null(chook_arg(call, 3), "three integer-class arguments, the blob is not one");
    cr_assert_null(chook_arg_fp(call, 2));
    return CHOOK_CONTINUE;
}

Test(point_generic, on_enter_reads_the_arguments_by_class)
{
    chook_point *p = find("pt_mix");
    struct seen s = { 0 };
    cr_assert_eq(chook_point_attach_generic(p, read_args, NULL, &s), CHOOK_OK, "%s",
                 chook_last_error());
    long r = pt_mix(-3, 2.5, "abc", 0.25f, blob(7), -2);
    cr_assert_eq(r, -3 + 25 + 3000 + 25 + 7 - 2, "arguments untouched");
    cr_assert_eq(s.enters, 1);
    cr_assert_eq(s.i, -3, "a negative int reads back through a cast");
    cr_assert_eq(s.d, 2.5);
    cr_assert_str_eq(s.s, "abc");
    cr_assert_eq(s.f, 0.25);
    cr_assert_eq(s.h, -2);
    cr_assert_eq(s.target, p, "the target of a point's call is the point");
    chook_point_info info;
    cr_assert_eq(chook_point_get_info(p, &info), CHOOK_OK);
    cr_assert_eq(info.state, CHOOK_POINT_GENERIC);
    cr_assert_eq(chook_point_detach(p), CHOOK_OK);
}

static int write_args(chook_call *call, void *data)
{
    (void)data;
    *chook_arg(call, 0) = (uintptr_t)(int)100;
    *chook_arg(call, 1) = (uintptr_t)"wxyz";
    *chook_arg(call, 2) = (uintptr_t)(short)5;
    *chook_arg_fp(call, 0) = 1.5;
    *(float *)chook_arg_fp(call, 1) = 0.5f;
    return CHOOK_CONTINUE;
}

Test(point_generic, on_enter_writes_the_arguments)
{
    chook_point *p = find("pt_mix");
    cr_assert_eq(chook_point_attach_generic(p, write_args, NULL, NULL), CHOOK_OK);
    cr_assert_eq(pt_mix(-3, 2.5, "abc", 0.25f, blob(7), -2), 100 + 15 + 4000 + 50 + 7 + 5);
    cr_assert_eq(chook_point_detach(p), CHOOK_OK);
}

static int by_position(chook_call *call, void *data)
{
    (void)data;
    cr_assert_eq(*(int *)chook_arg_at(call, 0), 7, "int at position 0");
    cr_assert_eq(*(double *)chook_arg_at(call, 1), 2.5, "double at position 1");
    cr_assert_str_eq(*(const char **)chook_arg_at(call, 2), "abc");
    cr_assert_eq(*(float *)chook_arg_at(call, 3), 0.25f, "float at position 3");
    cr_assert_null(chook_arg_at(call, 4), "a structure has no slot");
    cr_assert_eq(*(short *)chook_arg_at(call, 5), -2);
    cr_assert_null(chook_arg_at(call, 6), "past the last argument");
    *(short *)chook_arg_at(call, 5) = 40;
    return CHOOK_CONTINUE;
}

Test(point_generic, arguments_by_position_with_chook_arg_at)
{
    chook_point *p = find("pt_mix");
    cr_assert_eq(chook_point_attach_generic(p, by_position, NULL, NULL), CHOOK_OK);
    cr_assert_eq(pt_mix(7, 2.5, "abc", 0.25f, blob(1), -2), 7 + 25 + 3000 + 25 + 1 + 40);
    cr_assert_eq(chook_point_detach(p), CHOOK_OK);
}

/* ---- return values, skip, per-call data ------------------------------------------- */

static int remember(chook_call *call, void *data)
{
    (void)data;
    *chook_call_data(call) = *chook_arg(call, 0) * 2;
    return CHOOK_CONTINUE;
}

static void add_remembered(chook_call *call, void *data)
{
    struct seen *s = data;
    s->leaves++;
    *chook_retval(call) += *chook_call_data(call);
}

Test(point_generic, on_leave_rewrites_the_return_value_with_per_call_data)
{
    chook_point *p = find("pt_mix");
    struct seen s = { 0 };
    cr_assert_eq(chook_point_attach_generic(p, remember, add_remembered, &s), CHOOK_OK);
    cr_assert_eq(pt_mix(1, 0, "", 0, blob(0), 0), 1 + 2);
    cr_assert_eq(pt_mix(10, 0, "", 0, blob(0), 0), 10 + 20);
    cr_assert_eq(s.leaves, 2);
    cr_assert_eq(chook_point_detach(p), CHOOK_OK);
}

static void leave_only(chook_call *call, void *data)
{
    (void)data;
    cr_assert_eq(*chook_call_data(call), 0, "per-call data starts at zero");
    *chook_retval(call) = (uintptr_t)-(long)*chook_retval(call);
}

Test(point_generic, on_leave_alone_is_enough)
{
    chook_point *p = find("pt_mix");
    cr_assert_eq(chook_point_attach_generic(p, NULL, leave_only, NULL), CHOOK_OK);
    cr_assert_eq(pt_mix(4, 0, "", 0, blob(0), 0), -4);
    cr_assert_eq(chook_point_detach(p), CHOOK_OK);
}

static int skip_with_77(chook_call *call, void *data)
{
    (void)data;
    return chook_skip(call, 77);
}

static void check_skipped(chook_call *call, void *data)
{
    struct seen *s = data;
    s->leaves++;
    cr_assert(chook_call_skipped(call));
    cr_assert_eq(*chook_retval(call), 77);
    *chook_retval(call) += 1;
}

Test(point_generic, skip_returns_its_value_and_on_leave_still_runs)
{
    chook_point *p = find("pt_mix");
    struct seen s = { 0 };
    cr_assert_eq(chook_point_attach_generic(p, skip_with_77, check_skipped, &s), CHOOK_OK);
    int before = mix_bodies;
    cr_assert_eq(pt_mix(4, 0, "", 0, blob(0), 0), 78);
    cr_assert_eq(mix_bodies, before, "the body did not run");
    cr_assert_eq(s.leaves, 1);
    cr_assert_eq(chook_point_detach(p), CHOOK_OK);
}

static int swap_doubles(chook_call *call, void *data)
{
    (void)data;
    double a = *chook_arg_fp(call, 0);
    *chook_arg_fp(call, 0) = *chook_arg_fp(call, 1);
    *chook_arg_fp(call, 1) = a;
    return CHOOK_CONTINUE;
}

static void halve(chook_call *call, void *data)
{
    (void)data;
    *chook_retval_fp(call) /= 2;
}

static int skip_fp(chook_call *call, void *data)
{
    (void)data;
    chook_skip(call, 0);
    *chook_retval_fp(call) = 9.75; /* after chook_skip(), which clears it */
    return CHOOK_SKIP;
}

Test(point_generic, floating_arguments_and_return_value)
{
    chook_point *p = find("pt_ratio");
    cr_assert_eq(chook_point_attach_generic(p, swap_doubles, halve, NULL), CHOOK_OK);
    cr_assert_eq(pt_ratio(1, 4), 2.0, "4 / 1, halved");
    cr_assert_eq(chook_point_attach_generic(p, skip_fp, NULL, NULL), CHOOK_OK);
    cr_assert_eq(pt_ratio(1, 4), 9.75);
    cr_assert_eq(chook_point_detach(p), CHOOK_OK);
    cr_assert_eq(pt_ratio(1, 4), 0.25);
}

static void float_plus_one(chook_call *call, void *data)
{
    (void)data;
    float *r = (float *)chook_retval_fp(call);
    cr_assert_eq(*r, 2.5f, "a float return value: the low 4 bytes");
    *r += 1;
}

static int float_arg_times_ten(chook_call *call, void *data)
{
    (void)data;
    *(float *)chook_arg_fp(call, 0) *= 10;
    return CHOOK_CONTINUE;
}

Test(point_generic, float_arguments_and_return_value_are_the_low_4_bytes)
{
    chook_point *p = find("pt_half");
    cr_assert_eq(chook_point_attach_generic(p, float_arg_times_ten, float_plus_one, NULL),
                 CHOOK_OK);
    cr_assert_eq(pt_half(0.5f), 3.5f, "0.5 * 10 / 2 = 2.5, + 1");
    cr_assert_eq(chook_point_detach(p), CHOOK_OK);
}

static int void_leaves;

static void count_leave(chook_call *call, void *data)
{
    (void)call, (void)data;
    void_leaves++;
}

static int double_n(chook_call *call, void *data)
{
    (void)data;
    *chook_arg(call, 0) *= 2;
    return CHOOK_CONTINUE;
}

Test(point_generic, void_points_run_on_leave_at_every_return)
{
    chook_point *p = find("pt_hit");
    cr_assert_eq(chook_point_attach_generic(p, double_n, count_leave, NULL), CHOOK_OK);
    hits = 0;
    pt_hit(3);
    cr_assert_eq(hits, 6);
    cr_assert_eq(void_leaves, 1);
    cr_assert_eq(chook_point_detach(p), CHOOK_OK);
}

Test(point_generic, both_callbacks_null_is_EINVAL)
{
    chook_point *p = find("pt_hit");
    cr_assert_eq(chook_point_attach_generic(p, NULL, NULL, NULL), CHOOK_EINVAL);
    cr_assert_eq(chook_point_attach_generic(NULL, double_n, NULL, NULL), CHOOK_EINVAL);
}

/* Typed and generic attachments replace each other. */
static int typed_plus_one(void *data, chook_point_epilog_pt_hit *ep, int *n)
{
    (void)data, (void)ep;
    *n += 1;
    return CHOOK_POINT_CONTINUE;
}

Test(point_generic, a_generic_attachment_replaces_a_typed_one_and_back)
{
    chook_point *p = find("pt_hit");
    hits = 0;
    cr_assert_eq(chook_point_attach_pt_hit(p, typed_plus_one, NULL), CHOOK_OK);
    pt_hit(1);
    cr_assert_eq(hits, 2);
    cr_assert_eq(chook_point_attach_generic(p, double_n, NULL, NULL), CHOOK_OK);
    pt_hit(1);
    cr_assert_eq(hits, 4);
    cr_assert_eq(chook_point_attach_pt_hit(p, typed_plus_one, NULL), CHOOK_OK);
    pt_hit(1);
    cr_assert_eq(hits, 6);
    cr_assert_eq(chook_point_detach(p), CHOOK_OK);
    cr_assert_eq(chook_point_wait(p, 1000), CHOOK_OK);
}
