#ifndef CHOOK_TESTLIB_H
#define CHOOK_TESTLIB_H
#include <stddef.h>
int testlib_add(int a, int b);
long testlib_sum(const int *v, int n);
int testlib_add_twice(int a, int b);
size_t testlib_length(const char *s);
#endif
