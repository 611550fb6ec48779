/*
 * chook's real-time signal: choosing it, installing chook's handler for the
 * length of a stop, giving the application its disposition back exactly, and
 * passing on instances of the signal that are not chook's.
 *
 * The kernel's sigaction is used directly (rt_sigaction): libc's sigaction may be
 * hooked by the user, and its struct differs from the kernel's. The dispositions
 * saved here are the kernel's own records, so restoring one gives back the
 * application's handler, flags, mask and restorer bit for bit.
 *
 * All state changes happen with the commit lock held (or in a fork child, which
 * has one thread); the signal handler only reads the saved dispositions.
 */
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <ucontext.h>

#include "internal.h"
#include "stop_impl.h"


/* Threads that may still receive a signal of a failed stop. Each failed stop adds
 * at most the threads it gave up on; when the list is full the signal's handler
 * simply stays installed for the life of the process. */
#define STALE_MAX 64

static struct {
    struct chook__ksigaction app[CHOOK__NSIG + 1]; /* the application's disposition, by signal */
    uint64_t installed;                     /* signals that have chook's handler now */
    uint64_t keep;                          /* signals whose handler must stay (overflow) */
    chook__sig_handler handler;             /* chook's handler, once installed */
    int picked;                             /* the signal chosen automatically */
    struct { pid_t tid; int sig; } stale[STALE_MAX];
    size_t n_stale;
} sigstate;


/* The highest signal that libc keeps for itself and never lets a thread block
 * through its own functions (glibc: 33, its set-id broadcast signal; musl: 34,
 * its synchronous-call signal), or 0. sigfillset() leaves exactly those out.
 * Runs before any thread is parked. */
static int libc_unblockable_signal(void)
{
    sigset_t all;
    sigfillset(&all);
    for (int s = SIGRTMIN - 1; s > 31; s--)
        if (!sigismember(&all, s)) return s;
    return 0;
}

int chook__stopsig_choose(int *sig)
{
    int configured = chook__config_signal();
    if (configured) {
        *sig = configured;
        return CHOOK_OK;
    }
    if (sigstate.picked) {
        *sig = sigstate.picked;
        return CHOOK_OK;
    }
    /* Many programs block every signal in their worker threads (sigfillset and
     * pthread_sigmask, with one thread in sigwait); test runners and I/O
     * libraries do the same in their helper threads. Such a thread can only be
     * parked with a signal that libc never lets it block. libc's own handler for
     * it (if any) keeps working: instances chook did not send are passed on to it,
     * and it ignores chook's (they are SI_QUEUE, libc's are SI_TKILL). */
    int s = libc_unblockable_signal();
    if (s) {
        sigstate.picked = s;
        *sig = s;
        return CHOOK_OK;
    }
    /* Otherwise the highest free real-time signal: an application that picks
     * signals for itself usually counts up from SIGRTMIN. */
    for (s = SIGRTMAX; s >= SIGRTMIN; s--) {
        struct chook__ksigaction cur;
        if (chook__sys_sigaction(s, NULL, &cur) == 0 && cur.handler == (void *)SIG_DFL) {
            sigstate.picked = s;
            *sig = s;
            return CHOOK_OK;
        }
    }
    return chook__fail(CHOOK_ENOSYS, "no real-time signal is free (every one of %d..%d "
                       "has a handler or is ignored); choose one with chook_configure()",
                       (int)SIGRTMIN, (int)SIGRTMAX);
}

int chook__stopsig_install(int sig, chook__sig_handler handler)
{
    struct chook__ksigaction cur, ours = {
        .handler = (void *)handler,
        /* SA_RESTART: most system calls the parked thread was in carry on.
         * SA_ONSTACK: a thread with an alternate stack parks there. */
        .flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK | CHOOK_SA_RESTORER,
        .restorer = chook_arch_sigreturn,
        /* Everything blocked while parked: no application handler may run on a
         * parked thread while code is being rewritten. */
        .mask = ~(uint64_t)0,
    };
    long rc = chook__sys_sigaction(sig, NULL, &cur);
    if (rc < 0)
        return chook__fail(CHOOK_ENOSYS, "cannot read the disposition of signal %d "
                           "(errno %ld)", sig, -rc);
    sigstate.handler = handler;
    if (cur.handler == (void *)handler) {
        /* Still installed after a failed stop: sigstate.app is the application's. */
        sigstate.installed |= CHOOK__SIGBIT(sig);
        return CHOOK_OK;
    }
    /* Saved before ours goes in, so a foreign signal arriving at once is passed
     * to the right place. */
    sigstate.app[sig] = cur;
    rc = chook__sys_sigaction(sig, &ours, &cur);
    if (rc < 0)
        return chook__fail(CHOOK_ENOSYS, "cannot install chook's handler for signal %d "
                           "(errno %ld)", sig, -rc);
    sigstate.app[sig] = cur; /* the application may have changed it meanwhile */
    sigstate.installed |= CHOOK__SIGBIT(sig);
    return CHOOK_OK;
}

