/*
 * The program chook-trace's tests trace: functions called a known number of
 * times, in a known nesting, in the modes the tests ask for.
 *
 *   trace_target MODE [N]
 *     calls     tp_outer N times (each: tp_middle twice, each tp_leaf 3 times,
 *               and tp_add once), tp_clone (an asm-named clone) N times
 *     threads   two threads, each tp_leaf N times; main none
 *     fork      parent tp_leaf 2 times, child tp_leaf 3 times
 *     sigint    tp_leaf N times, then raises SIGINT
 *     usr1      tp_leaf N times, SIGUSR1, tp_leaf N times more
 *     exit      tp_leaf N times, then exit(3)
 *     _exit     tp_leaf N times, then _exit(4)
 *     spin      tp_leaf in a loop for N x 10 million calls (benchmark)
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))

static volatile long sink;

NOINLINE static long tp_leaf(long x)
{
    long r = x * 3 + 1;
    __asm__ volatile("" : "+r"(r));
    sink += r;
    return r;
}

NOINLINE static int tp_add(int a, int b)
{
    int r = a + b;
    __asm__ volatile("" : "+r"(r));
    return r;
}

NOINLINE static long tp_middle(long x)
{
    long r = 0;
    for (int i = 0; i < 3; i++) r += tp_leaf(x + i);
    return r;
}

NOINLINE static long tp_outer(long x)
{
    long r = tp_middle(x) + tp_middle(x + 1);
    return r + tp_add((int)x, 3);
}

/* Named as GCC names a clone (only the clone exists). */
NOINLINE long tp_clone_impl(long x) __asm__("tp_clone.constprop.0");
NOINLINE long tp_clone_impl(long x)
{
    long r = x + 7;
    __asm__ volatile("" : "+r"(r));
    return r;
}

static long n_calls = 1;

static void *thread_main(void *arg)
{
    (void)arg;
    for (long i = 0; i < n_calls; i++) tp_leaf(i);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "calls";
    n_calls = argc > 2 ? atol(argv[2]) : 1;
    if (!strcmp(mode, "calls")) {
        for (long i = 0; i < n_calls; i++) {
            tp_outer(i);
            tp_clone_impl(i);
        }
    } else if (!strcmp(mode, "threads")) {
        pthread_t t[2];
        for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, thread_main, NULL);
        for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    } else if (!strcmp(mode, "fork")) {
        pid_t pid = fork();
        if (pid == 0) {
            for (int i = 0; i < 3; i++) tp_leaf(i);
            exit(0);
        }
        for (int i = 0; i < 2; i++) tp_leaf(i);
        int ws;
        waitpid(pid, &ws, 0);
    } else if (!strcmp(mode, "sigint")) {
        for (long i = 0; i < n_calls; i++) tp_leaf(i);
        raise(SIGINT);
        return 9; /* not reached: SIGINT ends the program */
    } else if (!strcmp(mode, "usr1")) {
        for (long i = 0; i < n_calls; i++) tp_leaf(i);
        raise(SIGUSR1);
        for (long i = 0; i < n_calls; i++) tp_leaf(i);
    } else if (!strcmp(mode, "exit")) {
        for (long i = 0; i < n_calls; i++) tp_leaf(i);
        exit(3);
    } else if (!strcmp(mode, "_exit")) {
        for (long i = 0; i < n_calls; i++) tp_leaf(i);
        _exit(4);
    } else if (!strcmp(mode, "spin")) {
        for (long i = 0; i < n_calls * 10000000; i++) tp_leaf(i);
    } else {
        fprintf(stderr, "trace_target: unknown mode %s\n", mode);
        return 64;
    }
    printf("trace_target %s done\n", mode);
    return 0;
}
