/*
 * Pieces shared by the thread-stopping code: the thread list of /proc and the
 * management of chook's signal. Everything here runs on raw system calls and
 * never calls libc, except where a comment says it runs before any thread is
 * parked.
 */
#ifndef CHOOK_STOP_IMPL_H
#define CHOOK_STOP_IMPL_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "stop.h"

/* The highest signal number the kernel's 64-bit signal sets describe. */
#define CHOOK__NSIG 64
#define CHOOK__SIGBIT(sig) ((uint64_t)1 << ((sig) - 1))

/* ---- /proc (stop_proc.c) ------------------------------------------------------ */

/* Calls fn(tid, ctx) for every thread listed in /proc/self/task; stops at the
 * first non-zero return of fn and returns it. Returns 0 when all were visited, or
 * -errno when the directory cannot be read. */
long chook__tasks_each(int (*fn)(pid_t tid, void *ctx), void *ctx);

/* What /proc/self/task/<tid>/status says about one thread. */
typedef struct chook__thread_status {
    int exists;        /* 0 when the thread has gone */
    char state;        /* 'R', 'S', 'D', 'T', 't', 'Z', 'X', ... */
    uint64_t pending;  /* SigPnd: signals pending for this thread, bit sig-1 */
    uint64_t blocked;  /* SigBlk: signals it blocks */
} chook__thread_status;

/* Reads the status of thread tid. Returns 0, or -errno when /proc cannot be read
 * for another reason than the thread being gone (then st->exists is 1 and the
 * other fields are 0). */
long chook__thread_status_read(pid_t tid, chook__thread_status *st);

/* 1 when the thread can still run a signal handler: it exists and is neither a
 * zombie nor dead (an exited main thread stays listed as a zombie). */
int chook__thread_alive(pid_t tid);

/* ---- chook's signal (stop_signal.c) -------------------------------------------- */

typedef void (*chook__sig_handler)(int sig, siginfo_t *info, void *ucontext);

/* Chooses the signal for the next stop: the configured one, else the one picked
 * before, else the highest real-time signal whose disposition is SIG_DFL. Runs
 * before any thread is parked (may call chook__fail). */
int chook__stopsig_choose(int *sig);

/* Installs handler on sig, first saving the application's disposition (unless
 * chook's handler is still installed from an earlier stop). Before parking. */
int chook__stopsig_install(int sig, chook__sig_handler handler);

/* Gives the application its disposition of sig back, unless a signal of a failed
 * stop may still be pending. No libc. */
void chook__stopsig_release(int sig);

/* Notes that thread tid may still receive a stale instance of sig. No libc. */
void chook__stopsig_add_stale(pid_t tid, int sig);

/* 1 when thread tid may still have a stale instance of sig pending. No libc. */
int chook__stopsig_is_stale(pid_t tid, int sig);

/* Forgets stale signals that have been delivered or whose thread has gone, and
 * gives back every disposition no longer needed. No libc. */
void chook__stopsig_sweep(void);

/* Passes a signal that is not one of chook's to the application's saved
 * disposition, as the kernel would have. Runs in the signal handler. */
void chook__stopsig_forward(int sig, siginfo_t *info, void *ucontext);

/* In a fork child: no signal is pending there, so every disposition goes back to
 * the application now. */
void chook__stopsig_after_fork(void);

#endif /* CHOOK_STOP_IMPL_H */
