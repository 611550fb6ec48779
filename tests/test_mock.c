/*
 * Mocks (chook_mock.h): scoped and explicit replacement mocks, sequences of
 * answers, calls made inside another library (zlib -> libc), static functions
 * by address and by name, one-thread and every-thread mocks, variadic
 * functions, and the errors.
 *
 * While a mock of malloc or write is active on the test's thread, Criterion's
 * assertions (which allocate and write) would meet the mock: results are kept
 * in variables and asserted once the mock's scope has ended.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define CHOOK_MOCK_ON_ERROR(msg) cr_assert_fail("chook mock: %s", msg)
#include <chook_mock.h>

#define NOIPA __attribute__((noipa))

/* ---- the code under test ------------------------------------------------------ */

NOIPA long price(long qty) { long r = qty * 10; __asm__ volatile("" : "+r"(r)); return r; }

/* A static helper reached only through a public function. */
static NOIPA int digit_value(char c) { int r = c - '0'; __asm__ volatile("" : "+r"(r)); return r; }

NOIPA int sum_digits(const char *s)
{
    int sum = 0;
    for (; *s; s++) sum += digit_value(*s);
    return sum;
}

/* Found by name by the test below: a static function with a unique name. */
static NOIPA int mock_named_helper(int x) { int r = x + 1; __asm__ volatile("" : "+r"(r)); return r; }
NOIPA int call_named_helper(int x) { return mock_named_helper(x) * 2; }

NOIPA void *make_buffer(size_t n) { void *p = malloc(n); __asm__ volatile("" : "+r"(p)); return p; }

NOIPA long vsum(int n, ...)
{
    va_list ap;
    va_start(ap, n);
    long s = 0;
    for (int i = 0; i < n; i++) s += va_arg(ap, long);
    va_end(ap);
    return s;
}

struct caller { long result; long n; };

static void *call_price(void *arg)
{
    struct caller *c = arg;
    long sum = 0;
    for (long i = 0; i < c->n; i++) sum += price(1);
    c->result = sum;
    return NULL;
}

/* ---- replacements ------------------------------------------------------------- */

static long price_free(long qty) { (void)qty; return 0; }

static long price_discount(long qty)
{
    return CHOOK_MOCK_REAL(price)(qty) - 1;
}

static long price_double(long qty)
{
    long (*orig)(long) = (long (*)(long))chook_mock_original(chook_mock_current());
    return orig(qty) * 2;
}

static int digit_one(char c) { (void)c; return 1; }

static int named_helper_fake(int x) { return -x; }

/* ---- replacement mocks -------------------------------------------------------- */

Test(mock, scoped_mock_ends_with_its_block)
{
    cr_assert_eq(price(3), 30);
    {
        CHOOK_MOCK(price, price_free);
        cr_assert_not_null(price_mock);
        cr_assert_eq(price(3), 0);
        cr_assert_eq(price(4), 0);
        cr_assert_eq(chook_mock_calls(price_mock), 2);
        cr_assert_eq(chook_mock_target(price_mock), (void *)price);
    }
    cr_assert_eq(price(3), 30);
}

Test(mock, replacement_calls_the_real_function)
{
    CHOOK_MOCK(price, price_discount);
    cr_assert_eq(price(2), 19);
    cr_assert_eq(CHOOK_MOCK_REAL(price)(2), 20);
}

Test(mock, stacked_mocks_newest_first_real_skips_all)
{
    CHOOK_MOCK(price, price_discount);
    {
        /* The newest mock runs; its original is the previous mock. */
        CHOOK_MOCK_NAMED(second, price, price_double);
        cr_assert_eq(price(1), (10 - 1) * 2);
        cr_assert_eq(CHOOK_MOCK_REAL(price)(1), 10);
        cr_assert_eq(chook_mock_calls(second), 1);
        cr_assert_eq(chook_mock_calls(price_mock), 1);
    }
    cr_assert_eq(price(1), 9);
}

