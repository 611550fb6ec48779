/*
 * chook_intercept.h — interception: listeners before and after a call, the
 * call context, closure replacements.
 *
 * Part of <chook.h>, which includes every module header; each may also be
 * included alone.
 */
#ifndef CHOOK_INTERCEPT_PUBLIC_H
#define CHOOK_INTERCEPT_PUBLIC_H

#include "chook_hook.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ============================================================================
 * Interception: callbacks before and after a call, closure replacements
 * ========================================================================== */

/*
 * Listeners. chook_attach() puts a pair of callbacks on any function chook can
 * hook: on_enter runs before the function with read/write access to its
 * arguments (and may skip it, choosing the return value), on_leave runs after it
 * with read/write access to the return value.
 *
 *     static int on_enter(chook_call *call, void *data) {
 *         const char *path = (const char *)*chook_arg(call, 0);
 *         if (is_forbidden(path)) { errno = EACCES; return chook_skip(call, (uintptr_t)-1); }
 *         *chook_call_data(call) = now_ns();          // per-call state
 *         return CHOOK_CONTINUE;
 *     }
 *     static void on_leave(chook_call *call, void *data) {
 *         record_latency(now_ns() - *chook_call_data(call));
 *     }
 *     chook_listener *l;
 *     chook_attach((void *)open, on_enter, on_leave, NULL, &l);
 *     ...
 *     chook_detach(l);
 *     chook_detach_wait(1000);   // then on_enter/on_leave/data may go away
 *
 * Arguments (System V x86-64). chook_arg(call, n) is the n-th argument of the
 * integer class (integers, pointers, enums; counted alone), chook_arg_fp(call, n)
 * the n-th of the floating class (float, double; counted alone). Past the
 * registers (6 integer, 8 floating) arguments are on the stack; without a
 * signature chook assumes only one class spills there. A signature given to
 * chook_attach_ex() ("p,i,d,m24->i") places every argument exactly, by position
 * (chook_arg_at()). Return values: chook_retval()/chook_retval2() (rax, rdx),
 * chook_retval_fp()/chook_retval_fp2() (xmm0, xmm1). A float is the low 4 bytes
 * of its double slot: *(float *)chook_arg_fp(call, 0).
 *
 * Order: enter callbacks run in attach order, leave callbacks in the reverse
 * order. A listener's on_leave runs for exactly the calls whose on_enter step it
 * passed (its on_enter ran or it has none), even if it is detached meanwhile.
 * When an on_enter skips the call, the later on_enter callbacks do not run, the
 * original does not run, and the on_leave callbacks of the listeners already
 * entered do run.
 *
 * Re-entrancy: while a callback runs on a thread, calls it makes to intercepted
 * functions on that thread run without listeners (malloc inside a malloc
 * listener simply calls malloc). chook_ignore_thread() makes a whole thread
 * bypass listeners. Callbacks must return normally: no longjmp or C++ exception
 * out of a callback (it would leave the thread marked as inside a callback, and
 * detach waiting for it).
 *
 * Signals: the dispatch takes no lock and allocates nothing after a thread's
 * first intercepted call, so a signal handler may call intercepted functions
 * (including while its thread is inside another intercepted call). If the signal
 * interrupts a callback, the handler's calls bypass listeners (re-entrancy rule).
 *
 * Stack and unwinding: the dispatcher keeps its own frame on the stack and calls
 * the original from it, so the caller's return address is never rewritten;
 * backtrace(), C++ exceptions and longjmp pass through it (its frame has unwind
 * information). Its frame does not depend on the stack alignment the caller
 * left (the ELF entry point, code reached by a jump, GCC's calls of local
 * functions with a misaligned stack all work). When a listener has an
 * on_leave, the original is called from the dispatcher's frame with a copy of
 * the caller's stack arguments: exactly what a signature describes, or
 * chook_attach_opts.stack_bytes, or else (no signature, or one ending in "...")
 * the caller's whole frame, found by its unwind information and cached per call
 * site, so any number of stack arguments is passed (at most 4096 bytes of them;
 * a caller without unwind information gets the rest of its stack mapping, at
 * most 4096 bytes). Without on_leave the original is entered by a jump with the
 * caller's own stack. A longjmp or exception out of the original skips the
 * on_leave callbacks of that call.
 *
 * Registers: the caller gets back every register the original would have left
 * alone (GCC's -fipa-ra lets callers of local functions keep values in
 * call-clobbered registers): around a jump to the original all of rax, rcx,
 * rdx, rsi, rdi, r8-r11 and xmm0-15 are restored (the argument registers as
 * callbacks left them); after a call of the original, rax, rdx, xmm0 and xmm1
 * are as the original (or on_leave callbacks) left them and the others as the
 * original received them. An on_enter that rewrites an argument register
 * changes that register for the caller too, as if the caller had passed it.
 * Replacements get the same with CHOOK_KEEP_REGS (chook_install_flags()).
 *
 * Limits: functions that return twice or read their own return address
 * (setjmp, sigsetjmp, vfork, getcontext, swapcontext, and any function whose
 * entry pops or reads its return address or stores the caller's callee-saved
 * registers through its first argument) refuse an on_leave with CHOOK_ENOLEAVE:
 * attach them enter-only (they are then entered by a jump and work as usual).
 * Vector arguments wider than 16 bytes (__m256: the upper halves of ymm/zmm)
 * and long double results are passed through only while callbacks do not touch
 * the same registers.
 */

