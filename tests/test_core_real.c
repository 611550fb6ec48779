/*
 * Hooks on real code: libc functions (getpid, puts, strlen through its resolved
 * implementation), a function of another shared library (called from inside that
 * library too), and 10,000 install/uninstall cycles with bounded memory.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "chook.h"
#include "testlib.h"

static pid_t (*orig_getpid)(void);
static pid_t fake_getpid(void) { return 4242; }

Test(libc, getpid)
{
    pid_t (*volatile gp)(void) = getpid;
    pid_t real = gp();
    cr_assert_eq(chook_install((void *)getpid, (void *)fake_getpid, (void **)&orig_getpid),
                 CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(gp(), 4242);
    cr_assert_eq(orig_getpid(), real);
    cr_assert_eq(chook_uninstall((void *)getpid), CHOOK_OK);
    cr_assert_eq(gp(), real);
}

static int (*orig_puts)(const char *);
static int puts_calls;
static char puts_last[64];
static int my_puts(const char *s)
{
    puts_calls++;
    snprintf(puts_last, sizeof puts_last, "%s", s);
    return orig_puts(s);
}

Test(libc, puts_prints_through_the_original)
{
    int (*volatile p)(const char *) = puts;
    cr_assert_eq(chook_install((void *)puts, (void *)my_puts, (void **)&orig_puts), CHOOK_OK,
                 "%s", chook_last_error());
    cr_assert_geq(p("chook test line"), 0);
    fflush(stdout);
    cr_assert_eq(puts_calls, 1);
    cr_assert_str_eq(puts_last, "chook test line");
    cr_assert_eq(chook_uninstall((void *)puts), CHOOK_OK);
    p("after uninstall");
    cr_assert_eq(puts_calls, 1);
}

static size_t (*orig_strlen)(const char *);
static size_t long_strlen(const char *s) { return orig_strlen(s) * 10; }

Test(libc, strlen_through_its_resolved_implementation)
{
    /* dlsym resolves the IFUNC: this is the implementation calls really reach. */
    void *impl = dlsym(RTLD_DEFAULT, "strlen");
    cr_assert_not_null(impl);
    size_t (*volatile sl)(const char *) = (size_t (*)(const char *))impl;
    cr_assert_eq(sl("abcd"), 4);
    cr_assert_eq(chook_install(impl, (void *)long_strlen, (void **)&orig_strlen), CHOOK_OK,
                 "%s", chook_last_error());
    cr_assert_eq(sl("abcd"), 40);
    cr_assert_eq(orig_strlen("abcdef"), 6);
    cr_assert_eq(chook_uninstall(impl), CHOOK_OK);
    cr_assert_eq(sl("abcd"), 4);
}

static int (*orig_add)(int, int);
static int add_calls;
static int counted_add(int a, int b) { add_calls++; return orig_add(a, b); }

Test(shared_library, calls_from_inside_the_library_are_redirected_too)
{
    cr_assert_eq(testlib_add_twice(1, 2), 5);
    cr_assert_eq(chook_install((void *)testlib_add, (void *)counted_add, (void **)&orig_add),
                 CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(testlib_add(2, 3), 5);
    cr_assert_eq(testlib_add_twice(1, 2), 5);
    cr_assert_eq(add_calls, 3);
    cr_assert_eq(chook_uninstall((void *)testlib_add), CHOOK_OK);
    cr_assert_eq(testlib_add_twice(1, 2), 5);
    cr_assert_eq(add_calls, 3);
}

static long read_status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0) v = atol(line + n + 1);
    if (f) fclose(f);
    return v;
}

static int count_mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    int n = 0, c;
    while (f && (c = fgetc(f)) != EOF) n += c == '\n';
    if (f) fclose(f);
    return n;
}

static long (*orig_sum)(const int *, int);
static long sum_plus(const int *v, int n) { return orig_sum(v, n) + 1; }

Test(memory, ten_thousand_install_uninstall_cycles_stay_bounded, .timeout = 120)
{
    int v[3] = { 1, 2, 3 };
    chook_hook *h;
    for (int i = 0; i < 100; i++) { /* warm up: first regions and records */
        cr_assert_eq(chook_install_ex((void *)testlib_sum, (void *)sum_plus, (void **)&orig_sum,
                                      &h), CHOOK_OK);
        cr_assert_eq(chook_remove(h), CHOOK_OK);
    }
    long rss0 = read_status_kb("VmRSS:");
    int maps0 = count_mappings();
    for (int i = 0; i < 10000; i++) {
        cr_assert_eq(chook_install_ex((void *)testlib_sum, (void *)sum_plus, (void **)&orig_sum,
                                      &h), CHOOK_OK, "cycle %d: %s", i, chook_last_error());
        if (i % 1000 == 0) cr_assert_eq(testlib_sum(v, 3), 7);
        cr_assert_eq(chook_remove(h), CHOOK_OK);
    }
    cr_assert_eq(testlib_sum(v, 3), 6);
    cr_assert_eq(count_mappings(), maps0, "new mappings after 10,000 cycles");
    long growth = read_status_kb("VmRSS:") - rss0;
    cr_assert_lt(growth, 512, "RSS grew by %ld KiB over 10,000 cycles", growth);
}