Test(mock, stacked_mocks_end_in_any_order)
{
    chook_mock *older, *newer;
    cr_assert_eq(chook_mock_begin((void *)price, (void *)price_discount, NULL, &older), CHOOK_OK);
    cr_assert_eq(chook_mock_begin((void *)price, (void *)price_double, NULL, &newer), CHOOK_OK);
    cr_assert_eq(price(1), 18);
    cr_assert_eq(chook_mock_end(older), CHOOK_OK);
    cr_assert_eq(price(1), 20, "the newer mock's original now leads to the real function");
    cr_assert_eq(CHOOK_MOCK_REAL(price)(1), 10);
    cr_assert_eq(chook_mock_end(newer), CHOOK_OK);
    cr_assert_eq(price(1), 10);
    cr_assert_eq(chook_mock_real((void *)price), (void *)price);
}

Test(mock, explicit_begin_end_for_frameworks_without_scopes)
{
    chook_mock *m = NULL;
    int data = 7;
    chook_mock_opts opts = { .data = &data };
    cr_assert_eq(chook_mock_begin((void *)price, (void *)price_double, &opts, &m), CHOOK_OK,
                 "%s", chook_last_error());
    cr_assert_eq(price(5), 100);
    cr_assert_eq(chook_mock_data(m), &data);
    cr_assert_eq(chook_mock_current(), m, "set by the last mocked call on this thread");
    cr_assert_eq(chook_mock_reset(m), CHOOK_OK);
    cr_assert_eq(chook_mock_calls(m), 0);
    cr_assert_eq(chook_mock_end(m), CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(price(5), 50);
}

/* A closure replacement: finds its mock through chook_current(). */
static long price_from_closure(long qty)
{
    const chook_closure *c = chook_current();
    chook_mock *m = c->data;
    long per_unit = *(long *)chook_mock_data(m);
    return qty * per_unit + (long)chook_mock_calls(m) * 1000;
}

Test(mock, closure_replacement_finds_its_mock)
{
    long per_unit = 3;
    chook_mock_opts opts = { .flags = CHOOK_MOCK_CLOSURE, .data = &per_unit };
    chook_mock *m;
    cr_assert_eq(chook_mock_begin((void *)price, (void *)price_from_closure, &opts, &m), CHOOK_OK);
    cr_assert_eq(price(2), 6 + 1000);
    cr_assert_eq(price(2), 6 + 2000);
    cr_assert_null(chook_current(), "the replacement took its closure: none is left");
    cr_assert_eq(chook_mock_end(m), CHOOK_OK);
    opts.flags = CHOOK_MOCK_CLOSURE | CHOOK_MOCK_THIS_THREAD;
    cr_assert_eq(chook_mock_begin((void *)price, (void *)price_from_closure, &opts, &m), CHOOK_OK);
    struct caller c = { 0, 10 };
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, call_price, &c), 0);
    pthread_join(t, NULL);
    cr_assert_eq(c.result, 100, "other threads: the original, and the ring is left balanced");
    cr_assert_eq(price(1), 3 + 1000);
    cr_assert_eq(chook_mock_end(m), CHOOK_OK);
}

Test(mock, static_function_by_address)
{
    cr_assert_eq(sum_digits("123"), 6);
    {
        CHOOK_MOCK(digit_value, digit_one);
        cr_assert_eq(sum_digits("987"), 3);
        cr_assert_eq(chook_mock_calls(digit_value_mock), 3);
    }
    cr_assert_eq(sum_digits("987"), 24);
}

