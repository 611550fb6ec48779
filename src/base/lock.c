/*
 * A futex mutex that never calls libc (pthread functions may be hooked by the
 * user). States: 0 unlocked, 1 locked, 2 locked with waiters.
 */
#include "internal.h"

int chook__mutex_trylock(chook__mutex *m)
{
    int expected = 0;
    return __atomic_compare_exchange_n(&m->state, &expected, 1, 0, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
}

void chook__mutex_lock(chook__mutex *m)
{
    if (chook__mutex_trylock(m)) return;
    while (__atomic_exchange_n(&m->state, 2, __ATOMIC_ACQUIRE) != 0)
        chook__sys_futex_wait(&m->state, 2, NULL);
}

void chook__mutex_unlock(chook__mutex *m)
{
    if (__atomic_exchange_n(&m->state, 0, __ATOMIC_RELEASE) == 2)
        chook__sys_futex_wake(&m->state, 1);
}
