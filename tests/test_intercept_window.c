/*
 * The stack-argument window of a caller without unwind information is the rest
 * of its stack mapping, and that rest depends on how deep the call is: a window
 * measured deep in a stack must not be reused for the same call site near the
 * top of one (the copy would read past the mapping).
 *
 * The caller (tests/fixtures/icpt_frames.S, icpt_call_misaligned_nocfi) runs on
 * a small stack of its own with an inaccessible page right above it: first deep
 * in that stack, then a few hundred bytes from its top.
 */
#include <criterion/criterion.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "chook.h"

long icpt_align_target(long x);
long icpt_call_misaligned_nocfi(long (*fn)(long), long x);

static ucontext_t main_uc, stack_uc;
static volatile long results[2];

__attribute__((noinline)) static long call_deep(int depth)
{
    /* About 6 KiB of frames between the top and the call. */
    volatile char pad[512];
    pad[0] = (char)depth;
    if (depth > 0) return call_deep(depth - 1) + pad[0] - depth;
    return icpt_call_misaligned_nocfi(icpt_align_target, 20);
}

static void on_small_stack(void)
{
    results[0] = call_deep(12);
    results[1] = icpt_call_misaligned_nocfi(icpt_align_target, 21);
}

static int count_enter(chook_call *call, void *data)
{
    (void)call, (void)data;
    return CHOOK_CONTINUE;
}

static void count_leave(chook_call *call, void *data)
{
    (void)call;
    ++*(int *)data;
}

Test(window, a_deep_window_is_not_reused_near_the_top_of_a_stack, .timeout = 30)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t size = 4 * page;
    /* Three pages of stack, one inaccessible page above them. */
    char *base = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(base, MAP_FAILED);
    cr_assert_eq(mprotect(base, 3 * page, PROT_READ | PROT_WRITE), 0);

    int leaves = 0;
    chook_listener *l = NULL;
    cr_assert_eq(chook_attach((void *)icpt_align_target, count_enter, count_leave, &leaves, &l),
                 CHOOK_OK, "%s", chook_last_error());

    cr_assert_eq(getcontext(&stack_uc), 0);
    stack_uc.uc_stack.ss_sp = base;
    stack_uc.uc_stack.ss_size = 3 * page;
    stack_uc.uc_link = &main_uc;
    makecontext(&stack_uc, on_small_stack, 0);
    cr_assert_eq(swapcontext(&main_uc, &stack_uc), 0);

    cr_expect_eq(results[0], 41);
    cr_expect_eq(results[1], 43);
    cr_expect_eq(leaves, 2);
    cr_expect_eq(chook_detach(l), CHOOK_OK);
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK);
    munmap(base, size);
}