/** The context of one intercepted call, given to callbacks (opaque). */
typedef struct chook_call chook_call;

/** One attached listener (opaque). */
typedef struct chook_listener chook_listener;

/** What an on_enter callback returns. */
enum chook_enter_result {
    CHOOK_CONTINUE = 0, /**< Run the next callbacks and the original. */
    CHOOK_SKIP = 1,     /**< Do not run the original; the return value is as set. */
};

/**
 * Runs before the intercepted function.
 *
 * @param call  The call: arguments, per-call data, return value (for skipping).
 *              Valid only during the callback.
 * @param data  The `data` given to chook_attach().
 * @return CHOOK_CONTINUE, or CHOOK_SKIP (usually through chook_skip()).
 */
typedef int (*chook_enter_fn)(chook_call *call, void *data);

/**
 * Runs after the intercepted function returned (or was skipped).
 *
 * @param call  The call: return value (read/write), arguments as they were at
 *              entry (registers as saved then), per-call data.
 * @param data  The `data` given to chook_attach().
 */
typedef void (*chook_leave_fn)(chook_call *call, void *data);

/** Options of chook_attach_ex(); zero-initialise, then set what you need. */
typedef struct chook_attach_opts {
    /** Positional signature, or NULL. Letters, comma-separated: i (integer up to
     *  8 bytes), p (pointer), d (double), f (float), m<N> (aggregate of N bytes
     *  passed in memory, i.e. a by-value struct larger than 16 bytes), and a last
     *  "..." for variadic functions; then "->" and the return: i, p, d, f or v.
     *  Example: "p,i,d->i". Gives exact stack places to chook_arg*() and
     *  chook_arg_at(), and the exact size of the stack arguments. */
    const char *signature;
    /** Bytes of the caller's stack arguments passed to the original when this
     *  listener has an on_leave; 0 means: from the signature, else (no signature
     *  or "...") the caller's whole frame (see "Stack and unwinding"). Rounded
     *  up to 16, at most 4096. */
    size_t stack_bytes;
    /** sizeof(chook_attach_opts), or 0 (see "Structures and the ABI"). */
    size_t size;
} chook_attach_opts;

/**
 * Attaches a listener to `target`.
 *
 * @param target    Function to intercept (same rules as chook_install()).
 * @param on_enter  Called before each call (may be NULL).
 * @param on_leave  Called after each call (may be NULL; not both NULL).
 * @param data      Passed to both callbacks; owned by the caller, who must keep
 *                  it alive until chook_detach_wait() after chook_detach().
 * @param listener  Receives the listener handle (must not be NULL). Owned by
 *                  chook; valid until chook_detach().
 * @return CHOOK_OK; CHOOK_EINVAL (NULL target or listener, both callbacks NULL, a
 *         target inside a function rather than at its entry),
 *         CHOOK_ENOLEAVE (an on_leave on a function that returns twice or reads
 *         its own return address: setjmp, vfork, ...; attach it without
 *         on_leave), CHOOK_ENOMEM, CHOOK_EBUSY (another thread's open transaction
 *         attaches or detaches listeners of this target), CHOOK_ETXN (this thread's
 *         open transaction detaches listeners of this target), or
 *         CHOOK_ENOTSUP (the target has 256 listeners already: each costs 16
 *         bytes of stack in every call; or the target is a compiler's cold part
 *         such as foo.cold, entered by a jump, not a call), or any status of chook_install() for the
 *         first listener of a target (the target gets one hook of the core's
 *         chain for all its listeners). On failure nothing is attached.
 *
 * The listener takes effect for calls that start after this returns; calls
 * already in flight do not see it.
 *
 * Inside a transaction (chook_transaction_begin()) the listener is checked and
 * queued, and takes effect at the commit, with every other operation of the
 * transaction: one stop of the threads for a batch of attaches. The handle is
 * returned at once but valid only once the commit succeeded (after an abort or
 * a failed commit it is freed). A failing attach makes the commit fail. Listeners and replacements (chook_install)
 * coexist on one target: the listeners' hook is one link of the chain.
 *
 * Thread safety: any thread, including from inside a callback (the running call
 * keeps the listener set it started with). Not from a signal handler.
 */
