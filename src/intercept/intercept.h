/*
 * Internal state of interception (intercept.c, intercept_thread.c,
 * intercept_sig.c, intercept_closure.c) and the frame the dispatcher builds.
 *
 * One intercepted target has one context (struct chook__ictx): a hook in the
 * core's chain whose replacement is a thunk that jumps to the dispatcher with the
 * context. The context publishes the current listener set (struct
 * chook__ichain), an immutable array replaced as a whole on attach/detach
 * (RCU-style): a call uses the set it loaded at entry from enter to leave.
 *
 * Dispatch, per call (intercept.S drives it, intercept.c decides):
 *   1. The dispatcher saves the argument registers (chook_arch_iregs), reserves
 *      the per-listener slots (ctx->slot_bytes) and calls chook__icpt_enter.
 *   2. enter: bypass when the thread is inside a callback or ignored (jump to the
 *      original); else, inside the thread's "window", load the set, record it as
 *      in flight on this thread, and for each listener check it is not detached
 *      and run its on_enter; then close the window.
 *   3. Action: ICPT_JUMP (nothing to do after the call: restore and jump to the
 *      original, the caller's stack untouched), ICPT_CALL (copy the set's
 *      stack_bytes of stack arguments, call the original, save its return
 *      registers), or ICPT_SKIP (an on_enter skipped it).
 *   4. leave (after CALL or SKIP): on_leave in reverse order for the listeners
 *      entered, drop the in-flight record, return the saved return registers.
 * A context whose set has one listener (the common case) has its thunk jump to
 * the dispatcher's one-listener entry, which runs these steps itself with no C
 * in between and hands anything unusual to the functions below. What it may
 * read of the core, and the steps it follows, are intercept_abi.h: changes to
 * these steps or to the structures it names must be made there too.
 */
#ifndef CHOOK_INTERCEPT_H
#define CHOOK_INTERCEPT_H

#include "call.h"
#include "intercept_abi.h"
#include "internal.h"

/* What chook__icpt_enter tells the dispatcher: an action in the low 4 bits and,
 * for CHOOK__ICPT_CALL, the bytes of stack arguments to copy (a multiple of 16)
 * in the others. "The original" is ctx->original. */
enum chook__icpt_action {
    CHOOK__ICPT_JUMP = 0, /* restore the registers and jump to the original */
    CHOOK__ICPT_CALL = 1, /* call the original, then chook__icpt_leave */
    CHOOK__ICPT_SKIP = 2, /* do not call; chook__icpt_leave */
};
#define CHOOK__ICPT_ACTION_MASK 15

/* chook__ichain.stack_bytes and chook_listener.stack_bytes: no size known (no
 * signature, no stack_bytes): a call copies its caller's whole frame, as far as
 * the caller's unwind information says (chook__icpt_window()). */
#define CHOOK__ICPT_STACK_CALLER 0xffffffffu
#define CHOOK__ICPT_MAX_STACK 4096u   /* the most bytes of stack arguments copied */
#define CHOOK__ICPT_WINDOWS 1024u     /* entries of the per-call-site cache */
#define CHOOK__ICPT_INFLIGHT 64       /* in-flight calls recorded per thread */
/* Listeners one target may have: each takes 16 bytes of stack in every call. */
#define CHOOK__ICPT_MAX_LISTENERS 256

/* Per-listener state of one call, in the dispatcher's frame. */
struct chook__islot {
    uint64_t data;     /* chook_call_data() */
    uint64_t entered;  /* its on_enter step passed: its on_leave is owed */
};

/* The dispatcher's frame (bottom of it), laid out as intercept_abi.h says (the
 * offsets are checked in intercept_abi.c): the core's fields, then the arch's
 * saved registers, then the entry word. The per-listener slots lie right below
 * it (slot_bytes of them). Every field is a store paid on each call: keep them
 * few; what is constant per target or listener is read through them instead. */
