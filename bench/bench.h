/*
 * Tiny helpers shared by the benchmarks: a monotonic clock, a compiler barrier,
 * and one output format. Each benchmark prints a table of figures (name, value,
 * unit); with --json it prints one JSON object mapping each name to its value.
 * Speed is reported as ratios measured in one run (hooked vs direct), never as a
 * pass/fail on absolute times: machines are shared and noisy.
 */
#ifndef CHOOK_BENCH_H
#define CHOOK_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int bench_json_mode;
static int bench_json_count;

static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Keeps the compiler from optimising a value or a loop away. */
#define BENCH_KEEP(x) __asm__ volatile("" : : "r"(x) : "memory")

/* Call first with main's arguments; prints the table header (or "{"). */
static inline void bench_begin(int argc, char **argv, const char *title)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--json") == 0) bench_json_mode = 1;
    if (bench_json_mode) {
        printf("{");
    } else {
        printf("%s\n", title);
        printf("  %-52s %14s  %s\n", "figure", "value", "unit");
    }
}

/* One figure: a name (stable, snake_case), a value and its unit. */
static inline void bench_report(const char *name, double value, const char *unit)
{
    if (bench_json_mode)
        printf("%s\"%s\": %.4f", bench_json_count++ ? ", " : "", name, value);
    else
        printf("  %-52s %14.3f  %s\n", name, value, unit);
    fflush(stdout);
}

/* Call last; closes the JSON object. */
static inline void bench_end(void)
{
    if (bench_json_mode) printf("}\n");
}

#endif /* CHOOK_BENCH_H */
