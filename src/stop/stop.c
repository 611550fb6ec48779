/*
 * Stopping every other thread of the process in its signal handler, for the
 * length of a commit (see stop.h for the protocol).
 *
 * Each thread is sent chook's real-time signal with rt_tgsigqueueinfo. The signal
 * carries a cookie (magic, record index, stop generation) so the handler can tell
 * a signal of the current stop from a late one of a stop that gave up (ignored)
 * and from one the application or someone else sent (passed on to the
 * application's handler).
 *
 * Every thread has a record whose state word holds the stop generation and a
 * phase; the stopper and the handler move it with compare-and-swap:
 *
 *   SIGNALLED --handler--> CLAIMED --handler--> PARKED --handler--> LEFT
 *       |                                         ^ waits for release_word == gen
 *       +--stopper, timeout--> ABANDONED          (late signal: CAS fails, ignored)
 *       +--stopper, thread exited--> GONE
 *       +--stopper, blocks the signal asleep in the kernel--> UNPARKED
 *
 * An UNPARKED thread blocks chook's signal while it sleeps in the kernel, or
 * sleeps uninterruptibly (state D) and cannot take the signal yet: it is
 * listed for the core (stop_unparked.h), which writes breakpoint-first and
 * checks that it did not run meanwhile. Its signal stays pending, like an
 * ABANDONED thread's, and is ignored whenever it is finally taken.
 *
 * Records live in chunks that are allocated before any thread is parked and never
 * freed or moved, so a handler that runs late (its thread blocked the signal for
 * an hour) still reads valid memory and finds its generation stale.
 *
 * The handler touches no libc and no errno (raw system calls report errors in
 * their return value), so the parked thread's errno is exactly as it was.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <linux/membarrier.h>

#include "internal.h"
#include "lockrank.h"
#include "stop_impl.h"
#include "stop_unparked.h"

#define REC_CHUNK 64
#define REC_CHUNKS 1024
#define MAX_THREADS (REC_CHUNK * REC_CHUNKS) /* fits the 16-bit index of a cookie */
#define MAX_ROUNDS 64      /* enumerations per stop while threads keep appearing */
#define MAX_ATTEMPTS 8     /* restarts after growing the records */
#define CHECK_FIRST_NS 2000000ull   /* first look for exited threads after 2 ms */
#define CHECK_EVERY_NS 10000000ull  /* then every 10 ms */

enum phase {
    PH_IDLE, PH_SIGNALLED, PH_CLAIMED, PH_PARKED, PH_LEFT, PH_ABANDONED, PH_GONE,
    PH_UNPARKED
};
#define GEN_BITS 29
#define GEN_MASK ((1u << GEN_BITS) - 1)
#define STATE(gen, ph) (((uint32_t)(gen) << 3) | (uint32_t)(ph))
#define PHASE(st) ((st) & 7u)
#define COOKIE_MAGIC 0xc40cull

struct rec {
    _Atomic uint32_t state;
    _Atomic pid_t tid;
    void *_Atomic ucontext;
} __attribute__((aligned(64))); /* one cache line each: threads park side by side */

struct chunk {
    struct rec recs[REC_CHUNK];
    uint32_t parked[REC_CHUNK]; /* the world's list: position -> record index */
};

static struct chunk *_Atomic chunks[REC_CHUNKS];
static size_t nchunks;

struct chook__world {
    uint32_t gen;
    int sig;          /* 0: no other thread, nothing installed */
    pid_t self;
    size_t used;      /* records handed out in this stop */
    size_t parked;    /* entries of the parked list */
};

static chook__world world;
static uint32_t gen_counter;
/* Futex words: the handler waits on release_word; the stopper on the others. */
static _Atomic uint32_t release_word;
static _Atomic uint32_t arrivals;
static _Atomic uint32_t departures;
static _Atomic pid_t stop_pid;
static int membarrier_state; /* 0 not tried, 1 registered, -1 unavailable */
static _Atomic int last_signal;
static _Atomic int stopped;

static struct rec *rec_at(size_t i)
{
    struct chunk *c = atomic_load_explicit(&chunks[i / REC_CHUNK], memory_order_acquire);
    return c ? &c->recs[i % REC_CHUNK] : NULL;
}

