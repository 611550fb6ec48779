/*
 * A C++ exception thrown by an intercepted function unwinds through the
 * interception dispatcher's frame to the caller's handler, and interception
 * stays consistent afterwards.
 */
#include <criterion/criterion.h>
#include <stdexcept>

#include "chook.h"

extern "C" __attribute__((noinline)) long icpt_may_throw(long x)
{
    if (x < 0) throw std::runtime_error("negative");
    long r = x * 2;
    __asm__ volatile("" : "+r"(r));
    return r;
}

static long (*volatile p_may_throw)(long) = icpt_may_throw;

struct counts {
    int enters, leaves;
};

static int count_enter(chook_call *, void *data)
{
    static_cast<counts *>(data)->enters++;
    return CHOOK_CONTINUE;
}

static void count_leave(chook_call *, void *data)
{
    static_cast<counts *>(data)->leaves++;
}

static long call_and_catch(long x, bool *caught)
{
    try {
        return p_may_throw(x);
    } catch (const std::runtime_error &e) {
        *caught = std::string(e.what()) == "negative";
        return -1;
    }
}

Test(cxx, an_exception_unwinds_through_an_intercepted_frame)
{
    counts c = { 0, 0 };
    chook_listener *l;
    /* With an on_leave the original runs below the dispatcher's own frame. */
    cr_assert_eq(chook_attach((void *)icpt_may_throw, count_enter, count_leave, &c, &l), CHOOK_OK,
                 "%s", chook_last_error());
    bool caught = false;
    cr_expect_eq(call_and_catch(-5, &caught), -1);
    cr_expect(caught, "the caller's handler caught it");
    cr_expect_eq(c.enters, 1);
    cr_expect_eq(c.leaves, 0, "the unwound call's on_leave does not run");
    caught = false;
    cr_expect_eq(call_and_catch(21, &caught), 42);
    cr_expect_not(caught);
    cr_expect_eq(c.enters, 2);
    cr_expect_eq(c.leaves, 1);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK, "%s", chook_last_error());
}

/* The typed-listener macros compile as C++ too. */
extern "C" __attribute__((noinline)) int icpt_cxx_twice(int x)
{
    int r = x * 2;
    __asm__ volatile("" : "+r"(r));
    return r;
}
static int (*volatile p_twice)(int) = icpt_cxx_twice;

CHOOK_TYPED(cxx_twice, int, int)

static int twice_prolog(int *x, int *, uint64_t *, void *)
{
    *x += 1;
    return CHOOK_CONTINUE;
}

static void twice_epilog(int *ret, uint64_t *, void *data)
{
    *static_cast<int *>(data) = *ret;
}

Test(cxx, a_typed_listener_from_cxx)
{
    int seen = 0;
    chook_typed *t;
    cr_assert_eq(cxx_twice_attach((void *)icpt_cxx_twice, twice_prolog, twice_epilog, &seen, &t),
                 CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(p_twice(20), 42);
    cr_expect_eq(seen, 42);
    cr_assert_eq(chook_typed_detach(t), CHOOK_OK);
    cr_expect_eq(p_twice(20), 40);
}
