/*
 * Per-thread interception state: a record per thread, found through a
 * thread-local pointer, listed globally so detach can see what every thread is
 * doing.
 *
 * Records are claimed lock-free (a compare-and-swap on `owner`) from chunks of
 * chook's own anonymous memory, so a thread's first intercepted call may happen in
 * a signal handler. Records are never unmapped or unlinked: a waiter may read any
 * record at any time. A thread gives its record back when it exits (a pthread key
 * destructor); a forked child frees every record but its own.
 *
 * Memory ordering: dispatch opens a "window" (win++) with plain stores and no
 * fence, loads listener state, runs the enter callbacks and closes it (win--;
 * the window generation wgen advances when the outermost window closes, so a
 * waiter can tell a thread has left the window it saw). A detacher stores its
 * change and
 * then runs chook__ithread_barrier(): membarrier(PRIVATE_EXPEDITED) runs a full
 * barrier on every thread of the process, so afterwards either the reader's
 * window is visible to the detacher, or the reader's later loads see the change
 * (the asymmetric-fence scheme of userspace RCU). Without membarrier, readers
 * fence themselves (chook__icpt_reader_fence).
 */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "intercept.h"

#define MEMBARRIER_CMD_GLOBAL_ (1 << 0)
#define MEMBARRIER_CMD_PRIVATE_EXPEDITED_ (1 << 3)
#define MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_ (1 << 4)
#define RECORD_CHUNK (64u * 1024u)

int chook__icpt_reader_fence;

static struct chook__ithread *all_records;
static pthread_key_t exit_key;
static int exit_key_ok;

/* The record of a thread that is exiting (it also ignores itself, so dispatch
 * never writes this). */
static struct chook__ithread dead_record;

struct chook__ithread *chook__ithread_first(void)
{
    return __atomic_load_n(&all_records, __ATOMIC_ACQUIRE);
}

static void release_record(void *p)
{
    struct chook__ithread *t = p;
    if (!t || t == &dead_record) return;
    /* Later destructors of this thread bypass interception. */
    chook__tls.ignore = 1;
    chook__ithread_tls = &dead_record;
    t->win = t->depth = 0;
    __atomic_store_n(&t->owner, 0, __ATOMIC_RELEASE);
}

/* Links a run of records [first .. last] in front of the global list. */
static void push_records(struct chook__ithread *first, struct chook__ithread *last)
{
    struct chook__ithread *head = __atomic_load_n(&all_records, __ATOMIC_RELAXED);
    do {
        last->next = head;
    } while (!__atomic_compare_exchange_n(&all_records, &head, first, 1, __ATOMIC_RELEASE,
                                          __ATOMIC_RELAXED));
}

static struct chook__ithread *claim(int tid)
{
    for (struct chook__ithread *t = chook__ithread_first(); t; t = t->next) {
        int expected = 0;
        if (__atomic_load_n(&t->owner, __ATOMIC_RELAXED) == 0 &&
            __atomic_compare_exchange_n(&t->owner, &expected, tid, 0, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            return t;
    }
    void *mem = chook__sys_mmap(NULL, RECORD_CHUNK, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (CHOOK_MMAP_FAILED(mem)) return NULL;
    struct chook__ithread *r = mem;
    size_t n = RECORD_CHUNK / sizeof *r;
    for (size_t i = 0; i + 1 < n; i++) r[i].next = &r[i + 1];
    r[0].owner = tid; /* ours before anyone can see it */
    push_records(&r[0], &r[n - 1]);
    return &r[0];
}

struct chook__ithread *chook__ithread_claim(void)
{
    struct chook__ithread *t = claim((int)chook__sys_gettid());
    if (!t) return NULL;
    chook__ithread_tls = t;
    /* Registers the exit destructor. For the first keys glibc keeps the value in
     * the thread descriptor, so this does not allocate. */
    if (exit_key_ok) pthread_setspecific(exit_key, t);
    return t;
}

static long sys_membarrier(int cmd)
{
    return chook_arch_syscall(SYS_membarrier, cmd, 0, 0, 0, 0, 0);
}

void chook__ithread_barrier(void)
{
    if (!chook__icpt_reader_fence) {
        if (sys_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_) == 0) return;
        /* Not registered (e.g. in a forked child on an older kernel): register
         * and retry, then the slower global command. */
        if (sys_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_) == 0 &&
            sys_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_) == 0)
            return;
        if (sys_membarrier(MEMBARRIER_CMD_GLOBAL_) == 0) return;
        /* No membarrier at all: from now on readers fence themselves. */
        __atomic_store_n(&chook__icpt_reader_fence, 1, __ATOMIC_SEQ_CST);
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* In a forked child only the forking thread exists: every other record is free. */
static void after_fork_child(void)
{
    for (struct chook__ithread *t = chook__ithread_first(); t; t = t->next) {
        if (t == chook__ithread_tls) {
            t->owner = (int)chook__sys_gettid();
            continue;
        }
        t->win = t->depth = 0;
        t->owner = 0;
    }
}

__attribute__((constructor)) static void ithread_init(void)
{
    exit_key_ok = pthread_key_create(&exit_key, release_record) == 0;
    pthread_atfork(NULL, NULL, after_fork_child);
    /* Registration lets detach use the cheap private expedited barrier; when
     * it fails, chook__ithread_barrier() falls back at its first use. */
    sys_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_);
}

int chook_ignore_thread(int ignore)
{
    if (chook__ithread_tls != &dead_record) chook__tls.ignore = ignore != 0;
    return CHOOK_OK;
}
