/*
 * chook mocks in GoogleTest, through the C++ guards of <chook_mock.hpp>.
 */
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>
#include <zlib.h>

#include <chook_mock.hpp>

#include "code_under_test.h"

using digit_fn = int(char);

TEST(ChookMock, LambdaWithCapturesReplacesAStaticFunction)
{
    auto *digit_value = reinterpret_cast<digit_fn *>(cut_digit_value_address());
    int seen = 0;
    {
        chook::mock<digit_fn> m(digit_value, [&seen](char c) {
            ++seen;
            return c == '9' ? 100 : 0;
        });
        EXPECT_EQ(cut_sum_digits("919"), 200);
        EXPECT_EQ(m.calls(), 3u);
        ASSERT_EQ(m.args().size(), 3u);
        EXPECT_EQ(std::get<0>(m.args()[1]), '1');
        EXPECT_EQ(m.call_original('7'), 7);
    }
    EXPECT_EQ(seen, 3);
    EXPECT_EQ(cut_sum_digits("919"), 19);
}

TEST(ChookMock, MallocInsideZlibOnThisThread)
{
    int st, ok;
    uint64_t calls;
    {
        chook::mock m(::malloc, [](size_t) -> void * { return nullptr; },
                                          chook::this_thread);
        st = cut_compress(4096);
        calls = m.calls();
        ASSERT_EQ(m.end(), CHOOK_OK);  // before the assertions below allocate
    }
    {
        chook::mock m(::malloc, [&](size_t n) -> void * {
            return CHOOK_MOCK_REAL(malloc)(n);
        }, chook::this_thread);
        ok = cut_compress(4096);
        ASSERT_EQ(m.end(), CHOOK_OK);
        EXPECT_GE(m.args().size(), 1u);
    }
    EXPECT_EQ(st, Z_MEM_ERROR);
    EXPECT_GE(calls, 1u);
    EXPECT_EQ(ok, Z_OK);
}

TEST(ChookMock, WriteFailsInsideGzclose)
{
    char path[] = "/tmp/chook_gtest_gz_XXXXXX";
    int tmp = mkstemp(path);
    ASSERT_GE(tmp, 0);
    close(tmp);
    int fd = -1, st;
    std::vector<std::tuple<int, const void *, size_t>> args;
    {
        chook::mock w(::write, [](int, const void *, size_t) -> ssize_t {
            errno = ENOSPC;
            return -1;
        }, chook::this_thread);
        st = cut_save_gz(path, "hello\n", &fd);
        args = w.args();
    }
    unlink(path);
    EXPECT_EQ(st, Z_ERRNO);
    ASSERT_GE(args.size(), 1u);
    EXPECT_EQ(std::get<0>(args[0]), fd);
}

TEST(ChookMock, SequenceOfAnswers)
{
    pid_t real = getpid();
    {
        chook::returns p(::getpid, { chook::ret(42), chook::ret_n(7, 2) });
        EXPECT_EQ(getpid(), 42);
        EXPECT_EQ(getpid(), 7);
        EXPECT_EQ(getpid(), 7);
        EXPECT_EQ(getpid(), real);  // steps used up
        EXPECT_EQ(p.calls(), 4u);
    }
    {
        chook::returns d(::dup, { chook::fail(-1, EMFILE) });
        errno = 0;
        EXPECT_EQ(dup(1), -1);
        EXPECT_EQ(errno, EMFILE);
        EXPECT_EQ(d.arg<int>(0, 0), 1);
        EXPECT_THROW(d.arg<int>(5, 0), chook::mock_error);
    }
}

static char printed[128];

extern "C" int printf_to_buffer(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(printed, sizeof printed, fmt, ap);
    va_end(ap);
    return n;
}

TEST(ChookMock, VariadicPrintf)
{
    int (*volatile call_printf)(const char *, ...) = ::printf;
    int n;
    {
        chook::mock p(::printf, printf_to_buffer, chook::this_thread);
        n = call_printf("%s=%d %.1f", "x", 5, 0.5);
    }
    EXPECT_EQ(n, 7);
    EXPECT_STREQ(printed, "x=5 0.5");
}

static int not_code[16];

TEST(ChookMock, UnhookableTargetThrows)
{
    auto *bad = reinterpret_cast<int (*)(int)>(reinterpret_cast<void *>(not_code));
    try {
        chook::mock<int(int)> m(bad, [](int x) { return x; });
        FAIL() << "no exception";
    } catch (const chook::mock_error &e) {
        EXPECT_EQ(e.status(), CHOOK_ENOTEXEC);
        EXPECT_NE(std::string(e.what()).find("chook::mock"), std::string::npos);
    }
}