CHOOK_API int chook_attach(void *target, chook_enter_fn on_enter, chook_leave_fn on_leave,
                           void *data, chook_listener **listener);

/**
 * chook_attach() with options.
 *
 * @param opts  May be NULL (same as chook_attach()).
 * @return As chook_attach(); CHOOK_EINVAL or CHOOK_ENOTSUP for a bad signature
 *         (the message names the position) or stack_bytes over 4096; CHOOK_EINVAL
 *         for a size that is neither 0 nor at least that of the original layout.
 */
CHOOK_API int chook_attach_ex(void *target, chook_enter_fn on_enter, chook_leave_fn on_leave,
                              void *data, const chook_attach_opts *opts,
                              chook_listener **listener);

/**
 * Detaches a listener.
 *
 * @param listener  From chook_attach(); stale after this returns CHOOK_OK.
 * @return CHOOK_OK; CHOOK_EINVAL (NULL, or not a listener handle);
 *         CHOOK_ENOTHOOKED (already detached: a stale handle);
 *         when it was the last listener of its target, any status of
 *         chook_remove() (the listener is detached anyway).
 *
 * Guarantee: once this returns, no on_enter of this listener runs or starts on
 * another thread: detach waits for the enter callbacks (of any listener) that
 * other threads are running at that moment, which are short by nature. Do not
 * call it while holding a lock an enter callback may take. On the calling
 * thread, a call whose enter step is under way (detach called from one of its
 * callbacks) runs no later on_enter of this listener either. on_leave callbacks
 * still run for calls whose on_enter step had already passed (each entered call
 * is completed); chook_detach_wait() waits for those. When the last listener of
 * a target goes, its hook is removed from the core's chain (the target's bytes
 * are restored when nothing else hooks it).
 *
 * Inside a transaction the detach is queued and takes effect at the commit (the
 * guarantee above holds when the commit returns); an abort keeps the listener
 * attached.
 *
 * @return Also CHOOK_EBUSY (another thread's open transaction attaches or
 *         detaches listeners of this target); CHOOK_ETXN (this thread's open
 *         transaction attaches listeners there, or attached this one).
 *
 * Thread safety: any thread, including from inside a callback (also the
 * listener's own; detaches from callbacks on two threads do not wait for each
 * other). Not from a signal handler. Once detached, the handle is stale for
 * good: detaching it again gives CHOOK_ENOTHOOKED, also after
 * chook_detach_wait() has let a newer listener reuse its record.
 */
CHOOK_API int chook_detach(chook_listener *listener);

/**
 * Waits until no callback of any listener detached before this call is running
 * or still pending (an on_leave of a call in flight), then frees chook's
 * records of them. After CHOOK_OK the callbacks' code and data may go away.
 *
 * @param timeout_ms  How long to wait at most; 0 only checks.
 * @return CHOOK_OK; CHOOK_EBUSY when a callback is still running or pending after
 *         the timeout (the message names a thread), or when called from inside a
 *         callback whose own call is one of those waited for. A call of exit(),
 *         quick_exit(), _exit(), _Exit(), abort() or pthread_exit() on the calling
 *         thread (an atexit handler or a destructor runs inside it) is not waited
 *         for: it never returns to its leave step. Its listener set is kept.
 *
 * Thread safety: any thread, not from a signal handler. A call blocked inside an
 * intercepted function (e.g. read()) keeps its on_leave pending until it returns.
 */
CHOOK_API int chook_detach_wait(unsigned timeout_ms);

/**
 * Makes intercepted calls on the calling thread bypass every listener and typed
 * listener (the functions run unobserved), or restores normal interception.
 *
 * @param ignore  1 to ignore the calling thread, 0 to stop ignoring it.
 * @return CHOOK_OK.
 *
 * Thread safety: affects only the calling thread; async-signal-safe.
 */
CHOOK_API int chook_ignore_thread(int ignore);

/* ---- accessors for callbacks (valid only during the callback) ------------- */

/**
 * The n-th integer-class argument (pointer to its slot; write to change it for
 * the original). With a signature, n still counts integer-class arguments only.
 * @return Never NULL for an intercepted function without a signature (n past the
 *         registers reads the caller's stack); NULL when n is beyond the
 *         signature's or the point's arguments.
 */
CHOOK_API uintptr_t *chook_arg(chook_call *call, unsigned n);