static uint32_t *parked_at(size_t i)
{
    return &atomic_load_explicit(&chunks[i / REC_CHUNK], memory_order_relaxed)
                ->parked[i % REC_CHUNK];
}

/* ---- the handler ------------------------------------------------------------- */

static void park(uint64_t cookie, void *uc)
{
    uint32_t idx = (uint32_t)(cookie >> 32) & 0xffffu;
    uint32_t gen = (uint32_t)cookie & GEN_MASK;
    struct rec *r = rec_at(idx);
    if (!r) return;
    uint32_t expect = STATE(gen, PH_SIGNALLED);
    /* The tid is written before the state is published, so once the state is
     * seen for this generation the tid belongs to it. The check keeps a forged
     * cookie from parking the wrong thread under another's record. */
    if (atomic_load_explicit(&r->state, memory_order_acquire) != expect ||
        atomic_load_explicit(&r->tid, memory_order_relaxed) != (pid_t)chook__sys_gettid())
        return;
    if (!atomic_compare_exchange_strong(&r->state, &expect, STATE(gen, PH_CLAIMED)))
        return; /* the stopper gave up on us: a stale signal */
    atomic_store_explicit(&r->ucontext, uc, memory_order_relaxed);
    atomic_store_explicit(&r->state, STATE(gen, PH_PARKED), memory_order_release);
    atomic_fetch_add(&arrivals, 1);
    chook__sys_futex_wake((int *)&arrivals, 1);

    for (;;) {
        uint32_t v = atomic_load_explicit(&release_word, memory_order_acquire);
        if (v == gen) break;
        chook__sys_futex_wait((int *)&release_word, (int)v, NULL);
    }
    /* The code may have changed under this core: see it before running on. With
     * membarrier SYNC_CORE the kernel serialises this core before it returns to
     * user space; otherwise do it here (cpuid is a VM exit: keep it rare). */
    if (membarrier_state != 1) chook_arch_serialize();
    /* Last access to the record: from here on it may be handed to another stop. */
    atomic_store_explicit(&r->state, STATE(gen, PH_LEFT), memory_order_release);
    atomic_fetch_add(&departures, 1);
    chook__sys_futex_wake((int *)&departures, 1);
}

static void stop_handler(int sig, siginfo_t *info, void *uc)
{
    uint64_t cookie = (uint64_t)(uintptr_t)info->si_value.sival_ptr;
    if (info->si_code == SI_QUEUE &&
        info->si_pid == atomic_load_explicit(&stop_pid, memory_order_relaxed) &&
        (cookie >> 48) == COOKIE_MAGIC) {
        park(cookie, uc);
        return;
    }
    chook__stopsig_forward(sig, info, uc);
}

/* ---- records ------------------------------------------------------------------- */

/* Makes room for n records. Only before any thread is parked: chook__alloc takes
 * a lock a parked thread might hold. */
static int reserve(size_t n)
{
    if (n > MAX_THREADS)
        return chook__fail(CHOOK_ETHREADS, "too many threads to stop (%zu; at most %d)",
                           n, MAX_THREADS);
    while (nchunks * REC_CHUNK < n) {
        struct chunk *c = chook__alloc(sizeof *c);
        if (!c)
            return chook__fail(CHOOK_ENOMEM, "out of memory for the records of %zu "
                               "threads", n);
        atomic_store_explicit(&chunks[nchunks], c, memory_order_release);
        nchunks++;
    }
    return CHOOK_OK;
}

/* ---- stopping ------------------------------------------------------------------ */

struct round {
    chook__world *w;
    pid_t pid;
    long uid;
    size_t added;
    int overflow;   /* out of records: grow and start again */
    long error;     /* a signal could not be sent */
    pid_t error_tid;
};

/* Accepts a thread that blocks the signal while asleep in the kernel as
 * UNPARKED (see the top of the file). Returns 1 when it was. No libc. */
