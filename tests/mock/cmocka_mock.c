/*
 * chook mocks in cmocka: a chook mock reaches what cmocka's link-time wrapping
 * (--wrap) cannot (a static function, a libc call made inside zlib), and its
 * replacement uses cmocka's own queues (check_expected, mock_type). Mocks are
 * begun in setup and ended in teardown with the C API.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include <chook_mock.h>

#include "code_under_test.h"

static int fake_digit(char c)
{
    check_expected(c);
    return mock_type(int);
}

static void static_helper_answers_from_the_queue(void **state)
{
    (void)state;
    chook_mock *m;
    assert_int_equal(chook_mock_begin(cut_digit_value_address(), (void *)fake_digit, NULL, &m),
                     CHOOK_OK);
    expect_value(fake_digit, c, '4');
    will_return(fake_digit, 40);
    expect_value(fake_digit, c, '2');
    will_return(fake_digit, 2);
    assert_int_equal(cut_sum_digits("42"), 42);
    assert_int_equal(chook_mock_calls(m), 2);
    assert_int_equal(chook_mock_end(m), CHOOK_OK);
    assert_int_equal(cut_sum_digits("42"), 6);
}

/* setup/teardown: the mock lives in the test's state. */
static int setup_write_enospc(void **state)
{
    static const chook_mock_step fail = CHOOK_MOCK_FAIL_ALWAYS(-1, ENOSPC);
    chook_mock_opts opts = { .flags = CHOOK_MOCK_THIS_THREAD };
    chook_mock *m;
    if (chook_mock_returns((void *)write, &fail, 1, &opts, &m) != CHOOK_OK) return -1;
    *state = m;
    return 0;
}

static int teardown_mock(void **state)
{
    return chook_mock_end(*state) == CHOOK_OK ? 0 : -1;
}

static void gzclose_reports_the_full_disk(void **state)
{
    chook_mock *m = *state;
    char path[] = "/tmp/chook_cmocka_gz_XXXXXX";
    int tmp = mkstemp(path);
    assert_true(tmp >= 0);
    close(tmp);
    int fd;
    int st = cut_save_gz(path, "hello\n", &fd);
    unlink(path);
    assert_int_equal(st, Z_ERRNO);
    assert_true(chook_mock_calls(m) >= 1);
    uintptr_t fd_arg;
    assert_int_equal(chook_mock_arg(m, 0, 0, &fd_arg), CHOOK_OK);
    assert_int_equal((int)fd_arg, fd);
}

static void *no_memory(size_t n)
{
    (void)n;
    return NULL;
}

static void malloc_inside_zlib(void **state)
{
    (void)state;
    int st;
    uint64_t calls;
    {
        CHOOK_MOCK_THREAD(malloc, no_memory);
        assert_non_null(malloc_mock);
        st = cut_compress(1024);
        calls = chook_mock_calls(malloc_mock);
    }
    assert_int_equal(st, Z_MEM_ERROR);
    assert_true(calls >= 1);
    assert_int_equal(cut_compress(1024), Z_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(static_helper_answers_from_the_queue),
        cmocka_unit_test_setup_teardown(gzclose_reports_the_full_disk, setup_write_enospc,
                                        teardown_mock),
        cmocka_unit_test(malloc_inside_zlib),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