static int has_stale(int sig)
{
    if (sigstate.keep & CHOOK__SIGBIT(sig)) return 1;
    for (size_t i = 0; i < sigstate.n_stale; i++)
        if (sigstate.stale[i].sig == sig) return 1;
    return 0;
}

void chook__stopsig_release(int sig)
{
    if (sig <= 0 || sig > CHOOK__NSIG || !(sigstate.installed & CHOOK__SIGBIT(sig)) ||
        has_stale(sig))
        return;
    struct chook__ksigaction cur;
    /* If the application replaced chook's handler meanwhile, its choice stands. */
    if (chook__sys_sigaction(sig, NULL, &cur) == 0 && cur.handler == (void *)sigstate.handler)
        chook__sys_sigaction(sig, &sigstate.app[sig], NULL);
    sigstate.installed &= ~CHOOK__SIGBIT(sig);
}

void chook__stopsig_add_stale(pid_t tid, int sig)
{
    for (size_t i = 0; i < sigstate.n_stale; i++)
        if (sigstate.stale[i].tid == tid && sigstate.stale[i].sig == sig) return;
    if (sigstate.n_stale == STALE_MAX) {
        sigstate.keep |= CHOOK__SIGBIT(sig);
        return;
    }
    sigstate.stale[sigstate.n_stale].tid = tid;
    sigstate.stale[sigstate.n_stale].sig = sig;
    sigstate.n_stale++;
}

int chook__stopsig_is_stale(pid_t tid, int sig)
{
    for (size_t i = 0; i < sigstate.n_stale; i++)
        if (sigstate.stale[i].tid == tid && sigstate.stale[i].sig == sig) return 1;
    return 0;
}

void chook__stopsig_sweep(void)
{
    if (!sigstate.n_stale) return;
    size_t kept = 0;
    for (size_t i = 0; i < sigstate.n_stale; i++) {
        chook__thread_status st;
        int sig = sigstate.stale[i].sig;
        /* Kept when in doubt: /proc unreadable, or still pending. */
        int pending = chook__thread_status_read(sigstate.stale[i].tid, &st) < 0 ||
                      (st.exists && st.state != 'Z' && st.state != 'X' &&
                       (st.pending & CHOOK__SIGBIT(sig)));
        if (pending) sigstate.stale[kept++] = sigstate.stale[i];
    }
    sigstate.n_stale = kept;
    for (int sig = 1; sig <= CHOOK__NSIG; sig++)
        if (sigstate.installed & CHOOK__SIGBIT(sig)) chook__stopsig_release(sig);
}

void chook__stopsig_forward(int sig, siginfo_t *info, void *ucontext)
{
    if (sig <= 0 || sig > CHOOK__NSIG) return;
    const struct chook__ksigaction *a = &sigstate.app[sig];
    /* SIG_IGN: nothing to do. SIG_DFL would end the process for a real-time
     * signal; while chook's handler stands in, such a stray signal is dropped
     * instead (documented). */
    if (a->handler == (void *)SIG_DFL || a->handler == (void *)SIG_IGN) return;
    /* The mask the kernel would have set for the application's handler: the
     * interrupted code's, plus its sa_mask, plus the signal unless SA_NODEFER. */
    uint64_t mask = 0;
    chook__memcpy(&mask, &((ucontext_t *)ucontext)->uc_sigmask, sizeof mask);
    mask |= a->mask;
    if (!(a->flags & SA_NODEFER)) mask |= CHOOK__SIGBIT(sig);
    chook_arch_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&mask, 0,
                       sizeof mask, 0, 0);
    if (a->flags & SA_SIGINFO)
        ((void (*)(int, siginfo_t *, void *))a->handler)(sig, info, ucontext);
    else
        ((void (*)(int))a->handler)(sig);
    /* Returning restores the interrupted code's mask (rt_sigreturn). */
}

void chook__stopsig_after_fork(void)
{
    sigstate.n_stale = 0;
    sigstate.keep = 0;
    for (int sig = 1; sig <= CHOOK__NSIG; sig++)
        if (sigstate.installed & CHOOK__SIGBIT(sig)) chook__stopsig_release(sig);
}