struct chook__iframe {
    chook_call call;           /* ret/fret written by the dispatcher after the call */
    uint64_t slot_bytes;       /* set by the dispatcher: bytes of slots below */
    const struct chook__ichain *chain; /* the set this call uses */
    uint32_t depth;            /* its index in the thread's in-flight records */
    uint32_t n;                /* listeners of chain this call considers */
    struct chook__ithread *thread; /* the calling thread's record */
    intptr_t tls;              /* the dispatcher's own: chook__tls, as it found it */
    uint64_t pad[1];
    chook_arch_iregs regs;     /* saved by the dispatcher */
    uint64_t pad2;
    /* Last field, right below the frame's top: the caller's stack pointer at the
     * call minus 8, where the dispatcher saved rbp. The frame is aligned down
     * from there (a caller may call with any stack alignment), so the caller's
     * stack arguments are found through it, not at a fixed distance. */
    uintptr_t entry;
};

static inline struct chook__islot *chook__iframe_slots(struct chook__iframe *f)
{
    return (struct chook__islot *)((uint8_t *)f - f->slot_bytes);
}

static inline uint64_t *chook__iframe_stack(struct chook__iframe *f)
{
    return (uint64_t *)(f->entry + 16);
}

static inline struct chook__iframe *chook__iframe_of(chook_call *call)
{
    return (struct chook__iframe *)((uint8_t *)call - offsetof(struct chook__iframe, call));
}

struct chook__ictx;

struct chook_listener {
    chook_enter_fn on_enter;
    chook_leave_fn on_leave;
    void *data;
    struct chook__ictx *ctx;
    struct chook__sig *sig;   /* NULL without a signature */
    uint32_t stack_bytes;     /* copied for the original when on_leave is set */
    int detached;             /* read by dispatch (relaxed), written once */
    uint32_t chains;          /* chain snapshots that hold it (registry lock) */
    uint32_t magic;
    struct chook_listener *reap_next; /* detached and in no set any more */
    uintptr_t handle;         /* the user's handle, while queued in a transaction */
};

#define CHOOK__LISTENER_MAGIC 0x6e74736cu /* "lstn" */

struct chook__ichain {
    uint32_t n;
    uint32_t stack_bytes;     /* max over the listeners with on_leave; 0 = none */
    int marked;               /* reclaim: who still uses it (0 none, -1 the caller, else a tid) */
    uint32_t pad;
    uint64_t retired;         /* epoch at which it stopped being current; 0 while current */
    struct chook__ichain *retired_next;
    chook_listener *l[];
};

struct chook__ictx {
    uint64_t slot_bytes;      /* read by the dispatcher (CTX_SLOT_BYTES) */
    const struct chook__ichain *chain; /* current set, NULL when none */
    uintptr_t original;       /* the core hook's original (CTX_ORIGINAL) */
    uintptr_t target;
    uintptr_t entry;          /* where the thunk jumps (CTX_ENTRY): the dispatcher's
                                 one-listener entry while the set has one */
    uintptr_t thunk;
    chook_hook *hook;         /* NULL while not installed */
    struct chook__ictx *next; /* registry */
    /* Claimed by one thread's open transaction (registry lock; intercept.c,
     * "transactions"): attaches or detaches queued there, applied at commit. */
    const void *txn_owner;    /* the owner's queue, NULL when unclaimed */
    struct chook__ichain *txn_next; /* the set to publish at commit (built by prepare) */
    chook_hook *txn_prev_hook;/* hook before the claim, put back when discarded */
    int txn_mode;             /* 1 attaches, 2 detaches */
    int txn_removing;         /* the detaches queued the removal of the hook */
    int txn_built;            /* txn_next is built */
    int noreturn;             /* the target never returns (exit...): see reclaim() */
};

/* A register-keeping replacement (CHOOK_KEEP_REGS): the thunk installed on the
 * target passes this to chook_arch_keep_dispatch, which calls dest from a frame
 * of its own. dest sits where a context keeps its original (CTX_ORIGINAL), so
 * both dispatchers share their frame code. Never freed (a thread may be in it). */
struct chook__keep {
    uint32_t ret_keep;        /* return registers given back as the caller left
                                 them: 1 rax, 2 rdx, 4 xmm0, 8 xmm1 */
    uint32_t unused[3];
    uintptr_t dest;           /* the replacement (or a closure's thunk) */
    uintptr_t unused2;
    uintptr_t entry;          /* chook_arch_keep_dispatch, where the thunk jumps */
};

/* Per-thread state others must see (detach looks at every thread's). Records
 * live in chook's own pages and are reused by later threads; a thread finds its
 * own through a thread-local pointer. What only the thread itself reads (the
 * re-entrancy count, the ignore switch, the closure ring) is in chook__tls. */
