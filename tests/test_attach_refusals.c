/*
 * What listeners refuse, alone and in a pattern:
 *   - a compiler's cold part (foo.cold) is entered by a jump, not a call: no
 *     listener (CHOOK_ENOTSUP), while the function it belongs to takes them;
 *   - chook_attach_pattern() reports functions that cannot take an on_leave
 *     (setjmp and the like, CHOOK_ENOLEAVE) and attaches the others.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <setjmp.h>
#include <string.h>

#include "chook.h"

long fx_hot(long x); /* tests/fixtures/cold_part.S */

static int enters;

static int on_enter(chook_call *call, void *data)
{
    (void)call, (void)data;
    enters++;
    return CHOOK_CONTINUE;
}

static void on_leave(chook_call *call, void *data) { (void)call, (void)data; }

Test(cold, a_cold_part_takes_no_listener)
{
    chook_symbol sym = { .size_of_struct = sizeof sym };
    void *cold = NULL;
    cr_assert_eq(chook_symbol_lookup(NULL, "fx_hot.cold", &sym, &cold), CHOOK_OK, "%s",
                 chook_last_error());
    unsigned char before[8];
    memcpy(before, cold, sizeof before);
    chook_listener *l = NULL;
    cr_expect_eq(chook_attach(cold, on_enter, NULL, NULL, &l), CHOOK_ENOTSUP);
    cr_expect(strstr(chook_last_error(), "fx_hot.cold"), "%s", chook_last_error());
    cr_expect(strstr(chook_last_error(), "entered by a jump"), "%s", chook_last_error());
    cr_expect_eq(memcmp(before, cold, sizeof before), 0, "the cold part was changed");
    cr_expect_eq(fx_hot(7), 22);

    /* The function itself takes listeners; its cold part keeps working. */
    enters = 0;
    cr_assert_eq(chook_attach((void *)fx_hot, on_enter, on_leave, NULL, &l), CHOOK_OK, "%s",
                 chook_last_error());
    cr_expect_eq(fx_hot(7), 22);
    cr_expect_eq(fx_hot(8), 4);
    cr_expect_eq(enters, 2);
    cr_expect_eq(chook_detach(l), CHOOK_OK);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK);
}

struct seen {
    int setjmp_refused, others_attached, others_failed;
};

static int report(chook_pattern_match *m, void *arg)
{
    struct seen *s = arg;
    if (strcmp(m->symbol->name, "_setjmp") == 0 || strcmp(m->symbol->name, "__sigsetjmp") == 0)
        s->setjmp_refused += m->status == CHOOK_ENOLEAVE && strstr(m->reason, "on_leave");
    else if (m->status == CHOOK_OK)
        s->others_attached++;
    else
        s->others_failed++;
    return 0;
}

Test(pattern, functions_without_on_leave_are_reported_and_the_others_attached)
{
    struct seen s = { 0 };
    size_t n = 0;
    /* _setjmp, __sigsetjmp and libc's other *sigset* functions. */
    int st = chook_attach_pattern("libc.so.6:*s*etjmp", CHOOK_EACH_EXPORTED, on_enter, on_leave,
                                  NULL, NULL, NULL, report, &s, &n);
    cr_assert_eq(st, CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(s.setjmp_refused, 2);
    cr_expect_eq(n, (size_t)s.others_attached);

    st = chook_attach_pattern("libc.so.6:sig*", CHOOK_EACH_EXPORTED, on_enter, on_leave, NULL,
                              NULL, NULL, report, &s, &n);
    cr_assert_eq(st, CHOOK_OK, "%s", chook_last_error());
    cr_expect_gt(n, 5, "sigaction, sigprocmask, ... attached");

    /* setjmp still works (enter-only would be allowed; nothing is attached to it). */
    jmp_buf jb;
    volatile int rounds = 0;
    if (setjmp(jb) < 3) {
        rounds++;
        longjmp(jb, rounds);
    }
    cr_expect_eq(rounds, 3);
}
