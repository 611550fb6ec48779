/*
 * Interception: reading and writing arguments in both classes at every position,
 * mixed signatures, aggregates passed by value, variadic functions, and the
 * stack arguments reaching the original unchanged.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "chook.h"

#define NOINLINE __attribute__((noinline, noclone))

/* ---- targets ---- */

/* Each argument weighted by its position, so any value out of place shows. */
NOINLINE long ints10(long a0, long a1, long a2, long a3, long a4, long a5, long a6, long a7,
                     long a8, long a9)
{
    long r = a0 + 2 * a1 + 3 * a2 + 4 * a3 + 5 * a4 + 6 * a5 + 7 * a6 + 8 * a7 + 9 * a8 +
             10 * a9;
    __asm__ volatile("" : "+r"(r));
    return r;
}

NOINLINE double dbls10(double a0, double a1, double a2, double a3, double a4, double a5,
                       double a6, double a7, double a8, double a9)
{
    double r = a0 + 2 * a1 + 3 * a2 + 4 * a3 + 5 * a4 + 6 * a5 + 7 * a6 + 8 * a7 + 9 * a8 +
               10 * a9;
    __asm__ volatile("" : "+x"(r));
    return r;
}

/* Both classes spill: i6, i7 then d8, d9 on the stack, in that order. */
NOINLINE double spill_both(long i0, long i1, long i2, long i3, long i4, long i5, long i6,
                           long i7, double d0, double d1, double d2, double d3, double d4,
                           double d5, double d6, double d7, double d8, double d9)
{
    double r = (double)(i0 + i1 + i2 + i3 + i4 + i5) + 100.0 * (double)i6 +
               1000.0 * (double)i7 + d0 + d1 + d2 + d3 + d4 + d5 + d6 + d7 + 0.5 * d8 +
               0.25 * d9;
    __asm__ volatile("" : "+x"(r));
    return r;
}

NOINLINE double mixed(int a, double b, const char *c, float d, long e)
{
    double r = a + b * 10 + (double)strlen(c) * 100 + d * 1000 + (double)e * 10000;
    __asm__ volatile("" : "+x"(r));
    return r;
}

struct big { long v[5]; };          /* 40 bytes: passed in memory */
struct pair { long a; double b; };  /* 16 bytes: rdi-class + xmm-class eightbytes */

NOINLINE long take_big(long x, struct big b, long y)
{
    long r = x * 1000000 + y;
    for (int i = 0; i < 5; i++) r += b.v[i] * (i + 1) * 100;
    __asm__ volatile("" : "+r"(r));
    return r;
}

NOINLINE double take_pair(struct pair p, double k)
{
    double r = (double)p.a * k + p.b;
    __asm__ volatile("" : "+x"(r));
    return r;
}

NOINLINE long vsum(int n, ...)
{
    va_list ap;
    va_start(ap, n);
    long r = 0;
    for (int i = 0; i < n; i++) r += va_arg(ap, long) * (i + 1);
    va_end(ap);
    return r;
}

NOINLINE double vdsum(int n, ...)
{
    va_list ap;
    va_start(ap, n);
    double r = 0;
    for (int i = 0; i < n; i++) r += va_arg(ap, double) * (i + 1);
    va_end(ap);
    return r;
}

/* Calls through volatile pointers: the compiler can neither inline nor fold. */
static long (*volatile p_ints10)(long, long, long, long, long, long, long, long, long,
                                 long) = ints10;
static double (*volatile p_dbls10)(double, double, double, double, double, double, double,
                                   double, double, double) = dbls10;
static double (*volatile p_spill)(long, long, long, long, long, long, long, long, double,
                                  double, double, double, double, double, double, double,
                                  double, double) = spill_both;
static double (*volatile p_mixed)(int, double, const char *, float, long) = mixed;
static long (*volatile p_take_big)(long, struct big, long) = take_big;
static double (*volatile p_take_pair)(struct pair, double) = take_pair;
static long (*volatile p_vsum)(int, ...) = vsum;
static double (*volatile p_vdsum)(int, ...) = vdsum;
static int (*volatile p_snprintf)(char *, size_t, const char *, ...) = snprintf;

/* ---- helpers ---- */

struct seen {
    uintptr_t ints[10];
    double dbls[10];
    int enters, leaves;
};