static int accept_unparked(chook__world *w, struct rec *r, const chook__thread_status *st,
                           int late)
{
    uint32_t expect = STATE(w->gen, PH_SIGNALLED);
    pid_t tid = atomic_load(&r->tid);
    /* A thread in an uninterruptible sleep (state D: waiting for a vfork child,
     * for a page from a slow disk) cannot take the signal either until it wakes;
     * such sleeps are often short, so only one that lasts (`late`) is taken. */
    int blocks = (st->blocked & CHOOK__SIGBIT(w->sig)) != 0;
    if (!((late && st->state == 'D') || (blocks && (st->state == 'S' || st->state == 'D'))) ||
        !chook__unparked_accept(tid))
        return 0;
    /* If the thread unblocked and claimed the signal just now, the CAS fails and
     * it parks; its entry in the unparked list then only makes the core's
     * "did it run?" check fail the commit, which is safe. */
    if (!atomic_compare_exchange_strong(&r->state, &expect, STATE(w->gen, PH_UNPARKED)))
        return 0;
    chook__stopsig_add_stale(tid, w->sig);
    return 1;
}

/* Looks at a thread that has not parked yet: gone (exited, or a zombie main
 * thread that never will), accepted as unparked, or still awaited. No libc. */
static void examine_pending(chook__world *w, struct rec *r, int late)
{
    uint32_t expect = STATE(w->gen, PH_SIGNALLED);
    if (atomic_load(&r->state) != expect) return;
    chook__thread_status st;
    if (chook__thread_status_read(atomic_load(&r->tid), &st) < 0) return;
    if (!st.exists || st.state == 'Z' || st.state == 'X') {
        atomic_compare_exchange_strong(&r->state, &expect, STATE(w->gen, PH_GONE));
        return;
    }
    accept_unparked(w, r, &st, late);
}

static int signal_one(pid_t tid, void *p)
{
    struct round *rd = p;
    chook__world *w = rd->w;
    if (tid == w->self) return 0;
    for (size_t i = 0; i < w->used; i++)
        if (atomic_load_explicit(&rec_at(i)->tid, memory_order_relaxed) == tid) return 0;
    if (w->used == nchunks * REC_CHUNK) {
        rd->overflow = 1;
        return 1;
    }
    size_t idx = w->used++;
    struct rec *r = rec_at(idx);
    atomic_store_explicit(&r->tid, tid, memory_order_relaxed);
    atomic_store_explicit(&r->ucontext, NULL, memory_order_relaxed);
    atomic_store_explicit(&r->state, STATE(w->gen, PH_SIGNALLED), memory_order_release);

    /* A thread that still holds a signal of an earlier stop pending blocks it:
     * another instance would only lengthen its queue (the kernel limits it). */
    if (chook__stopsig_is_stale(tid, w->sig)) {
        chook__thread_status st;
        if (chook__thread_status_read(tid, &st) == 0 && st.exists &&
            (st.pending & st.blocked & CHOOK__SIGBIT(w->sig)) &&
            accept_unparked(w, r, &st, 0))
            return 0;
    }

    siginfo_t si;
    chook__memset(&si, 0, sizeof si);
    si.si_signo = w->sig;
    si.si_code = SI_QUEUE;
    si.si_pid = rd->pid;
    si.si_uid = (uid_t)rd->uid;
    si.si_value.sival_ptr = (void *)(uintptr_t)(COOKIE_MAGIC << 48 | (uint64_t)idx << 32 |
                                                 w->gen);
    long rc = chook_arch_syscall(SYS_rt_tgsigqueueinfo, rd->pid, tid, w->sig, (long)&si,
                                 0, 0);
    if (rc == -ESRCH) { /* exited since the listing */
        atomic_store_explicit(&r->state, STATE(w->gen, PH_GONE), memory_order_relaxed);
        return 0;
    }
    if (rc < 0) {
        atomic_store_explicit(&r->state, STATE(w->gen, PH_GONE), memory_order_relaxed);
        rd->error = rc;
        rd->error_tid = tid;
        return 1;
    }
    rd->added++;
    return 0;
}

static struct timespec ns_to_timespec(uint64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
    return ts;
}

/* Waits until no record of this stop is SIGNALLED or CLAIMED. Returns 0, or -1
 * when the deadline passed first. Threads found to have exited become GONE. */
