/*
 * A futex mutex that never calls libc (pthread functions may be hooked by the
 * user). States: 0 unlocked, 1 locked, 2 locked with waiters.
 *
 * Also the two services built on the mutexes' ranks (lockrank.h): fork()
 * taking every registered mutex in rank order, and, in debug builds, a check of
 * that order at every lock.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "internal.h"
#include "lockrank.h"

/* ---- lock-order check (debug builds) ------------------------------------------ */

#ifndef NDEBUG
#define HELD_MAX 16
/* The ranked mutexes this thread holds, in the order taken. Initial-exec TLS:
 * reading it never allocates (it runs while other threads are parked). */
static __attribute__((tls_model("initial-exec"))) __thread struct {
    const chook__mutex *m[HELD_MAX];
    int rank[HELD_MAX];
    unsigned n;
} held;
static _Atomic unsigned long violations;
static _Atomic int last_held, last_taken;

static void rank_check(const chook__mutex *m)
{
    if (!m->rank) return;
    for (unsigned i = 0; i < held.n && i < HELD_MAX; i++) {
        if (held.rank[i] >= m->rank) {
            atomic_store(&last_held, held.rank[i]);
            atomic_store(&last_taken, m->rank);
            atomic_fetch_add(&violations, 1);
            break;
        }
    }
}

static void rank_push(const chook__mutex *m)
{
    if (!m->rank) return;
    if (held.n < HELD_MAX) {
        held.m[held.n] = m;
        held.rank[held.n] = m->rank;
    }
    held.n++;
}

static void rank_pop(const chook__mutex *m)
{
    if (!m->rank || held.n == 0) return;
    unsigned n = held.n < HELD_MAX ? held.n : HELD_MAX;
    for (unsigned i = n; i-- > 0;) {
        if (held.m[i] == m) {
            for (unsigned j = i + 1; j < n; j++) {
                held.m[j - 1] = held.m[j];
                held.rank[j - 1] = held.rank[j];
            }
            break;
        }
    }
    held.n--;
}

int chook__lockrank_checked(void) { return 1; }
unsigned long chook__lockrank_violations(void) { return atomic_load(&violations); }
void chook__lockrank_last(int *held_rank, int *taken_rank)
{
    *held_rank = atomic_load(&last_held);
    *taken_rank = atomic_load(&last_taken);
}
#else
#define rank_check(m) ((void)(m))
#define rank_push(m) ((void)(m))
#define rank_pop(m) ((void)(m))
int chook__lockrank_checked(void) { return 0; }
unsigned long chook__lockrank_violations(void) { return 0; }
void chook__lockrank_last(int *held_rank, int *taken_rank)
{
    *held_rank = 0;
    *taken_rank = 0;
}
#endif

/* ---- the mutex ------------------------------------------------------------------ */

int chook__mutex_trylock(chook__mutex *m)
{
    int expected = 0;
    if (!__atomic_compare_exchange_n(&m->state, &expected, 1, 0, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        return 0;
    /* A trylock cannot deadlock: no order check, but it is held now. */
    rank_push(m);
    return 1;
}

void chook__mutex_lock(chook__mutex *m)
{
    rank_check(m);
    int expected = 0;
    if (!__atomic_compare_exchange_n(&m->state, &expected, 1, 0, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED)) {
        while (__atomic_exchange_n(&m->state, 2, __ATOMIC_ACQUIRE) != 0)
            chook__sys_futex_wait(&m->state, 2, NULL);
    }
    rank_push(m);
}

void chook__mutex_unlock(chook__mutex *m)
{
    rank_pop(m);
    if (__atomic_exchange_n(&m->state, 0, __ATOMIC_RELEASE) == 2)
        chook__sys_futex_wake(&m->state, 1);
}

/* ---- fork ----------------------------------------------------------------------- */

/* The mutexes of chook that fork() must not split, by rank. */
#define FORK_GUARDS 32
#define FORK_CHILD_HOOKS 8
static struct { chook__mutex *m; int rank; } guards[FORK_GUARDS];
static _Atomic int nguards;
static void (*child_hooks[FORK_CHILD_HOOKS])(void);
static _Atomic int nchild_hooks;
/* Guards the two tables: constructors run one at a time, but a library loaded
 * by dlopen() runs its constructors while other threads may fork. Unranked: it
 * is taken with nothing else held, and fork_prepare takes it first. */
static chook__mutex table_lock;

void chook__fork_guard(chook__mutex *m, int rank)
{
    m->rank = rank;
    chook__mutex_lock(&table_lock);
    int n = atomic_load(&nguards);
    if (n < FORK_GUARDS) {
        int i = n;
        while (i > 0 && guards[i - 1].rank > rank) {
            guards[i] = guards[i - 1];
            i--;
        }
        guards[i].m = m;
        guards[i].rank = rank;
        atomic_store(&nguards, n + 1);
    }
    chook__mutex_unlock(&table_lock);
}

void chook__fork_child_hook(void (*fn)(void))
{
    chook__mutex_lock(&table_lock);
    int n = atomic_load(&nchild_hooks);
    if (n < FORK_CHILD_HOOKS) {
        child_hooks[n] = fn;
        atomic_store(&nchild_hooks, n + 1);
    }
    chook__mutex_unlock(&table_lock);
}

/* fork() waits for a commit in progress, and for any other of chook's critical
 * sections, so the child never sees code half written, a world half stopped or
 * chook's structures half updated. The negative ranks are held by their owners
 * while they take the commit lock (attaching a listener installs a hook): rank
 * order takes them first. */
static void fork_prepare(void)
{
    chook__mutex_lock(&table_lock);
    int n = atomic_load(&nguards);
    for (int i = 0; i < n; i++) chook__mutex_lock(guards[i].m);
}

static void fork_parent(void)
{
    for (int i = atomic_load(&nguards) - 1; i >= 0; i--) chook__mutex_unlock(guards[i].m);
    chook__mutex_unlock(&table_lock);
}

/* The child has one thread: every mutex starts unlocked, then each subsystem
 * resets its own state. */
static void fork_child(void)
{
    for (int i = atomic_load(&nguards) - 1; i >= 0; i--) chook__mutex_unlock(guards[i].m);
    for (int i = 0; i < atomic_load(&nguards); i++) guards[i].m->state = 0;
    chook__mutex_unlock(&table_lock);
    table_lock.state = 0;
    for (int i = 0; i < atomic_load(&nchild_hooks); i++) child_hooks[i]();
}

__attribute__((constructor)) static void lock_init(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}