static void leave_count(chook_call *call, void *data)
{
    (void)call;
    ((struct seen *)data)->leaves++;
}

/* ---- every position, integer class ---- */

static int read_and_bump_ints(chook_call *call, void *data)
{
    struct seen *s = data;
    s->enters++;
    for (unsigned i = 0; i < 10; i++) {
        s->ints[i] = *chook_arg(call, i);
        *chook_arg(call, i) += 1; /* the original must see every change */
    }
    return CHOOK_CONTINUE;
}

static void check_ints10(chook_leave_fn leave)
{
    struct seen s = { 0 };
    chook_listener *l;
    const long expect = ints10(12, 13, 14, 15, 16, 17, 18, 19, 20, 21);
    cr_assert_eq(chook_attach((void *)ints10, read_and_bump_ints, leave, &s, &l), CHOOK_OK,
                 "%s", chook_last_error());
    long r = p_ints10(11, 12, 13, 14, 15, 16, 17, 18, 19, 20);
    for (unsigned i = 0; i < 10; i++)
        cr_expect_eq(s.ints[i], 11 + i, "integer argument %u read as %lu", i,
                     (unsigned long)s.ints[i]);
    cr_expect_eq(r, expect, "the original saw the rewritten arguments");
    cr_expect_eq(s.enters, 1);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
    cr_expect_eq(p_ints10(11, 12, 13, 14, 15, 16, 17, 18, 19, 20),
                 ints10(11, 12, 13, 14, 15, 16, 17, 18, 19, 20));
}

Test(args, every_integer_position_is_readable_and_writable_when_entered_by_jump)
{
    check_ints10(NULL);
}

Test(args, every_integer_position_is_readable_and_writable_when_called_from_the_frame)
{
    /* With an on_leave the original runs from the dispatcher's frame on a copy of
     * the stack arguments: positions 6-9 must arrive there rewritten. */
    check_ints10(leave_count);
}

/* ---- every position, floating class ---- */

static int read_and_bump_dbls(chook_call *call, void *data)
{
    struct seen *s = data;
    s->enters++;
    for (unsigned i = 0; i < 10; i++) {
        s->dbls[i] = *chook_arg_fp(call, i);
        *chook_arg_fp(call, i) += 0.5;
    }
    return CHOOK_CONTINUE;
}

static void check_dbls10(chook_leave_fn leave)
{
    struct seen s = { 0 };
    chook_listener *l;
    const double expect = dbls10(1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5, 10.5);
    cr_assert_eq(chook_attach((void *)dbls10, read_and_bump_dbls, leave, &s, &l), CHOOK_OK,
                 "%s", chook_last_error());
    double r = p_dbls10(1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0);
    for (unsigned i = 0; i < 10; i++)
        cr_expect_eq(s.dbls[i], 1.0 + i, "floating argument %u read as %g", i, s.dbls[i]);
    cr_expect_eq(r, expect);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
}

Test(args, every_floating_position_is_readable_and_writable_when_entered_by_jump)
{
    check_dbls10(NULL);
}

Test(args, every_floating_position_is_readable_and_writable_when_called_from_the_frame)
{
    check_dbls10(leave_count);
}

/* ---- signatures ---- */

static int read_spill(chook_call *call, void *data)
{
    struct seen *s = data;
    s->ints[0] = *chook_arg(call, 6);
    s->ints[1] = *chook_arg(call, 7);
    s->dbls[0] = *chook_arg_fp(call, 8);
    s->dbls[1] = *chook_arg_fp(call, 9);
    *chook_arg_fp(call, 9) = 4.0;     /* 0.25 * 4 = 1 in the result */
    *(long *)chook_arg_at(call, 6) = 2; /* positional: i6 */
    return CHOOK_CONTINUE;
}

Test(args, a_signature_places_stack_arguments_of_both_classes_exactly)
{
    struct seen s = { 0 };
    chook_listener *l;
    chook_attach_opts o = { .signature = "i,i,i,i,i,i,i,i,d,d,d,d,d,d,d,d,d,d->d" };
    cr_assert_eq(chook_attach_ex((void *)spill_both, read_spill, leave_count, &s, &o, &l),
                 CHOOK_OK, "%s", chook_last_error());
    double r = p_spill(0, 0, 0, 0, 0, 0, 7, 9, 0, 0, 0, 0, 0, 0, 0, 0, 6.0, 8.0);
    cr_expect_eq(s.ints[0], 7);
    cr_expect_eq(s.ints[1], 9);
    cr_expect_eq(s.dbls[0], 6.0);
    cr_expect_eq(s.dbls[1], 8.0);
    cr_expect_eq(r, 100.0 * 2 + 1000.0 * 9 + 0.5 * 6.0 + 0.25 * 4.0);
    cr_expect_eq(s.leaves, 1);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
}