static int wait_parked(chook__world *w, uint64_t deadline)
{
    uint64_t next_check = chook__now_ns() + CHECK_FIRST_NS;
    int checks = 0;
    for (;;) {
        uint32_t seen = atomic_load(&arrivals);
        size_t pending = 0;
        for (size_t i = 0; i < w->used; i++) {
            uint32_t ph = PHASE(atomic_load_explicit(&rec_at(i)->state,
                                                     memory_order_acquire));
            pending += ph == PH_SIGNALLED || ph == PH_CLAIMED;
        }
        if (!pending) return 0;
        uint64_t now = chook__now_ns();
        if (now >= next_check) {
            for (size_t i = 0; i < w->used; i++) examine_pending(w, rec_at(i), checks > 0);
            checks++;
            next_check = chook__now_ns() + CHECK_EVERY_NS;
            continue;
        }
        if (now >= deadline) return -1;
        uint64_t until = deadline < next_check ? deadline : next_check;
        struct timespec ts = ns_to_timespec(until - now);
        chook__sys_futex_wait((int *)&arrivals, (int)seen, &ts);
    }
}

/* Lets every parked (or about to park) thread of this stop go and waits until
 * each has left the handler. */
static void release_all(chook__world *w)
{
    atomic_store_explicit(&release_word, w->gen, memory_order_release);
    chook__sys_futex_wake((int *)&release_word, 0x7fffffff);
    for (size_t i = 0; i < w->used; i++) {
        struct rec *r = rec_at(i);
        for (;;) {
            uint32_t seen = atomic_load(&departures);
            uint32_t ph = PHASE(atomic_load_explicit(&r->state, memory_order_acquire));
            if (ph != PH_CLAIMED && ph != PH_PARKED) break;
            /* Bounded sleeps: a wake may be consumed by an earlier round. */
            struct timespec ts = ns_to_timespec(10000000u);
            chook__sys_futex_wait((int *)&departures, (int)seen, &ts);
        }
    }
}

/* What a thread that did not park was doing, for the message. */
struct diagnosis {
    pid_t tid;
    size_t others;
    chook__thread_status st;
};

/* Gives up on every thread that has not parked; they become ABANDONED, so their
 * signal, if it ever arrives, is ignored. Threads that turn out to have exited
 * become GONE instead. */
static void abandon(chook__world *w, struct diagnosis *d)
{
    d->tid = 0;
    d->others = 0;
    for (size_t i = 0; i < w->used; i++) {
        struct rec *r = rec_at(i);
        uint32_t expect = STATE(w->gen, PH_SIGNALLED);
        pid_t tid = atomic_load(&r->tid);
        if (atomic_load(&r->state) != expect) continue;
        if (!chook__thread_alive(tid)) {
            atomic_compare_exchange_strong(&r->state, &expect, STATE(w->gen, PH_GONE));
            continue;
        }
        if (!atomic_compare_exchange_strong(&r->state, &expect, STATE(w->gen, PH_ABANDONED)))
            continue; /* parked, or about to (CLAIMED): release_all lets it go */
        chook__stopsig_add_stale(tid, w->sig);
        if (!d->tid) d->tid = tid;
        else d->others++;
    }
    if (d->tid && chook__thread_status_read(d->tid, &d->st) < 0) d->st.exists = 0;
}

static int fail_timeout(const chook__world *w, const struct diagnosis *d, unsigned ms)
{
    const char *why;
    char more[48] = "";
    if (d->st.blocked & CHOOK__SIGBIT(w->sig))
        why = "it blocks the signal";
    else if (d->st.state == 'D')
        why = "it is stuck in the kernel (state D)";
    else if (d->st.state == 'T' || d->st.state == 't')
        why = "it is stopped (job control or a debugger)";
    else
        why = "it blocks the signal or is stuck in the kernel";
    if (d->others)
        snprintf(more, sizeof more, " (and %zu other thread%s)", d->others,
                 d->others == 1 ? "" : "s");
    return chook__fail(CHOOK_ETHREADS, "thread %d did not stop within %u ms%s: %s "
                       "(signal %d); nothing was changed", (int)d->tid, ms, more, why,
                       w->sig);
}