Test(mock, static_function_by_name)
{
    chook_mock *m = NULL;
    int st = chook_mock_begin_name("", "mock_named_helper", (void *)named_helper_fake, NULL, &m);
    cr_assert_eq(st, CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(call_named_helper(5), -10);
    cr_assert_eq(chook_mock_end(m), CHOOK_OK);
    cr_assert_eq(call_named_helper(5), 12);
    cr_assert_eq(chook_mock_begin_name("", "no_such_function_here", (void *)named_helper_fake,
                                       NULL, &m), CHOOK_ENOSYM);
}

/* ---- inside another library: zlib calling libc --------------------------------- */

static void *no_memory(size_t n)
{
    (void)n;
    errno = ENOMEM;
    return NULL;
}

static void *counting_malloc(size_t n)
{
    return CHOOK_MOCK_REAL(malloc)(n);
}

Test(mock, malloc_called_by_zlib_reaches_the_mock)
{
    static unsigned char src[4096], dst[8192];
    memset(src, 'a', sizeof src);
    uLongf dlen = sizeof dst;
    int failed, ok;
    uint64_t failed_calls, ok_calls;
    {
        CHOOK_MOCK_THREAD(malloc, no_memory);
        failed = compress(dst, &dlen, src, sizeof src);
        failed_calls = chook_mock_calls(malloc_mock);
    }
    {
        CHOOK_MOCK_THREAD(malloc, counting_malloc);
        dlen = sizeof dst;
        ok = compress(dst, &dlen, src, sizeof src);
        ok_calls = chook_mock_calls(malloc_mock);
    }
    cr_assert_eq(failed, Z_MEM_ERROR);
    cr_assert_geq(failed_calls, 1);
    cr_assert_eq(ok, Z_OK);
    cr_assert_geq(ok_calls, 1, "zlib's own calls of malloc reached the mock");
    uLongf back = sizeof src;
    static unsigned char again[4096];
    cr_assert_eq(uncompress(again, &back, dst, dlen), Z_OK);
    cr_assert_eq(memcmp(again, src, sizeof src), 0);
}

Test(mock, write_failing_inside_gzclose_with_errno)
{
    char path[] = "/tmp/chook_mock_gz_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    gzFile gz = gzdopen(fd, "wb");
    cr_assert_not_null(gz);
    cr_assert_gt(gzputs(gz, "hello, world\n"), 0);
    int closed, err;
    uint64_t calls;
    uintptr_t fd_arg = 0, len_arg = 0;
    {
        CHOOK_MOCK_RETURNS_THREAD(write, CHOOK_MOCK_FAIL_ALWAYS(-1, ENOSPC));
        errno = 0;
        closed = gzclose(gz);  /* flushes: zlib's write() fails */
        err = errno;
        calls = chook_mock_calls(write_mock);
        chook_mock_arg(write_mock, 0, 0, &fd_arg);
        chook_mock_arg(write_mock, 0, 2, &len_arg);
    }
    unlink(path);
    cr_assert_eq(closed, Z_ERRNO);
    cr_assert_eq(err, ENOSPC);
    cr_assert_geq(calls, 1);
    cr_assert_eq((int)fd_arg, fd);
    cr_assert_gt(len_arg, 0);
}

/* ---- sequences ---------------------------------------------------------------- */

Test(mock, sequence_then_the_real_function)
{
    {
        CHOOK_MOCK_RETURNS(price, CHOOK_MOCK_RETURN(1), CHOOK_MOCK_RETURN_N(2, 2), CHOOK_MOCK_FAIL(-1, EIO));
        cr_assert_eq(price(100), 1);
        cr_assert_eq(price(101), 2);
        cr_assert_eq(price(102), 2);
        errno = 0;
        cr_assert_eq(price(103), -1);
        cr_assert_eq(errno, EIO);
        cr_assert_eq(price(104), 1040, "steps used up: the real function runs");
        cr_assert_eq(chook_mock_calls(price_mock), 5);
        for (uint64_t i = 0; i < 5; i++) {
            uintptr_t v = 0;
            cr_assert_eq(chook_mock_arg(price_mock, i, 0, &v), CHOOK_OK);
            cr_assert_eq(v, 100 + i);
        }
        uintptr_t v;
        cr_assert_eq(chook_mock_arg(price_mock, 5, 0, &v), CHOOK_ENOTHOOKED);
        cr_assert_eq(chook_mock_arg(price_mock, 0, 6, &v), CHOOK_EINVAL);
    }
    cr_assert_eq(price(1), 10);
}

Test(mock, reset_starts_a_sequence_over)
{
    CHOOK_MOCK_RETURNS(price, CHOOK_MOCK_RETURN(1), CHOOK_MOCK_RETURN(2));
    cr_assert_eq(price(5), 1);
    cr_assert_eq(price(5), 2);
    cr_assert_eq(price(5), 50);
    cr_assert_eq(chook_mock_reset(price_mock), CHOOK_OK);
    cr_assert_eq(chook_mock_calls(price_mock), 0);
    uintptr_t v;
    cr_assert_eq(chook_mock_arg(price_mock, 0, 0, &v), CHOOK_ENOTHOOKED, "forgotten");
    cr_assert_eq(price(6), 1);
    cr_assert_eq(chook_mock_arg(price_mock, 0, 0, &v), CHOOK_OK);
    cr_assert_eq(v, 6);
}

Test(mock, sequence_of_pointers_forever)
{
    static char buf[16];
    CHOOK_MOCK_RETURNS(make_buffer, CHOOK_MOCK_RETURN(NULL), CHOOK_MOCK_RETURN_ALWAYS(buf));
    cr_assert_null(make_buffer(8));
    for (int i = 0; i < 100; i++) cr_assert_eq(make_buffer(8), buf);
}

Test(mock, capture_keeps_the_latest_calls)
{
    chook_mock_step step = CHOOK_MOCK_RETURN_ALWAYS(0);
    chook_mock_opts opts = { .capture = 4 };
    chook_mock *m;
    cr_assert_eq(chook_mock_returns((void *)price, &step, 1, &opts, &m), CHOOK_OK);
    for (long i = 0; i < 10; i++) price(i);
    uintptr_t v;
    cr_assert_eq(chook_mock_arg(m, 5, 0, &v), CHOOK_ENOTHOOKED, "older than the last 4");
    cr_assert_eq(chook_mock_arg(m, 6, 0, &v), CHOOK_OK);
    cr_assert_eq(v, 6);
    cr_assert_eq(chook_mock_arg(m, 9, 0, &v), CHOOK_OK);
    cr_assert_eq(v, 9);
    cr_assert_eq(chook_mock_arg(m, 10, 0, &v), CHOOK_ENOTHOOKED, "not made yet");
    cr_assert_eq(chook_mock_end(m), CHOOK_OK);
    cr_assert_eq(price(2), 20);
}

/* ---- threads ------------------------------------------------------------------ */

Test(mock, one_thread_mock_leaves_other_threads_alone)
{
    CHOOK_MOCK_THREAD(price, price_free);
    struct caller c = { 0, 1000 };
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, call_price, &c), 0);
    pthread_join(t, NULL);
    cr_assert_eq(c.result, 10 * 1000, "the other thread runs the real function");
    cr_assert_eq(price(1), 0, "this thread gets the mock");
    cr_assert_eq(chook_mock_calls(price_mock), 1);
}

