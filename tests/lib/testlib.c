/* A small shared library for tests that hook functions living in another module. */
#include <string.h>

__attribute__((noinline)) int testlib_add(int a, int b)
{
    __asm__ volatile("");
    return a + b;
}

__attribute__((noinline)) long testlib_sum(const int *v, int n)
{
    long s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return s;
}

/* Calls testlib_add from inside the library: hooking it must catch these calls too. */
int testlib_add_twice(int a, int b)
{
    return testlib_add(testlib_add(a, b), b);
}

size_t testlib_length(const char *s)
{
    return strlen(s);
}