static int read_mixed(chook_call *call, void *data)
{
    struct seen *s = data;
    s->ints[0] = *(uintptr_t *)chook_arg_at(call, 0);
    s->dbls[0] = *(double *)chook_arg_at(call, 1);
    s->ints[1] = (uintptr_t)*(const char **)chook_arg_at(call, 2);
    s->dbls[1] = *(float *)chook_arg_at(call, 3);
    s->ints[2] = *(uintptr_t *)chook_arg_at(call, 4);
    cr_expect_null(chook_arg_at(call, 5), "no position past the signature");
    /* The class-counting accessors agree with the positional ones. */
    cr_expect_eq(chook_arg(call, 1), chook_arg_at(call, 2));
    cr_expect_eq((void *)chook_arg_fp(call, 1), chook_arg_at(call, 3));
    *(float *)chook_arg_at(call, 3) = 2.0f;
    return CHOOK_CONTINUE;
}

Test(args, mixed_classes_by_position_with_a_signature)
{
    struct seen s = { 0 };
    chook_listener *l;
    chook_attach_opts o = { .signature = "i, d, p, f, i -> d" };
    const char *str = "abc";
    const double expect = mixed(3, 0.5, str, 2.0f, 2);
    cr_assert_eq(chook_attach_ex((void *)mixed, read_mixed, NULL, &s, &o, &l), CHOOK_OK, "%s",
                 chook_last_error());
    double r = p_mixed(3, 0.5, str, 1.0f, 2);
    cr_expect_eq((int)s.ints[0], 3);
    cr_expect_eq(s.dbls[0], 0.5);
    cr_expect_eq(s.ints[1], (uintptr_t)str);
    cr_expect_eq(s.dbls[1], 1.0);
    cr_expect_eq(s.ints[2], 2);
    cr_expect_eq(r, expect);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
}

/* ---- aggregates by value ---- */

static int read_big(chook_call *call, void *data)
{
    struct seen *s = data;
    s->enters++;
    const struct big *b = chook_arg_at(call, 1);
    for (int i = 0; i < 5; i++) s->ints[i] = (uintptr_t)b->v[i];
    s->ints[5] = *chook_arg(call, 1); /* y: the second integer-class argument */
    return CHOOK_CONTINUE;
}

Test(args, an_aggregate_passed_in_memory_reaches_the_original_unchanged)
{
    struct seen s = { 0 };
    chook_listener *l;
    chook_attach_opts o = { .signature = "i,m40,i->i" };
    struct big b = { { 1, 2, 3, 4, 5 } };
    const long expect = take_big(7, b, 9);
    cr_assert_eq(chook_attach_ex((void *)take_big, read_big, leave_count, &s, &o, &l), CHOOK_OK,
                 "%s", chook_last_error());
    cr_expect_eq(p_take_big(7, b, 9), expect);
    for (int i = 0; i < 5; i++) cr_expect_eq(s.ints[i], (uintptr_t)(i + 1));
    cr_expect_eq(s.ints[5], 9);
    cr_expect_eq(s.leaves, 1);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
}

Test(args, an_aggregate_in_memory_fits_the_default_copy_without_a_signature)
{
    struct seen s = { 0 };
    chook_listener *l;
    struct big b = { { 10, 20, 30, 40, 50 } };
    const long expect = take_big(1, b, 2);
    cr_assert_eq(chook_attach((void *)take_big, NULL, leave_count, &s, &l), CHOOK_OK);
    cr_expect_eq(p_take_big(1, b, 2), expect);
    cr_expect_eq(s.leaves, 1);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
}

static int read_pair(chook_call *call, void *data)
{
    struct seen *s = data;
    s->ints[0] = *chook_arg(call, 0);   /* pair.a in rdi */
    s->dbls[0] = *chook_arg_fp(call, 0); /* pair.b in xmm0 */
    s->dbls[1] = *chook_arg_fp(call, 1); /* k in xmm1 */
    return CHOOK_CONTINUE;
}