Test(mock, every_thread_mock_counts_exactly)
{
    CHOOK_MOCK(price, price_free);
    enum { THREADS = 4, CALLS = 200000 };
    struct caller c[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        c[i] = (struct caller){ -1, CALLS };
        cr_assert_eq(pthread_create(&t[i], NULL, call_price, &c[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(c[i].result, 0);
    }
    cr_assert_eq(chook_mock_calls(price_mock), (uint64_t)THREADS * CALLS);
}

Test(mock, sequence_steps_are_shared_by_the_threads)
{
    /* 1000 answers of 1, then the real function (10): whichever thread calls. */
    chook_mock_step step = CHOOK_MOCK_RETURN_N(1, 1000);
    chook_mock *m;
    cr_assert_eq(chook_mock_returns((void *)price, &step, 1, NULL, &m), CHOOK_OK);
    enum { THREADS = 4, CALLS = 1000 };
    struct caller c[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        c[i] = (struct caller){ -1, CALLS };
        cr_assert_eq(pthread_create(&t[i], NULL, call_price, &c[i]), 0);
    }
    long total = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        total += c[i].result;
    }
    cr_assert_eq(chook_mock_end(m), CHOOK_OK);
    cr_assert_eq(total, 1000 * 1 + (THREADS * CALLS - 1000) * 10);
    cr_assert_eq(chook_mock_calls(m), THREADS * CALLS, "readable after the end");
    uintptr_t v;
    cr_assert_eq(chook_mock_arg(m, THREADS * CALLS - 1, 0, &v), CHOOK_OK);
    cr_assert_eq(v, 1);
}

static volatile int hammer_stop;

static void *hammer(void *arg)
{
    long *bad = arg;
    while (!hammer_stop) {
        long r = price(1);
        if (r != 10 && r != 0) ++*bad;
    }
    return NULL;
}

Test(mock, begin_and_end_while_another_thread_calls)
{
    long bad = 0;
    hammer_stop = 0;
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, hammer, &bad), 0);
    for (int i = 0; i < 100; i++) {
        chook_mock *m;
        cr_assert_eq(chook_mock_begin((void *)price, (void *)price_free, NULL, &m), CHOOK_OK,
                     "%s", chook_last_error());
        cr_assert_eq(chook_mock_end(m), CHOOK_OK, "%s", chook_last_error());
        chook_mock_step s = CHOOK_MOCK_RETURN_ALWAYS(0);
        cr_assert_eq(chook_mock_returns((void *)price, &s, 1, NULL, &m), CHOOK_OK);
        cr_assert_eq(chook_mock_end(m), CHOOK_OK, "%s", chook_last_error());
    }
    hammer_stop = 1;
    pthread_join(t, NULL);
    cr_assert_eq(bad, 0);
    cr_assert_eq(price(1), 10);
}