enum { ATTEMPT_OK, ATTEMPT_FAILED, ATTEMPT_GROW };

/* One try at parking everyone; on ATTEMPT_FAILED the message is set and nothing
 * is parked. */
static int attempt(chook__world *w, unsigned timeout_ms, int *status)
{
    w->gen = (++gen_counter) & GEN_MASK;
    if (!w->gen) w->gen = (++gen_counter) & GEN_MASK;
    w->used = 0;
    w->parked = 0;
    chook__unparked_reset();
    struct round rd = { .w = w, .pid = (pid_t)chook__sys_getpid(),
                        .uid = chook_arch_syscall(SYS_getuid, 0, 0, 0, 0, 0, 0) };
    atomic_store(&stop_pid, rd.pid);

    for (int round = 0;; round++) {
        rd.added = 0;
        long rc = chook__tasks_each(signal_one, &rd);
        if (rc < 0 || rd.error || rd.overflow || round == MAX_ROUNDS) {
            struct diagnosis d;
            abandon(w, &d);
            release_all(w);
            if (rd.overflow) return ATTEMPT_GROW;
            if (rc < 0)
                *status = chook__fail(CHOOK_ENOSYS, "cannot list /proc/self/task "
                                      "(errno %ld)", -rc);
            else if (rd.error)
                *status = chook__fail(CHOOK_ENOSYS, "cannot send signal %d to thread %d "
                                      "(errno %ld)", w->sig, (int)rd.error_tid, -rd.error);
            else
                *status = chook__fail(CHOOK_ETHREADS, "new threads kept appearing while "
                                      "stopping the process (%d rounds)", MAX_ROUNDS);
            return ATTEMPT_FAILED;
        }
        if (!rd.added) break; /* everyone listed is parked or gone */
        uint64_t deadline = chook__now_ns() + (uint64_t)timeout_ms * 1000000u;
        if (wait_parked(w, deadline) < 0) {
            struct diagnosis d;
            abandon(w, &d);
            if (!d.tid) {
                /* The last ones had exited, or were parking just then (CLAIMED
                 * threads are a few stores away from PARKED). */
                wait_parked(w, UINT64_MAX);
                continue;
            }
            release_all(w);
            *status = fail_timeout(w, &d, timeout_ms);
            return ATTEMPT_FAILED;
        }
    }
    for (size_t i = 0; i < w->used; i++)
        if (PHASE(atomic_load_explicit(&rec_at(i)->state, memory_order_acquire)) ==
            PH_PARKED)
            *parked_at(w->parked++) = (uint32_t)i;
    return ATTEMPT_OK;
}

static int count_one(pid_t tid, void *p)
{
    (void)tid;
    (*(size_t *)p)++;
    return 0;
}

static void membarrier_register(void)
{
    if (membarrier_state) return;
    long q = chook_arch_syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0, 0, 0, 0);
    membarrier_state = -1;
    if (q >= 0 && (q & MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) &&
        chook_arch_syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE,
                           0, 0, 0, 0, 0) == 0)
        membarrier_state = 1;
}

int chook__membarrier_ready(void)
{
    membarrier_register();
    return membarrier_state == 1;
}