/** The n-th floating-class argument (a float is the low 4 bytes); as chook_arg(). */
CHOOK_API double *chook_arg_fp(chook_call *call, unsigned n);

/**
 * The argument at position `pos` of the listener's signature: a pointer to its
 * storage (a uintptr_t slot for i/p, a double slot for d/f, the aggregate itself
 * for mN). NULL without a signature or past its last fixed argument.
 */
CHOOK_API void *chook_arg_at(chook_call *call, unsigned pos);

/** The integer return value (x86-64: rax): read in on_leave, set to change it. */
CHOOK_API uintptr_t *chook_retval(chook_call *call);
/** The second integer return register (x86-64: rdx; __int128, 16-byte structs). */
CHOOK_API uintptr_t *chook_retval2(chook_call *call);
/** The floating return value (x86-64: xmm0; a float is the low 4 bytes). */
CHOOK_API double *chook_retval_fp(chook_call *call);
/** The second floating return register (x86-64: xmm1). */
CHOOK_API double *chook_retval_fp2(chook_call *call);

/**
 * This listener's private 8 bytes for this call: zero when on_enter starts, kept
 * until its on_leave returns. Each listener has its own.
 */
CHOOK_API uint64_t *chook_call_data(chook_call *call);

/**
 * For on_enter: sets the integer return value to `retval`, zeroes the other
 * return registers, and returns CHOOK_SKIP, so `return chook_skip(call, -1);`
 * skips the original. For a floating result, call chook_skip() first, then set
 * *chook_retval_fp(call) and return CHOOK_SKIP. (Before the original returns or
 * chook_skip() runs, the return registers hold unspecified values.)
 *
 * @return CHOOK_SKIP; CHOOK_EINVAL when call is NULL (an on_enter returning it
 *         lets the call run: there was nothing to skip).
 */
CHOOK_API int chook_skip(chook_call *call, uintptr_t retval);

/** 1 when an on_enter skipped this call's original, else 0. */
CHOOK_API int chook_call_skipped(const chook_call *call);

/** The intercepted function (the target given to chook_attach()). */
CHOOK_API void *chook_call_target(const chook_call *call);

/** Where this call returns in its caller (NULL when unknown). */
CHOOK_API void *chook_call_return_address(const chook_call *call);

/* ---- closure replacements ------------------------------------------------- */

/** What a closure replacement learns about the hook it runs for. */
typedef struct chook_closure {
    void *target;    /**< The hooked function. */
    void *original;  /**< Call this to run the original (or the next hook). */
    void *data;      /**< The data given to chook_replace(). */
    chook_hook *hook; /**< Its hook in the core's chain. */
} chook_closure;

/**
 * Installs `replacement` on `target` through a tiny per-hook thunk that records
 * which hook runs, so one replacement function can serve many targets, each with
 * its own data; the replacement calls chook_current() to find out.
 *
 *     static int my_open(const char *p, int f) {
 *         const chook_closure *c = chook_current();   // first thing
 *         count(c->data);
 *         return ((int (*)(const char *, int))c->original)(p, f);
 *     }
 *     chook_replace((void *)open, (void *)my_open, &open_stats, &c);
 *
 * @param target       As chook_install().
 * @param replacement  Same signature as the target; must call chook_current()
 *                     exactly once per call, before calling anything else.
 * @param data         Stored in the closure.
 * @param closure      Receives the closure (must not be NULL); owned by chook,
 *                     valid for the life of the process.
 * @return As chook_install_ex(); CHOOK_EINVAL for a NULL closure.
 *
 * Thread safety: as chook_install(). Remove with chook_remove(closure->hook).
 */
CHOOK_API int chook_replace(void *target, void *replacement, void *data,
                            const chook_closure **closure);

/**
 * chook_replace() with flags (CHOOK_KEEP_REGS: see chook_install_flags(); the
 * replacement still calls chook_current() first thing).
 *
 * @return As chook_replace(); CHOOK_EINVAL for unknown flags; CHOOK_ENOLEAVE.
 */
CHOOK_API int chook_replace_flags(void *target, void *replacement, void *data,
                                  const chook_closure **closure, unsigned flags);

/**
 * The closure of the innermost closure replacement entered on this thread that
 * has not asked yet. Call it once, first thing in the replacement: nested and
 * recursive hooks, and signal handlers running hooks in between, each get their
 * own. A few instructions; no lock.
 *
 * @return The closure; NULL when no closure replacement is waiting for it.
 *
 * Thread safety: calling thread; async-signal-safe.
 */
CHOOK_API const chook_closure *chook_current(void);

#ifdef __cplusplus
}
#endif

#endif /* CHOOK_INTERCEPT_PUBLIC_H */