/* ---- variadic functions -------------------------------------------------------- */

static long vsum_twice(int n, ...)
{
    va_list ap;
    va_start(ap, n);
    long s = 0;
    for (int i = 0; i < n; i++) s += 2 * va_arg(ap, long);
    va_end(ap);
    return s;
}

Test(mock, variadic_replacement_receives_the_arguments)
{
    CHOOK_MOCK(vsum, vsum_twice);
    cr_assert_eq(vsum(3, 1L, 2L, 3L), 12);
    cr_assert_eq(vsum(8, 1L, 1L, 1L, 1L, 1L, 1L, 1L, 1L), 16, "stack arguments too");
}

static char printed[256];

static int printf_to_buffer(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(printed, sizeof printed, fmt, ap);
    va_end(ap);
    return n;
}

static char put[256];

static int puts_to_buffer(const char *s)
{
    return snprintf(put, sizeof put, "%s\n", s);
}

/* glibc's fortified printf, what printf(...) becomes with _FORTIFY_SOURCE. */
extern int __printf_chk(int flag, const char *fmt, ...);

static int printf_chk_to_buffer(int flag, const char *fmt, ...)
{
    (void)flag;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(printed, sizeof printed, fmt, ap);
    va_end(ap);
    return n;
}

Test(mock, printf_family_recipe)
{
    int (*volatile call_printf)(const char *, ...) = printf;
    int n, chk;
    char first[256];
    printed[0] = put[0] = '\0';
    {
        CHOOK_MOCK_THREAD(printf, printf_to_buffer);
        CHOOK_MOCK_THREAD(puts, puts_to_buffer);
        CHOOK_MOCK_THREAD(__printf_chk, printf_chk_to_buffer);
        /* Floating arguments: al (vector registers used) reaches the replacement. */
        n = call_printf("%d %s %.2f", 42, "x", 2.5);
        memcpy(first, printed, sizeof first);
        printed[0] = '\0';
        /* GCC compiles this call as puts("plain"): the puts mock answers. */
        printf("plain\n");
        chk = __printf_chk(1, "<%d>", 7);
    }
    cr_assert_eq(n, 9);
    cr_assert_str_eq(first, "42 x 2.50");
    cr_assert_str_eq(put, "plain\n", "printf(\"plain\\n\") reached puts");
    cr_assert_eq(chk, 3);
    cr_assert_str_eq(printed, "<7>");
}

/* ---- errors ------------------------------------------------------------------- */

static int not_code[64];