int chook__world_stop(chook__world **out)
{
    chook__world *w = &world;
    *out = NULL;
    w->self = (pid_t)chook__sys_gettid();
    w->used = w->parked = 0;
    w->sig = 0;
    chook__unparked_reset();
    chook__stopsig_sweep();
    membarrier_register(); /* once per process; also spares cpuid at resume */

    size_t n = 0;
    long rc = chook__tasks_each(count_one, &n);
    if (rc < 0)
        return chook__fail(CHOOK_ENOSYS, "cannot list /proc/self/task (errno %ld)", -rc);
    if (n <= 1) {
        /* Only this thread (threads are only made by threads): nothing to park. */
        *out = w;
        atomic_store(&stopped, 1);
        return CHOOK_OK;
    }
    int sig;
    CHOOK_CHECK(chook__stopsig_choose(&sig));
    CHOOK_CHECK(reserve(n + n / 2 + 8));
    if (chook__unparked_reserve(nchunks * REC_CHUNK) != CHOOK_OK)
        return chook__fail(CHOOK_ENOMEM, "out of memory for the records of %zu threads", n);
    membarrier_register();
    CHOOK_CHECK(chook__stopsig_install(sig, stop_handler));
    w->sig = sig;
    atomic_store(&last_signal, sig);

    unsigned timeout_ms = chook__config_stop_timeout_ms();
    int status = CHOOK_OK;
    for (int i = 0; i < MAX_ATTEMPTS; i++) {
        int r = attempt(w, timeout_ms, &status);
        if (r == ATTEMPT_OK) {
            *out = w;
            atomic_store(&stopped, 1);
            return CHOOK_OK;
        }
        if (r == ATTEMPT_FAILED) break;
        status = reserve(nchunks * REC_CHUNK * 2); /* threads appeared: grow, retry */
        if (status == CHOOK_OK && chook__unparked_reserve(nchunks * REC_CHUNK) != CHOOK_OK)
            status = chook__fail(CHOOK_ENOMEM, "out of memory for the records of %zu "
                                 "threads", nchunks * REC_CHUNK);
        if (status != CHOOK_OK) break;
        status = chook__fail(CHOOK_ETHREADS, "the number of threads kept growing while "
                             "stopping the process");
    }
    chook__unparked_reset();
    chook__stopsig_release(sig);
    w->sig = 0;
    w->used = w->parked = 0;
    return status;
}

size_t chook__world_count(const chook__world *w)
{
    return w ? w->parked : 0;
}

pid_t chook__world_tid(const chook__world *w, size_t i)
{
    if (!w || i >= w->parked) return 0;
    return atomic_load(&rec_at(*parked_at(i))->tid);
}

uintptr_t chook__world_pc(const chook__world *w, size_t i)
{
    if (!w || i >= w->parked) return 0;
    return chook_arch_context_pc(atomic_load(&rec_at(*parked_at(i))->ucontext));
}

void chook__world_set_pc(chook__world *w, size_t i, uintptr_t pc)
{
    if (!w || i >= w->parked) return;
    chook_arch_context_set_pc(atomic_load(&rec_at(*parked_at(i))->ucontext), pc);
}

void chook__world_resume(chook__world *w)
{
    if (!w) return;
    atomic_store(&stopped, 0);
    if (w->sig) {
        /* Cores that run this process's threads serialise now. Where the kernel
         * lacks SYNC_CORE, each parked thread's own serialisation in the handler
         * is what makes it see the new code (no other thread runs meanwhile). */
        if (membarrier_state == 1)
            chook_arch_syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE,
                               0, 0, 0, 0, 0);
    }
    /* This thread wrote the code through /proc/self/mem: the kernel's write and
     * the return to user space already order it before this core's next fetch;
     * serialise explicitly only where membarrier is missing. */
    if (membarrier_state != 1) chook_arch_serialize();
    if (w->sig) {
        release_all(w);
        chook__stopsig_release(w->sig);
        chook__stopsig_sweep();
    }
    w->sig = 0;
    w->used = w->parked = 0;
}

int chook__world_stopped(void)
{
    return atomic_load(&stopped);
}

int chook__stop_signal(void)
{
    return atomic_load(&last_signal);
}

/* ---- the commit lock and fork -------------------------------------------------- */

static chook__mutex commit_mutex;

void chook__commit_lock(void)
{
    chook__mutex_lock(&commit_mutex);
}

void chook__commit_unlock(void)
{
    chook__mutex_unlock(&commit_mutex);
}

/* The child has one thread, no pending signal and a new mm (membarrier
 * registration is per process): start clean (after lock.c reset the mutexes). */
static void fork_child(void)
{
    atomic_store(&stopped, 0);
    membarrier_state = 0;
    world.sig = 0;
    world.used = world.parked = 0;
    chook__unparked_reset();
    chook__stopsig_after_fork();
}

/* fork() waits for a commit in progress (lock.c takes the commit lock with the
 * other ranked mutexes). */
__attribute__((constructor)) static void stop_init(void)
{
    chook__fork_guard(&commit_mutex, CHOOK_RANK_COMMIT);
    chook__fork_child_hook(fork_child);
}
