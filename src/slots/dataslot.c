/*
 * Replacing one pointer in data: a GOT entry, a vtable slot, a field of an ops
 * struct. Other threads may load the pointer at any moment, so the store is one
 * atomic 8-byte compare-and-swap: a reader sees the old pointer or the new one,
 * never a mix, and no thread has to be stopped.
 *
 * Read-only pages (a GOT or vtable after RELRO) are not code, so unlike code they
 * may briefly become writable: the page is given PROT_WRITE with a raw mprotect,
 * swapped, and given back exactly the protection /proc/self/maps showed. A write
 * through /proc/self/mem would avoid the mprotect, but the kernel copies those
 * bytes with memcpy, which does not promise one atomic store. The mprotect calls
 * are serialised so two swaps on one page cannot restore each other's state.
 */
#include <sys/mman.h>
#include <sys/syscall.h>

#include "internal.h"
#include "lockrank.h"
#include "stop.h"
#include "symbols.h"

static chook__mutex protect_lock;

static long sys_mprotect(uintptr_t addr, size_t len, int prot)
{
    return chook_arch_syscall(SYS_mprotect, (long)addr, (long)len, prot, 0, 0, 0);
}

static int cas(void **slot, void *expect, void *value, void **seen)
{
    void *e = expect;
    int ok = __atomic_compare_exchange_n(slot, &e, value, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    if (seen) *seen = e;
    return ok;
}

static int check(void **slot, chook__region *r)
{
    uintptr_t a = (uintptr_t)slot;
    if (!slot || a % sizeof(void *) != 0)
        return chook__fail(CHOOK_EINVAL, "slot %p is not an aligned pointer", (void *)slot);
    int status = chook__maps_find(a, r);
    if (status != CHOOK_OK)
        return chook__fail(status, "slot %p is not mapped", (void *)slot);
    if (!(r->prot & PROT_READ))
        return chook__fail(CHOOK_EINVAL, "slot %p is in a %s mapping that cannot be read",
                           (void *)slot, r->perms);
    return CHOOK_OK;
}

int chook__slot_check(void **slot)
{
    chook__region r = { 0 };
    return check(slot, &r);
}

int chook__slot_swap(void **slot, void *expect, void *value)
{
    uintptr_t a = (uintptr_t)slot;
    chook__region r;
    CHOOK_CHECK(check(slot, &r));

    void *seen = NULL;
    int swapped;
    if (r.prot & PROT_WRITE) {
        swapped = cas(slot, expect, value, &seen);
    } else {
        chook__mutex_lock(&protect_lock);
        size_t ps = chook__page_size();
        uintptr_t page = CHOOK_ALIGN_DOWN(a, ps);
        long rc = sys_mprotect(page, ps, r.prot | PROT_WRITE);
        if (rc < 0) {
            chook__mutex_unlock(&protect_lock);
            return chook__fail(CHOOK_EPATCH, "cannot make the %s page of slot %p writable "
                               "(mprotect: errno %ld)", r.perms, (void *)slot, -rc);
        }
        swapped = cas(slot, expect, value, &seen);
        rc = sys_mprotect(page, ps, r.prot);
        chook__mutex_unlock(&protect_lock);
        if (rc < 0)
            return chook__fail(CHOOK_EPATCH, "slot %p was %s but its page stays writable "
                               "(mprotect: errno %ld)", (void *)slot,
                               swapped ? "written" : "not written", -rc);
    }
    if (!swapped)
        return chook__fail(CHOOK_EPATCH, "slot %p holds %p, not the expected %p: changed by "
                           "someone else", (void *)slot, seen, expect);
    return CHOOK_OK;
}

/* fork() must not split this lock (see chook__fork_guard). */
__attribute__((constructor)) static void dataslot_fork_guard(void)
{
    chook__fork_guard(&protect_lock, CHOOK_RANK_DATASLOT);
}