Test(mock, bad_arguments_leave_nothing_mocked)
{
    chook_mock *m = NULL;
    chook_mock_step s = CHOOK_MOCK_RETURN(1);
    cr_assert_eq(chook_mock_begin(NULL, (void *)price_free, NULL, &m), CHOOK_EINVAL);
    cr_assert_eq(chook_mock_begin((void *)price, NULL, NULL, &m), CHOOK_EINVAL);
    cr_assert_eq(chook_mock_begin((void *)price, (void *)price_free, NULL, NULL), CHOOK_EINVAL);
    chook_mock_opts bad = { .flags = 0x80 };
    cr_assert_eq(chook_mock_begin((void *)price, (void *)price_free, &bad, &m), CHOOK_EINVAL);
    cr_assert_eq(chook_mock_returns((void *)price, &s, 0, NULL, &m), CHOOK_EINVAL);
    cr_assert_eq(chook_mock_returns((void *)price, NULL, 1, NULL, &m), CHOOK_EINVAL);
    chook_mock_opts short_size = { .size = 4 };
    cr_assert_eq(chook_mock_begin((void *)price, (void *)price_free, &short_size, &m),
                 CHOOK_EINVAL);
    cr_assert(strstr(chook_last_error(), "chook_mock_opts.size is 4"), "%s", chook_last_error());
    chook_mock_opts sized = { .size = sizeof(chook_mock_opts) };
    cr_assert_eq(chook_mock_begin((void *)price, (void *)price_free, &sized, &m), CHOOK_OK);
    cr_assert_eq(chook_mock_end(m), CHOOK_OK);
    chook_mock_opts big = { .capture = 1u << 20 };
    cr_assert_eq(chook_mock_returns((void *)price, &s, 1, &big, &m), CHOOK_EINVAL);
    cr_assert_eq(chook_mock_begin((void *)not_code, (void *)price_free, NULL, &m),
                 CHOOK_ENOTEXEC);
    cr_assert_neq(chook_last_error()[0], '\0');
    cr_assert_eq(chook_mock_returns((void *)not_code, &s, 1, NULL, &m), CHOOK_ENOTEXEC);
    cr_assert_eq(chook_mock_end(NULL), CHOOK_EINVAL);
    cr_assert_eq(chook_mock_calls(NULL), 0);
    cr_assert_null(chook_mock_real(NULL));
    cr_assert_eq(chook_mock_real((void *)price), (void *)price, "not mocked: itself");
    cr_assert_eq(price(1), 10);
}

Test(mock, not_inside_a_transaction)
{
    chook_mock *m;
    chook_mock_step s = CHOOK_MOCK_RETURN(1);
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    cr_assert_eq(chook_mock_begin((void *)price, (void *)price_free, NULL, &m), CHOOK_ETXN);
    cr_assert_eq(chook_mock_returns((void *)price, &s, 1, NULL, &m), CHOOK_ETXN);
    cr_assert_eq(chook_transaction_abort(), CHOOK_OK);
    cr_assert_eq(price(1), 10);
    cr_assert_eq(chook_mock_begin((void *)price, (void *)price_free, NULL, &m), CHOOK_OK);
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    cr_assert_eq(chook_mock_end(m), CHOOK_ETXN);
    cr_assert_eq(chook_transaction_abort(), CHOOK_OK);
    cr_assert_eq(price(1), 0, "still mocked");
    cr_assert_eq(chook_mock_end(m), CHOOK_OK);
    cr_assert_eq(price(1), 10);
}

Test(mock, ending_twice_is_refused)
{
    chook_mock *m;
    cr_assert_eq(chook_mock_begin((void *)price, (void *)price_free, NULL, &m), CHOOK_OK);
    cr_assert_null(chook_mock_original(NULL));
    cr_assert_not_null(chook_mock_original(m));
    uintptr_t v;
    cr_assert_eq(chook_mock_arg(m, 0, 0, &v), CHOOK_EINVAL, "replacement mocks record nothing");
    cr_assert_eq(chook_mock_end(m), CHOOK_OK);
    cr_assert_eq(chook_mock_end(m), CHOOK_EINVAL);
    cr_assert_eq(price(1), 10);
}

Test(mock, garbage_handles_are_refused_before_use)
{
    /* Unmapped, inside a mapping that is not a mock, and a pointer to data. */
    static long not_a_mock[32];
    chook_mock *garbage[] = { (chook_mock *)(uintptr_t)0x10, (chook_mock *)(uintptr_t)0xdead0000,
                              (chook_mock *)(void *)not_a_mock, (chook_mock *)(void *)&price };
    uintptr_t v;
    for (size_t i = 0; i < sizeof garbage / sizeof *garbage; i++) {
        cr_expect_eq(chook_mock_end(garbage[i]), CHOOK_EINVAL);
        cr_expect(strstr(chook_last_error(), "not a mock handle"), "%s", chook_last_error());
        cr_expect_eq(chook_mock_reset(garbage[i]), CHOOK_EINVAL);
        cr_expect_eq(chook_mock_arg(garbage[i], 0, 0, &v), CHOOK_EINVAL);
    }
    cr_expect_eq(price(1), 10);
}
