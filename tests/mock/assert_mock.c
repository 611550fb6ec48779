/*
 * chook mocks with no test framework: a main() with assert().
 */
#undef NDEBUG
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include <chook_mock.h>

#include "code_under_test.h"

static int digit_ten(char c)
{
    (void)c;
    return 10;
}

static void *no_memory(size_t n)
{
    (void)n;
    errno = ENOMEM;
    return NULL;
}

static int checks;
#define CHECK(cond) (assert(cond), checks++)

int main(void)
{
    int (*digit_value)(char) = (int (*)(char))cut_digit_value_address();
    {
        CHOOK_MOCK_NAMED(digit, *digit_value, digit_ten);
        CHECK(digit != NULL);
        CHECK(cut_sum_digits("123") == 30);
        CHECK(chook_mock_calls(digit) == 3);
    }
    CHECK(cut_sum_digits("123") == 6);

    int st;
    {
        CHOOK_MOCK_THREAD(malloc, no_memory);
        st = cut_compress(2048);
    }
    CHECK(st == Z_MEM_ERROR);
    CHECK(cut_compress(2048) == Z_OK);

    {
        CHOOK_MOCK_RETURNS(getppid, CHOOK_MOCK_RETURN(1), CHOOK_MOCK_FAIL(-1, EPERM));
        CHECK(getppid() == 1);
        errno = 0;
        CHECK(getppid() == -1 && errno == EPERM);
        CHECK(getppid() > 0);  /* the real one again */
        CHECK(chook_mock_calls(getppid_mock) == 3);
    }
    printf("assert_mock: %d passed, 0 failed\n", checks);
    return 0;
}