struct chook__ithread {
    uint32_t win;             /* > 0 while loading listener state or running enter callbacks */
    uint32_t wgen;            /* advanced each time the outermost window closes */
    uint32_t depth;           /* in-flight calls (records below, up to CHOOK__ICPT_INFLIGHT) */
    int owner;                /* tid of the owning thread, 0 when free */
    uint32_t in_registry;     /* detaching from inside a callback: not waited for */
    uint32_t pad;
    struct chook__ithread *next; /* all records, never unlinked */
    struct {
        const struct chook__ichain *chain;
        uintptr_t frame;
    } inflight[CHOOK__ICPT_INFLIGHT];
};

/* The thread-local block of interception (intercept_closure.c): the thread state
 * of chook.h first (the CHOOK_TYPED replacements reach it through
 * chook_typed_thread(), the mock entry through the symbol chook__tls), then the
 * thread's record. One block, so the dispatcher finds both with one TLS
 * descriptor call (the library may be loaded late, into dynamic TLS). */
struct chook__tls_block {
    chook__thread_state state;
    struct chook__ithread *ithread; /* this thread's record, NULL before its first call */
};
extern __thread struct chook__tls_block chook__tls_all __asm__("chook__tls") CHOOK_HIDDEN;
#define chook__tls (chook__tls_all.state)

/* intercept_thread.c */
#define chook__ithread_tls (chook__tls_all.ithread)
/* Claims a record for the calling thread (lock-free, async-signal-safe); NULL
 * when none can be had (out of memory). */
struct chook__ithread *chook__ithread_claim(void);
/* This thread's record, claimed on first use. */
static inline struct chook__ithread *chook__ithread_self(void)
{
    struct chook__ithread *t = chook__ithread_tls;
    return CHOOK_LIKELY(t != NULL) ? t : chook__ithread_claim();
}
/* The first record of the list of all records (acquire). */
struct chook__ithread *chook__ithread_first(void);
/* Makes every other thread's earlier stores visible and orders them before our
 * later loads (membarrier, or a fallback). */
void chook__ithread_barrier(void);
/* Readers must fence after opening a window (no membarrier on this system). */
extern int chook__icpt_reader_fence;

/* intercept.c: retired listener sets not freed yet (for tests) */
size_t chook__icpt_retired_count(void);

/* intercept.c, called by the dispatcher */
uint64_t chook__icpt_enter(struct chook__iframe *f);
void chook__icpt_leave(struct chook__iframe *f);
void chook__icpt_record(struct chook__iframe *f);

/* intercept_stack.c: the bytes of stack arguments a call whose set has no known
 * size copies, from its entry (the caller's stack pointer - 8): the caller's
 * frame up to its return address by its unwind information, at most
 * CHOOK__ICPT_MAX_STACK, a multiple of 16. Cached per call site in
 * chook__icpt_windows ((return address << 16) | bytes / 16), which the
 * dispatcher reads itself. */
uint32_t chook__icpt_window(uintptr_t entry);
extern uint64_t chook__icpt_windows[CHOOK__ICPT_WINDOWS] CHOOK_HIDDEN;
/* The same through the cache first (what the dispatchers do themselves). */
static inline uint32_t chook__icpt_caller_bytes(uintptr_t entry)
{
    uintptr_t ra = *(const uintptr_t *)(entry + 8);
    uint64_t e = __atomic_load_n(&chook__icpt_windows[chook__icpt_window_slot(ra)],
                                 __ATOMIC_RELAXED);
    return (e >> 16) == ra ? (uint32_t)(e & 0xffff) << 4 : chook__icpt_window(entry);
}
/* How many times chook__icpt_window() found the caller's frame by its unwind
 * information, and how many times it fell back to the stack mapping (tests). */
void chook__icpt_window_stats(uint64_t *unwound, uint64_t *mapped);

/* intercept_guard.c: CHOOK_OK when an on_leave (or anything that calls the
 * target from a frame of its own) is possible for target; CHOOK_ENOLEAVE with a
 * message naming the reason when the function returns twice or reads its own
 * return address (setjmp, vfork, getcontext, ...). */
int chook__icpt_check_leave(void *target, const char *what);

#endif /* CHOOK_INTERCEPT_H */