Test(args, a_small_aggregate_is_read_by_its_eightbytes)
{
    struct seen s = { 0 };
    chook_listener *l;
    cr_assert_eq(chook_attach((void *)take_pair, read_pair, leave_count, &s, &l), CHOOK_OK);
    struct pair p = { 6, 0.25 };
    cr_expect_eq(p_take_pair(p, 3.0), 18.25);
    cr_expect_eq(s.ints[0], 6);
    cr_expect_eq(s.dbls[0], 0.25);
    cr_expect_eq(s.dbls[1], 3.0);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
}

/* ---- variadic ---- */

static int read_variadic(chook_call *call, void *data)
{
    struct seen *s = data;
    s->enters++;
    unsigned n = (unsigned)*chook_arg(call, 0);
    for (unsigned i = 0; i < n && i < 9; i++) s->ints[i] = *chook_arg(call, i + 1);
    return CHOOK_CONTINUE;
}

Test(args, variadic_fixed_and_extra_integer_arguments_are_readable_and_pass_through)
{
    struct seen s = { 0 };
    chook_listener *l;
    chook_attach_opts o = { .signature = "i,...->i" };
    const long expect = vsum(9, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L);
    cr_assert_eq(chook_attach_ex((void *)vsum, read_variadic, leave_count, &s, &o, &l),
                 CHOOK_OK, "%s", chook_last_error());
    long r = p_vsum(9, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L);
    cr_expect_eq(r, expect);
    for (unsigned i = 0; i < 9; i++) cr_expect_eq(s.ints[i], i + 1, "variadic argument %u", i);
    cr_expect_eq(s.leaves, 1);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
}

Test(args, variadic_floating_arguments_keep_their_vector_count)
{
    /* al tells a variadic callee how many vector registers hold arguments; it
     * must reach the original intact for va_arg(ap, double) to work. */
    struct seen s = { 0 };
    chook_listener *l;
    const double expect = vdsum(10, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0);
    cr_assert_eq(chook_attach((void *)vdsum, NULL, leave_count, &s, &l), CHOOK_OK);
    double r = p_vdsum(10, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0);
    cr_expect_eq(r, expect);
    cr_expect_eq(s.leaves, 1);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
}

static int read_format(chook_call *call, void *data)
{
    struct seen *s = data;
    s->enters++;
    s->ints[0] = (uintptr_t)*chook_arg(call, 2); /* the format string */
    return CHOOK_CONTINUE;
}

Test(args, a_libc_printf_family_function_is_intercepted)
{
    struct seen s = { 0 };
    chook_listener *l;
    cr_assert_eq(chook_attach((void *)snprintf, read_format, leave_count, &s, &l), CHOOK_OK,
                 "%s", chook_last_error());
    char buf[128];
    static const char fmt[] = "%d %s %.2f %ld %ld %ld %ld %ld";
    int n = p_snprintf(buf, sizeof buf, fmt, 1, "two", 3.0, 4L, 5L, 6L, 7L, 8L);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
    cr_expect_str_eq(buf, "1 two 3.00 4 5 6 7 8");
    cr_expect_eq(n, (int)strlen("1 two 3.00 4 5 6 7 8"));
    cr_expect_eq(s.ints[0], (uintptr_t)fmt);
    cr_expect_eq(s.enters, 1);
    cr_expect_eq(s.leaves, 1);
}

/* ---- bad signatures ---- */

Test(args, a_bad_signature_is_refused_with_its_position)
{
    chook_listener *l = NULL;
    static const char *bad[] = { "x->i", "i,d", "i,,d->i", "...,i->i", "m8->i", "i->q",
                                 "i->i junk", "m->i" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        chook_attach_opts o = { .signature = bad[i] };
        int st = chook_attach_ex((void *)ints10, read_and_bump_ints, NULL, NULL, &o, &l);
        cr_expect(st == CHOOK_EINVAL || st == CHOOK_ENOTSUP, "\"%s\" gave %d", bad[i], st);
        cr_expect(strstr(chook_last_error(), bad[i]) != NULL, "message: %s",
                  chook_last_error());
    }
    cr_expect_null(l, "nothing attached");
    /* The target was left alone. */
    cr_expect_eq(p_ints10(1, 1, 1, 1, 1, 1, 1, 1, 1, 1), 55);
}
