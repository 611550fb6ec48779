/*
 * chook's SIGTRAP handler for breakpoint-first patching (see trap.h).
 */
#include <signal.h>
#include <sys/syscall.h>

#include "internal.h"
#include "trap.h"


/* An append-only open-addressing table at -> to. A reader (the handler) loads
 * the current table once; tables are never freed, and a full table is replaced
 * by a copy twice its size, so a reader never sees freed memory. */
struct trap_table {
    size_t cap;      /* power of two */
    size_t used;
    uintptr_t *at, *to;
};

static struct trap_table *current;      /* read by the handler */
static struct chook__ksigaction previous;      /* the application's disposition */
static int installed;

static size_t slot_of(uintptr_t at, size_t cap)
{
    return (size_t)(((uint64_t)at * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
}

static void table_put(struct trap_table *t, uintptr_t at, uintptr_t to)
{
    size_t i = slot_of(at, t->cap);
    while (t->at[i] && t->at[i] != at) i = (i + 1) & (t->cap - 1);
    if (!t->at[i]) t->used++;
    __atomic_store_n(&t->to[i], to, __ATOMIC_RELEASE);
    __atomic_store_n(&t->at[i], at, __ATOMIC_RELEASE);
}

static uintptr_t table_get(const struct trap_table *t, uintptr_t at)
{
    size_t i = slot_of(at, t->cap);
    for (size_t probes = 0; probes < t->cap; probes++, i = (i + 1) & (t->cap - 1)) {
        uintptr_t a = __atomic_load_n(&t->at[i], __ATOMIC_ACQUIRE);
        if (!a) return 0;
        if (a == at) return __atomic_load_n(&t->to[i], __ATOMIC_ACQUIRE);
    }
    return 0;
}


static void forward(int sig, siginfo_t *info, void *uc)
{
    void *h = previous.handler;
    if (h == (void *)SIG_IGN) return;
    if (h == (void *)SIG_DFL) {
        /* Deliver it again with the default action, as if chook were not here. */
        struct chook__ksigaction dfl = { (void *)SIG_DFL, CHOOK_SA_RESTORER,
                                         chook_arch_sigreturn, 0 };
        chook__sys_sigaction(sig, &dfl, NULL);
        installed = 0;
        chook_arch_syscall(SYS_tgkill, chook__sys_getpid(), chook__sys_gettid(), sig, 0, 0, 0);
        return;
    }
    if (previous.flags & SA_SIGINFO)
        ((void (*)(int, siginfo_t *, void *))h)(sig, info, uc);
    else
        ((void (*)(int))h)(sig);
}

static void on_trap(int sig, siginfo_t *info, void *uc)
{
    uintptr_t at, to;
    const struct trap_table *t = __atomic_load_n(&current, __ATOMIC_ACQUIRE);
    if (t && chook_arch_breakpoint_address(info, uc, &at) && (to = table_get(t, at)) != 0) {
        chook_arch_context_set_pc(uc, to);
        return;
    }
    forward(sig, info, uc);
}

/* No libc: runs while threads are parked. Returns 0, or -1 when the kernel
 * refused (the caller reports it once threads run again). */
int chook__trap_install_handler(void)
{
    struct chook__ksigaction cur;
    if (chook__sys_sigaction(SIGTRAP, NULL, &cur) != 0) return -1;
    if (installed && cur.handler == (void *)on_trap) return 0;
    /* First use, or the application installed its own handler since: keep it as
     * the disposition to forward to. */
    struct chook__ksigaction act = {
        (void *)on_trap, SA_SIGINFO | SA_RESTART | SA_ONSTACK | SA_NODEFER | CHOOK_SA_RESTORER,
        chook_arch_sigreturn, 0,
    };
    previous = cur;
    if (chook__sys_sigaction(SIGTRAP, &act, NULL) != 0) return -1;
    installed = 1;
    return 0;
}

int chook__trap_prepare(size_t n)
{
    struct trap_table *t = current;
    /* Keep the load under one half. */
    if (!t || (t->used + n) * 2 > t->cap) {
        size_t cap = t ? t->cap : 256;
        while ((( t ? t->used : 0) + n) * 2 > cap) cap *= 2;
        struct trap_table *nt = chook__alloc(sizeof *nt);
        uintptr_t *a = nt ? chook__alloc(cap * sizeof *a) : NULL;
        uintptr_t *b = a ? chook__alloc(cap * sizeof *b) : NULL;
        if (!b) return chook__fail(CHOOK_ENOMEM, "out of memory for breakpoint entries");
        nt->cap = cap;
        nt->at = a;
        nt->to = b;
        for (size_t i = 0; t && i < t->cap; i++)
            if (t->at[i]) table_put(nt, t->at[i], t->to[i]);
        __atomic_store_n(&current, nt, __ATOMIC_RELEASE);
    }
    return CHOOK_OK;
}

void chook__trap_set(uintptr_t at, uintptr_t to)
{
    table_put(current, at, to);
}
