/* The bodies shared by the benchmark's functions with and without a point, so
 * the only difference between them is the point. */
#ifndef CHOOK_BENCH_POINT_BODIES_H
#define CHOOK_BENCH_POINT_BODIES_H

#include <stddef.h>
#include <stdint.h>

/* Same alignment for every variant: code placement alone can move a tight loop
 * by a few percent. */
#define BENCH_POINT_FN __attribute__((noinline, aligned(64)))

/* A realistic small function: FNV-1a over a short key. */
static inline __attribute__((always_inline)) uint64_t bp_hash_body(const unsigned char *p,
                                                                   size_t n)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211u;
    return h;
}

/* The worst case: a function that does almost nothing. */
static inline __attribute__((always_inline)) long bp_add_body(long a, long b)
{
    __asm__ volatile("");
    return a + b;
}

uint64_t bp_hash_jump(const unsigned char *p, size_t n);
long bp_add_jump(long a, long b);

#endif
