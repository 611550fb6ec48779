/*
 * chook — function hooking and interception for running Linux processes.
 *
 * Overview
 * ========
 * chook redirects any function of the running process to a replacement, lets the
 * replacement call the original, and attaches callbacks before and after a call
 * with read/write access to its arguments and return value.
 *
 *     static int (*orig_puts)(const char *);
 *     static int my_puts(const char *s) { orig_puts("[hooked]"); return orig_puts(s); }
 *
 *     if (CHOOK_INSTALL(puts, my_puts, &orig_puts) != CHOOK_OK)  // type-checked
 *         fprintf(stderr, "hook failed: %s\n", chook_last_error());
 *     puts("hello");                 // prints "[hooked]" then "hello"
 *     CHOOK_UNINSTALL(puts);         // the original bytes are back
 *
 * How it works: the first instructions of the target are relocated into a
 * trampoline (which is what `original` points to) and replaced by a jump to the
 * newest replacement, directly or through a small stub near the target. Code
 * pages never lose PROT_EXEC: code is written through /proc/self/mem. Every
 * commit stops the other threads of the process (see "Live patching" below), so
 * hooks can be installed and removed while other threads run the target.
 *
 * Sections of this header: status codes; inline hooks (install, remove,
 * transactions, probe); live patching settings; interception (listeners, the call
 * context, typed listeners, closure replacements); modules and symbols (hooks by
 * name, import hooks, vtable and slot hooks, hooks on libraries not loaded yet).
 * Two narrow headers add separable features: <chook_point.h> (hook points
 * compiled into a library's source; needs no code patching) and
 * <chook_typed_fixed.h> (typed listeners whose callbacks are fixed at compile
 * time).
 *
 * Errors
 * ======
 * Every function returns CHOOK_OK (0) or a negative CHOOK_E* status. The status
 * names the class of the failure (chook_strerror()); chook_last_error() gives a
 * message saying exactly what was wrong, for the last failure on the calling
 * thread. A failing call leaves the process exactly as it was. Like SQLite's
 * errmsg, the message belongs to the last call: a call that succeeds leaves it
 * "" (see chook_last_error() for the few functions that do not touch it).
 *
 * Handles
 * =======
 * The handles chook gives out (chook_hook *, chook_listener *, chook_import *,
 * chook_slot_hook *, chook_pending *) are opaque values, not pointers to chook's
 * records: each names an entry of chook's own handle table and the generation of
 * that entry, and every function checks a handle there before it touches
 * anything. A value chook never gave out (garbage, a handle of another kind) is
 * CHOOK_EINVAL; the handle of something removed already is "stale",
 * CHOOK_ENOTHOOKED, even when chook has since reused the record for a newer hook
 * or listener, which is never affected. Neither is ever dereferenced. A point
 * (chook_point *) is checked against the point tables of the loaded modules.
 *
 * Thread safety
 * =============
 * Every function may be called from any thread, concurrently; commits are
 * serialised by one process-wide lock. None may be called from a signal handler
 * unless its documentation says so.
 *
 * Limits (x86-64)
 * ===============
 * A target must have at least 5 bytes of relocatable instructions before the first
 * instruction that ends the function, or verifiable padding after it; no other
 * instruction of the function may jump into those bytes. See README.md,
 * "What cannot be hooked".
 */
#ifndef CHOOK_H
#define CHOOK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(CHOOK_BUILDING)
#define CHOOK_API __attribute__((visibility("default")))
#else
#define CHOOK_API
#endif

/* ============================================================================
 * Version
 * ========================================================================== */

/* The version of this header. The library's major version is its ABI: its soname
 * is libchook.so.MAJOR. Within a major version, functions, statuses, flags and
 * fields at the end of the structures below are only ever added. */
#define CHOOK_VERSION_MAJOR 0
#define CHOOK_VERSION_MINOR 1
#define CHOOK_VERSION_PATCH 0
#define CHOOK_VERSION_STRING "0.1.0"
/** Encodes a version as one comparable number: 1.2.3 is 1002003. */
#define CHOOK_MAKE_VERSION(major, minor, patch) ((major) * 1000000 + (minor) * 1000 + (patch))
/** This header's version as one number (compare with chook_version()). */
#define CHOOK_VERSION \
    CHOOK_MAKE_VERSION(CHOOK_VERSION_MAJOR, CHOOK_VERSION_MINOR, CHOOK_VERSION_PATCH)

/**
 * The version of the library running in the process, as CHOOK_VERSION encodes it;
 * it may be newer than the header the caller was compiled with (same major).
 *
 * Thread safety: any thread, async-signal-safe.
 */
CHOOK_API int chook_version(void);

/** The library's version as a static string, e.g. "0.1.0". Never NULL. */
CHOOK_API const char *chook_version_string(void);

/*
 * Structures and the ABI. Fields are only ever added at the end of a structure,
 * after a field `size` (chook_symbol: `size_of_struct`), never moved:
 * - Structures the caller fills for chook to read (chook_config,
 *   chook_attach_opts, chook_mock_opts): set `size` to sizeof the structure, or leave it 0
 *   (zero-initialise), which means the layout it had when `size` was added. A
 *   newer library reads only the fields `size` covers, so a program built against
 *   an older header keeps working.
 * - Structures chook fills (chook_probe_info, chook_symbol, chook_point_info) or
 *   hands out (chook_module, chook_pattern_match): chook sets `size` to the bytes it filled, so a
 *   field added later is present when its offset is below `size`. When the
 *   caller allocates one (chook_probe(), chook_symbol_lookup(),
 *   chook_point_get_info()), it sets `size` to sizeof before the call or
 *   zero-initialises it; a newer library writes the original layout plus only
 *   the added fields that `size` covers. Never allocate the structures chook
 *   hands out, nor copy them by value.
 */

/* ============================================================================
 * Status codes
 * ========================================================================== */

/**
 * Status codes. New codes are only ever appended; values never change.
 */
enum chook_status {
    CHOOK_OK          =   0, /**< Success. */
    CHOOK_EINVAL      =  -1, /**< An argument is invalid (NULL, out of range, ...). */
    CHOOK_ENOMEM      =  -2, /**< Out of memory, or no executable memory near the target. */
    CHOOK_EUNMAPPED   =  -3, /**< The address is not mapped in this process. */
    CHOOK_ENOTEXEC    =  -4, /**< The address is mapped but not executable. */
    CHOOK_ETOOSHORT   =  -5, /**< The function is shorter than the jump and has no usable padding. */
    CHOOK_EBRANCHIN   =  -6, /**< Some code branches into the bytes the patch would overwrite. */
    CHOOK_EUNRELOC    =  -7, /**< An instruction in the patched bytes cannot be relocated. */
    CHOOK_EDECODE     =  -8, /**< The bytes at the target do not decode as instructions, or the target is inside an instruction. */
    CHOOK_ENOTHOOKED  =  -9, /**< Nothing of that kind is installed there. */
    CHOOK_EEXIST      = -10, /**< That replacement/listener is already installed there. */
    CHOOK_ESELF       = -11, /**< The replacement is the target itself, or the target is chook's own code. */
    CHOOK_ETXN        = -12, /**< Transaction misuse (commit without begin, nested begin, ...). */
    CHOOK_EPATCH      = -13, /**< Writing code failed, or the code changed under chook. */
    CHOOK_ETHREADS    = -14, /**< Other threads could not be stopped in time. */
    CHOOK_ENOSYS      = -15, /**< The system lacks a facility chook needs. */
    CHOOK_ENOMODULE   = -16, /**< No loaded module matches the name. */
    CHOOK_ENOSYM      = -17, /**< No symbol of that name. */
    CHOOK_EAMBIGUOUS  = -18, /**< Several symbols match the name. */
    CHOOK_EBUSY       = -19, /**< The operation cannot be done from here now (e.g. wait from inside a callback). */
    CHOOK_ENOTSUP     = -20, /**< Not supported (signature, format, ...). */
    CHOOK_EINTERNAL   = -21, /**< An internal error: please report it with chook_last_error(). */
    CHOOK_ENOLEAVE    = -22, /**< The function returns twice or reads its own return address
                                  (setjmp, vfork, getcontext, dlsym, ...): it cannot be called
                                  from chook's frame (no on_leave, no CHOOK_KEEP_REGS). */
};

/**
 * Names a status code.
 *
 * @param status  Any value; unknown values give "unknown status".
 * @return A static string such as "CHOOK_EUNMAPPED: address not mapped". Never NULL.
 *
 * Thread safety: any thread, async-signal-safe.
 */
CHOOK_API const char *chook_strerror(int status);

/**
 * Describes the last failure of a chook call on the calling thread, e.g.
 * "target 0x7f12... is not executable (mapped r--p by /usr/lib/libc.so.6)".
 *
 * @return A thread-local string: the message of the last chook call on this
 *         thread if it failed, "" if it succeeded (or none was made). It stays
 *         valid until the next chook call on this thread, which overwrites it:
 *         copy it to keep it.
 *
 * Every function that returns a status sets it, including chook_probe() (whose
 * verdict is in its info) and the walkers (chook_module_each(),
 * chook_symbol_each(), chook_point_each(): on success, what their callbacks'
 * own calls left is cleared). Left untouched: chook_strerror(), this function,
 * chook_hook_active(), chook_ignore_thread() (async-signal-safe), chook_current()
 * and the accessors of a callback's call (chook_arg() ... chook_call_target()),
 * except chook_skip() when it fails.
 */
CHOOK_API const char *chook_last_error(void);

/* ============================================================================
 * Inline hooks: install, uninstall, call the original
 * ========================================================================== */

/** One installed replacement on one target (opaque). */
typedef struct chook_hook chook_hook;

/**
 * Redirects every call of `target` to `replacement`.
 *
 * @param target       Entry of the function to hook (executable memory). A point
 *                     inside a function is accepted when it starts an instruction
 *                     (CHOOK_EDECODE otherwise, when the function's symbol is
 *                     known); the replacement is then entered with that point's
 *                     registers and stack (see chook_probe_info.function_offset).
 * @param replacement  The function to run instead; same signature and calling
 *                     convention as the target.
 * @param original     Receives a callable pointer that behaves exactly like the
 *                     unhooked target (or, when the target was already hooked, runs
 *                     the previous replacement). May be NULL. Written when the hook
 *                     takes effect: before this function returns, or at
 *                     chook_transaction_commit() inside a transaction; it is written
 *                     before the target is patched, so the replacement may use it
 *                     from its first call.
 * @return CHOOK_OK; CHOOK_EINVAL (NULL target or replacement), CHOOK_ESELF
 *         (replacement == target, or a target in chook's own shared library),
 *         CHOOK_EUNMAPPED, CHOOK_ENOTEXEC, CHOOK_EDECODE
 *         (also: target inside an instruction), CHOOK_ETOOSHORT, CHOOK_EBRANCHIN
 *         (code anywhere in the target's module branches into the bytes to
 *         overwrite, or a loop goes back through the entry), CHOOK_EUNRELOC,
 *         CHOOK_EEXIST (this
 *         replacement already hooks this target), CHOOK_ENOMEM, CHOOK_EPATCH,
 *         CHOOK_ETHREADS.
 *
 * Hooking a target that is already hooked chains: the newest replacement runs
 * first and its `original` leads to the previous replacement, down to the real
 * function. Each hook can be removed on its own with chook_remove().
 *
 * The trampoline behind `original` stays valid for the life of the process, even
 * after the hook is removed: a thread still inside the replacement may call it.
 */
CHOOK_API int chook_install(void *target, void *replacement, void **original);

/**
 * chook_install() that also returns a handle to this one hook.
 *
 * @param hook  Receives the handle (may be NULL; set to NULL on failure). The
 *              handle is owned by chook and is valid until chook_remove() or
 *              chook_uninstall() of its target succeeds (or the transaction that
 *              created it is aborted or fails); after that it is stale (see
 *              "Handles").
 * @return As chook_install().
 */
CHOOK_API int chook_install_ex(void *target, void *replacement, void **original,
                               chook_hook **hook);

/** Flags of chook_install_flags() and chook_replace_flags(). */
enum chook_install_flags {
    /** The replacement runs behind a thunk that gives the caller back every
     *  register except the return registers (x86-64: rax, rdx, xmm0, xmm1) as
     *  the caller left them: rcx, rsi, rdi, r8-r11 and xmm2-15 survive the
     *  replacement whatever it does. Needed when the target's callers rely on
     *  registers the target leaves alone, which GCC's -fipa-ra (on at -O2) does
     *  for calls of functions of the same executable, or of a library built with
     *  -fno-semantic-interposition: a replacement compiled separately follows
     *  only the ABI and may clobber them. The thunk calls the replacement from a
     *  frame of its own with a copy of the caller's stack arguments (its whole
     *  frame, as for listeners with on_leave), which costs about what the
     *  dispatcher of a listener with on_leave costs without the callbacks.
     *  Refused (CHOOK_ENOLEAVE) on functions that return twice or read their
     *  own return address (setjmp, vfork, ...). The upper halves of ymm/zmm
     *  registers are not kept. */
    CHOOK_KEEP_REGS = 1,
    /** With CHOOK_KEEP_REGS: the target returns at most one integer register
     *  (rax; int, long, pointers): rdx, xmm0 and xmm1 are kept too. -fipa-ra
     *  callers do keep values there when the target leaves them alone. */
    CHOOK_KEEP_RET_INT = 2,
    /** With CHOOK_KEEP_REGS: the target returns one float or double (xmm0):
     *  rax, rdx and xmm1 are kept too. */
    CHOOK_KEEP_RET_FP = 4,
    /** With CHOOK_KEEP_REGS: the target returns nothing: every register is kept. */
    CHOOK_KEEP_RET_VOID = 8,
};

/**
 * chook_install_ex() with flags.
 *
 * @param flags  0 (exactly chook_install_ex()) or CHOOK_KEEP_REGS, optionally with
 *               one of CHOOK_KEEP_RET_INT, CHOOK_KEEP_RET_FP, CHOOK_KEEP_RET_VOID.
 * @return As chook_install_ex(); CHOOK_EINVAL for unknown flags; CHOOK_ENOLEAVE
 *         (CHOOK_KEEP_REGS on a function that returns twice or reads its own
 *         return address).
 *
 * With CHOOK_KEEP_REGS, `*original` and `*hook` behave as without it; the
 * hook's replacement is the thunk (chook_remove() the handle to remove it).
 */
CHOOK_API int chook_install_flags(void *target, void *replacement, void **original,
                                  chook_hook **hook, unsigned flags);

/**
 * Removes one hook; the other hooks of its target keep working (in any order).
 * When it was the last hook of its target, the target's original bytes are
 * restored exactly.
 *
 * @param hook  A handle from chook_install_ex() (or chook_closure.hook).
 * @return CHOOK_OK; CHOOK_EINVAL (NULL, or not a hook handle), CHOOK_ENOTHOOKED
 *         (already removed: a stale handle; also removed earlier in the same
 *         transaction), CHOOK_EPATCH, CHOOK_ETHREADS.
 */
CHOOK_API int chook_remove(chook_hook *hook);

/**
 * Removes every replacement installed on `target` (by chook_install*,
 * chook_install_name or closures) and, when nothing else hooks it, restores its
 * original bytes exactly. Listeners attached with chook_attach() keep running:
 * detach them with chook_detach().
 *
 * @return CHOOK_OK; CHOOK_EINVAL (NULL), CHOOK_ENOTHOOKED (no replacement installed
 *         there, listeners aside), CHOOK_EPATCH (the patched bytes were changed by someone else:
 *         nothing is written), CHOOK_ETHREADS.
 */
CHOOK_API int chook_uninstall(void *target);

/*
 * Type-safe forms, for C (GCC and Clang; clean under -Wpedantic). C++ has the
 * same as templates in <chook.hpp> (chook::install, ...).
 *
 *     static int (*orig_puts)(const char *);
 *     static int my_puts(const char *s) { orig_puts("[hooked]"); return orig_puts(s); }
 *     CHOOK_INSTALL(puts, my_puts, &orig_puts);   // no casts
 *     CHOOK_UNINSTALL(puts);
 *
 * CHOOK_INSTALL(target, replacement, original) is chook_install() after checking
 * at compile time that replacement has target's type and original points to a
 * pointer of that type (the build fails otherwise). CHOOK_INSTALL_EX adds the
 * hook handle. CHOOK_FN(f) is function f as the void * the other functions take
 * (a plain cast of a function to void * is a -Wpedantic warning).
 */
#define CHOOK_FN(f) ((void *)(uintptr_t)(f))
#define CHOOK__SAME_FN(target, other, what)                                               \
    _Static_assert(__builtin_types_compatible_p(__typeof__(&*(target)), __typeof__(other)), \
                   what)
#define CHOOK_INSTALL_EX(target, replacement, original, hook)                             \
    __extension__({                                                                       \
        CHOOK__SAME_FN(target, &*(replacement), "the replacement must have the target's type"); \
        CHOOK__SAME_FN(target, *(original), "original must point to a pointer of the target's type"); \
        chook_install_ex(CHOOK_FN(target), CHOOK_FN(replacement), (void **)(original), hook); \
    })
#define CHOOK_INSTALL(target, replacement, original)                                      \
    CHOOK_INSTALL_EX(target, replacement, original, (chook_hook **)0)
#define CHOOK_UNINSTALL(target) chook_uninstall(CHOOK_FN(target))

/**
 * Reports whether a handle's hook is installed (committed and not removed).
 *
 * @return 1 when installed, 0 otherwise (including NULL, stale and garbage
 *         handles).
 *
 * Thread safety: any thread; takes no lock (a few loads), so it may also be
 * called from a replacement or a callback.
 */
CHOOK_API int chook_hook_active(const chook_hook *hook);

/* ---------------------------------------------------------------------------
 * Transactions
 * ------------------------------------------------------------------------- */

/**
 * Opens a transaction on the calling thread. Until commit or abort, the calls
 * chook_install(), chook_install_ex(), chook_remove(), chook_uninstall() made on
 * this thread are checked and prepared at once (a bad target fails at the call)
 * but applied only at commit, all together. So are the calls built on them:
 * chook_install_name(), chook_uninstall_name(), chook_replace(),
 * chook_typed_attach() and chook_typed_detach(), and listeners: chook_attach(),
 * chook_attach_ex(), chook_attach_name(), chook_attach_pattern(), chook_detach().
 *
 * Any of those calls that fails on this thread while the transaction is open
 * (at any check: a NULL argument, an unknown symbol, a bad target, a stale
 * handle...) makes chook_transaction_commit() fail with its status and message
 * and apply nothing. Calls that are not part of transactions (import, slot and
 * deferred hooks, points, queries) are applied or answered at once and do not
 * affect it.
 *
 * @return CHOOK_OK; CHOOK_ETXN when this thread already has an open transaction:
 *         transactions do not nest, and the open one fails too (its commit
 *         returns CHOOK_ETXN and applies nothing), as an inner commit would
 *         otherwise apply the outer operations.
 */
CHOOK_API int chook_transaction_begin(void);

/**
 * Applies every operation of the calling thread's transaction at once: either all
 * take effect, or none does and the process is as before. One stop of the other
 * threads covers the whole transaction, so a commit of 10,000 hooks is cheap.
 *
 * @return CHOOK_OK; CHOOK_ETXN (no open transaction); otherwise the status of the
 *         first operation that failed, at its call or at commit, with
 *         chook_last_error() naming its target. The transaction is closed in every
 *         case.
 */
CHOOK_API int chook_transaction_commit(void);

/**
 * Discards the calling thread's transaction; nothing of it is applied.
 *
 * @return CHOOK_OK; CHOOK_ETXN when no transaction is open.
 */
CHOOK_API int chook_transaction_abort(void);

/* ---------------------------------------------------------------------------
 * Probe: can this be hooked, and how?
 * ------------------------------------------------------------------------- */

/** The kind of jump a hook writes at its target. */
enum chook_jump_kind {
    CHOOK_JUMP_NONE = 0,  /**< Not hookable. */
    CHOOK_JUMP_REL32 = 1, /**< 5-byte jmp rel32 to a stub within +-2 GiB. */
    CHOOK_JUMP_ABS64 = 2, /**< 14-byte absolute jump (no memory near the target). */
};

/** What chook_probe() found. */
typedef struct chook_probe_info {
    int status;              /**< What chook_install() would return now (CHOOK_OK when hookable). */
    void *patch_address;     /**< First byte that would be overwritten. */
    size_t skipped;          /**< Bytes kept at the entry (e.g. 4 for endbr64). */
    size_t patch_size;       /**< Bytes that would be overwritten (whole instructions). */
    size_t padding_used;     /**< Of those, bytes of padding after a short function. */
    unsigned instructions;   /**< Instructions relocated into the trampoline. */
    size_t trampoline_size;  /**< Bytes of relocated code plus the jump back. */
    enum chook_jump_kind jump; /**< Jump that would be written. */
    int hooked;              /**< 1 when chook already hooks this target. */
    char reason[192];        /**< Why not, when status != CHOOK_OK. When hookable: "" at a
                                  function's entry, a note for a point inside a function
                                  (see function_offset). */
    size_t size;             /**< In: sizeof(chook_probe_info), or 0 (see "Structures and
                                  the ABI"). Out: the bytes chook filled. */
    size_t function_offset;  /**< Bytes from the start of the function symbol that holds
                                  the target: 0 at its entry (or when no symbol is known).
                                  Otherwise the target is inside a function: only at an
                                  instruction boundary, only for chook_install() (listeners
                                  are refused), and the replacement runs with the
                                  registers and stack of that point, not a call's.
                                  Written when `size` covers it. */
} chook_probe_info;

/**
 * Says whether and how `target` can be hooked, without changing anything.
 *
 * @param target  Address to examine (need not be valid).
 * @param info    Filled in full in every case where it is not NULL.
 * @return CHOOK_OK when the probe ran (see info->status for the verdict);
 *         CHOOK_EINVAL when info is NULL.
 */
CHOOK_API int chook_probe(const void *target, chook_probe_info *info);

/* ---------------------------------------------------------------------------
 * Live patching
 * ------------------------------------------------------------------------- */

/** Process-wide settings; see chook_configure(). */
typedef struct chook_config {
    /** Signal used to park other threads during a commit; 0 (the default) lets
     *  chook choose: the signal the C library keeps for itself and never lets a
     *  thread block through its own functions (glibc: 33, musl: 34), else the
     *  highest real-time signal whose disposition is SIG_DFL. A real-time signal
     *  set here (SIGRTMIN..SIGRTMAX) is used instead; threads that block it cannot
     *  be parked (README, "Live patching"). */
    int signal;
    /** How long a commit waits for every thread to park, in milliseconds (default
     *  1000). A thread that has not parked by then (it blocks the signal, or is
     *  stuck in the kernel) makes the commit fail with CHOOK_ETHREADS. */
    unsigned stop_timeout_ms;
    /** sizeof(chook_config), or 0 (see "Structures and the ABI"). */
    size_t size;
} chook_config;

/**
 * Changes process-wide settings. Fields left 0 keep their current value.
 *
 * @return CHOOK_OK; CHOOK_EINVAL (NULL, a signal that is not a real-time signal, or a
 *         size that is neither 0 nor at least that of the original layout).
 */
CHOOK_API int chook_configure(const chook_config *config);

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

/* ---- typed listeners ------------------------------------------------------ */

/* A generic function pointer, for the typed listener machinery. */
typedef void (*chook_fn)(void);

/** A typed listener (see CHOOK_TYPED). */
typedef struct chook_typed {
    chook_closure closure;  /**< Its closure replacement; closure.data is the user data. */
    chook_fn prolog;        /**< Cast to the generated prolog type, or NULL. */
    chook_fn epilog;        /**< Cast to the generated epilog type, or NULL. */
} chook_typed;

/* Per-thread state read inline by the CHOOK_TYPED replacements, which reach it
 * through chook_typed_thread() (for the macros only: use the functions above).
 * ring holds the closures entered but not yet asked for (see chook_current());
 * busy counts callbacks running on the thread. Its layout is part of the ABI. */
#define CHOOK__CLOSURE_RING 16
typedef struct chook__thread_state {
    uint64_t ring_pos;   /* bytes pushed on ring */
    uint32_t busy;       /* callbacks running on this thread */
    uint32_t ignore;     /* chook_ignore_thread() */
    const chook_closure *ring[CHOOK__CLOSURE_RING];
} chook__thread_state;

/**
 * The calling thread's state, for the code CHOOK_TYPED generates (not for direct
 * use). Never NULL; the same pointer for the life of the thread.
 *
 * Thread safety: calling thread; async-signal-safe once the thread has made one
 * intercepted call.
 */
CHOOK_API chook__thread_state *chook_typed_thread(void) __attribute__((const));

/* chook_current(), inline. */
static inline const chook_closure *chook__closure_pop(chook__thread_state *t)
{
    uint64_t pos = t->ring_pos - sizeof(void *);
    const chook_closure *c = t->ring[(pos / sizeof(void *)) % CHOOK__CLOSURE_RING];
    __asm__ volatile("" ::: "memory"); /* read the entry before giving up its place */
    t->ring_pos = pos;
    return c;
}

/**
 * Installs a typed listener: `replacement` is the NAME_replacement function
 * generated by CHOOK_TYPED(NAME, ...). Use NAME_attach() instead.
 *
 * @param target, prolog, epilog, data  As the generated NAME_attach().
 * @param out  Receives the handle (must not be NULL); owned by chook, valid for
 *             the life of the process.
 * @return As chook_replace(); CHOOK_EINVAL when both callbacks are NULL.
 */
CHOOK_API int chook_typed_attach(void *target, void *replacement, chook_fn prolog,
                                 chook_fn epilog, void *data, chook_typed **out);

/**
 * Detaches a typed listener: calls starting after this returns do not run its
 * callbacks. Callbacks already running finish on their own.
 * @return As chook_remove().
 */
CHOOK_API int chook_typed_detach(chook_typed *typed);

/*
 * CHOOK_TYPED(NAME, R, A0, A1, ...) — a typed listener for functions
 * `R f(A0, A1, ...)` (1 to 10 arguments; R not void; see CHOOK_TYPED_VOID).
 * It defines, at file scope:
 *
 *   typedef int  (*NAME_prolog)(A0 *a0, A1 *a1, ..., R *ret, uint64_t *call_data, void *data);
 *   typedef void (*NAME_epilog)(R *ret, uint64_t *call_data, void *data);
 *   R NAME_replacement(A0, A1, ...);   (static)
 *   int NAME_attach(void *target, NAME_prolog, NAME_epilog, void *data, chook_typed **out);
 *
 * The prolog gets a typed pointer to each argument (write to change what the
 * original receives) and to the return value (set it and return CHOOK_SKIP to
 * skip the original); the epilog gets a typed pointer to the return value.
 * call_data is 8 bytes shared by the pair for one call, zero at the start. No
 * argument is boxed: the replacement has the target's own signature.
 * Re-entrancy and chook_ignore_thread() behave as for listeners. Several typed
 * listeners on one target chain (the newest runs first).
 */
#define CHOOK__NARGS(...) CHOOK__NARGS_(__VA_ARGS__, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define CHOOK__NARGS_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, N, ...) N
#define CHOOK__CAT(a, b) CHOOK__CAT_(a, b)
#define CHOOK__CAT_(a, b) a##b
/* Positional expansions, written out: the index of each argument is fixed. */
#define CHOOK__P1(M, a) M(a, 0)
#define CHOOK__P2(M, a, b) M(a, 0), M(b, 1)
#define CHOOK__P3(M, a, b, c) CHOOK__P2(M, a, b), M(c, 2)
#define CHOOK__P4(M, a, b, c, d) CHOOK__P3(M, a, b, c), M(d, 3)
#define CHOOK__P5(M, a, b, c, d, e) CHOOK__P4(M, a, b, c, d), M(e, 4)
#define CHOOK__P6(M, a, b, c, d, e, f) CHOOK__P5(M, a, b, c, d, e), M(f, 5)
#define CHOOK__P7(M, a, b, c, d, e, f, g) CHOOK__P6(M, a, b, c, d, e, f), M(g, 6)
#define CHOOK__P8(M, a, b, c, d, e, f, g, h) CHOOK__P7(M, a, b, c, d, e, f, g), M(h, 7)
#define CHOOK__P9(M, a, b, c, d, e, f, g, h, i) CHOOK__P8(M, a, b, c, d, e, f, g, h), M(i, 8)
#define CHOOK__P10(M, a, b, c, d, e, f, g, h, i, j) CHOOK__P9(M, a, b, c, d, e, f, g, h, i), M(j, 9)
#define CHOOK__EACH(M, ...) CHOOK__CAT(CHOOK__P, CHOOK__NARGS(__VA_ARGS__))(M, __VA_ARGS__)
#define CHOOK__PARAM(T, i) T a##i
#define CHOOK__PTR(T, i) T *
#define CHOOK__ADDR(T, i) &a##i
#define CHOOK__NAME(T, i) a##i

#define CHOOK__TYPED_COMMON(NAME, ...)                                                   \
    static __attribute__((unused)) int NAME##_attach(void *target, NAME##_prolog prolog, \
                                                     NAME##_epilog epilog, void *data,   \
                                                     chook_typed **out)                  \
    {                                                                                    \
        return chook_typed_attach(target, (void *)NAME##_replacement, (chook_fn)prolog,  \
                                  (chook_fn)epilog, data, out);                          \
    }

/* The replacement behind CHOOK_TYPED and CHOOK_TYPED_FIXED (chook_typed_fixed.h):
 * PRO and EPI are expressions for the prolog and epilog (of types NAME_prolog and
 * NAME_epilog, NULL for none), evaluated in the replacement where c_ is the
 * running closure. */
#define CHOOK__TYPED_REPLACEMENT(NAME, PRO, EPI, R, ...)                                 \
    static R NAME##_replacement(CHOOK__EACH(CHOOK__PARAM, __VA_ARGS__))                   \
    {                                                                                     \
        chook__thread_state *ts_ = chook_typed_thread();                                  \
        const chook_closure *c_ = chook__closure_pop(ts_);                                \
        R (*orig_)(__VA_ARGS__) = (R (*)(__VA_ARGS__))c_->original;                       \
        if (ts_->busy | ts_->ignore) return orig_(CHOOK__EACH(CHOOK__NAME, __VA_ARGS__)); \
        const NAME##_prolog pro_ = PRO;                                                   \
        const NAME##_epilog epi_ = EPI;                                                   \
        uint64_t cd_ = 0;                                                                 \
        R r_;                                                                             \
        __builtin_memset(&r_, 0, sizeof r_);                                              \
        int s_ = CHOOK_CONTINUE;                                                          \
        if (pro_) {                                                                       \
            ++ts_->busy;                                                                  \
            s_ = pro_(CHOOK__EACH(CHOOK__ADDR, __VA_ARGS__), &r_, &cd_, c_->data);        \
            --ts_->busy;                                                                  \
        }                                                                                 \
        if (s_ != CHOOK_SKIP) r_ = orig_(CHOOK__EACH(CHOOK__NAME, __VA_ARGS__));          \
        if (epi_) {                                                                       \
            ++ts_->busy;                                                                  \
            epi_(&r_, &cd_, c_->data);                                                    \
            --ts_->busy;                                                                  \
        }                                                                                 \
        return r_;                                                                        \
    }

/* The same for functions returning void. */
#define CHOOK__TYPED_REPLACEMENT_VOID(NAME, PRO, EPI, ...)                               \
    static void NAME##_replacement(CHOOK__EACH(CHOOK__PARAM, __VA_ARGS__))                \
    {                                                                                     \
        chook__thread_state *ts_ = chook_typed_thread();                                  \
        const chook_closure *c_ = chook__closure_pop(ts_);                                \
        void (*orig_)(__VA_ARGS__) = (void (*)(__VA_ARGS__))c_->original;                 \
        if (ts_->busy | ts_->ignore) {                                                    \
            orig_(CHOOK__EACH(CHOOK__NAME, __VA_ARGS__));                                 \
            return;                                                                       \
        }                                                                                 \
        const NAME##_prolog pro_ = PRO;                                                   \
        const NAME##_epilog epi_ = EPI;                                                   \
        uint64_t cd_ = 0;                                                                 \
        int s_ = CHOOK_CONTINUE;                                                          \
        if (pro_) {                                                                       \
            ++ts_->busy;                                                                  \
            s_ = pro_(CHOOK__EACH(CHOOK__ADDR, __VA_ARGS__), &cd_, c_->data);             \
            --ts_->busy;                                                                  \
        }                                                                                 \
        if (s_ != CHOOK_SKIP) orig_(CHOOK__EACH(CHOOK__NAME, __VA_ARGS__));               \
        if (epi_) {                                                                       \
            ++ts_->busy;                                                                  \
            epi_(&cd_, c_->data);                                                         \
            --ts_->busy;                                                                  \
        }                                                                                 \
    }

/* The callbacks of a CHOOK_TYPED listener, chosen at attach time (chook_typed
 * starts with its closure, so c_ is the chook_typed). */
#define CHOOK__TYPED_PROLOG(NAME) ((NAME##_prolog)((const chook_typed *)c_)->prolog)
#define CHOOK__TYPED_EPILOG(NAME) ((NAME##_epilog)((const chook_typed *)c_)->epilog)

#define CHOOK_TYPED(NAME, R, ...)                                                         \
    typedef int (*NAME##_prolog)(CHOOK__EACH(CHOOK__PTR, __VA_ARGS__), R *, uint64_t *,   \
                                 void *);                                                 \
    typedef void (*NAME##_epilog)(R *, uint64_t *, void *);                               \
    CHOOK__TYPED_REPLACEMENT(NAME, CHOOK__TYPED_PROLOG(NAME), CHOOK__TYPED_EPILOG(NAME),  \
                             R, __VA_ARGS__)                                              \
    CHOOK__TYPED_COMMON(NAME, __VA_ARGS__)

/*
 * CHOOK_TYPED_VOID(NAME, A0, A1, ...) — as CHOOK_TYPED for functions returning
 * void:
 *   typedef int  (*NAME_prolog)(A0 *a0, ..., uint64_t *call_data, void *data);
 *   typedef void (*NAME_epilog)(uint64_t *call_data, void *data);
 */
#define CHOOK_TYPED_VOID(NAME, ...)                                                       \
    typedef int (*NAME##_prolog)(CHOOK__EACH(CHOOK__PTR, __VA_ARGS__), uint64_t *,        \
                                 void *);                                                 \
    typedef void (*NAME##_epilog)(uint64_t *, void *);                                    \
    CHOOK__TYPED_REPLACEMENT_VOID(NAME, CHOOK__TYPED_PROLOG(NAME),                        \
                                  CHOOK__TYPED_EPILOG(NAME), __VA_ARGS__)                 \
    CHOOK__TYPED_COMMON(NAME, __VA_ARGS__)

/* ============================================================================
 * Modules and symbols: find functions by name
 * ========================================================================== */

/**
 * One loaded module: the main program, a shared library or the vDSO.
 *
 * Ownership: the strings and the structure are owned by chook and stay valid
 * until the module is unloaded (dlclose); copy what you keep longer.
 */
typedef struct chook_module {
    const char *path;   /**< File it was loaded from: the real path of the program
                             for the main program, as the loader named it for a
                             library; the loader's name for the vDSO. Never NULL. */
    const char *name;   /**< Its file name (the last component of path). */
    const char *soname; /**< Its DT_SONAME, "" when it has none. */
    void *base;         /**< Load bias: runtime address = base + ELF address. */
    void *start;        /**< Lowest address of its loaded segments. */
    void *end;          /**< End of its highest loaded segment. */
    int is_main;        /**< 1 for the main program, 0 otherwise. */
    size_t size;        /**< Bytes of this structure chook filled (see "Structures
                             and the ABI"). */
} chook_module;

/** Called for each module by chook_module_each(); return non-zero to stop. */
typedef int (*chook_module_fn)(const chook_module *module, void *data);

/**
 * Calls `fn` for every loaded module, in load order (the main program first), as
 * dl_iterate_phdr() sees them.
 *
 * @param fn    The callback. It runs with no chook lock held: it may call any
 *              chook function, including hooking.
 * @param data  Passed to fn unchanged.
 * @return CHOOK_OK (also when fn stopped the walk early); CHOOK_EINVAL (NULL fn);
 *         CHOOK_ENOMEM.
 *
 * Thread safety: any thread. A module loaded or unloaded concurrently may or may
 * not be seen.
 */
CHOOK_API int chook_module_each(chook_module_fn fn, void *data);

/**
 * Finds a loaded module by name.
 *
 * @param name    The module's path (exactly as loaded, or as a real path), its file
 *                name, its soname, or one of those without the trailing version
 *                numbers ("libz.so" names "libz.so.1"). "" names the main program.
 * @param module  Receives the module (see chook_module for its lifetime).
 * @return CHOOK_OK; CHOOK_EINVAL (NULL argument); CHOOK_ENOMODULE (no loaded module
 *         of that name); CHOOK_EAMBIGUOUS (several different files match: the
 *         message lists them).
 */
CHOOK_API int chook_module_find(const char *name, const chook_module **module);

/** Flags of a chook_symbol. */
enum chook_symbol_flags {
    CHOOK_SYMBOL_FUNCTION = 1 << 0, /**< Code (STT_FUNC or STT_GNU_IFUNC). */
    CHOOK_SYMBOL_OBJECT   = 1 << 1, /**< Data (STT_OBJECT), e.g. a C++ vtable. */
    CHOOK_SYMBOL_EXPORTED = 1 << 2, /**< In .dynsym with global or weak binding: other
                                         modules can link to it. */
    CHOOK_SYMBOL_LOCAL    = 1 << 3, /**< Local binding (a static function): known only
                                         from .symtab or the separate debug file. */
    CHOOK_SYMBOL_IFUNC    = 1 << 4, /**< A GNU indirect function: address is the
                                         implementation the resolver selected. */
    CHOOK_SYMBOL_DEBUG    = 1 << 5, /**< Found only in the separate debug file. */
};

/**
 * One symbol of a loaded module.
 *
 * Ownership: owned by chook, valid until its module is unloaded.
 */
typedef struct chook_symbol {
    const char *name;            /**< Name as in the symbol table (mangled for C++),
                                      without a version suffix. */
    void *address;               /**< Runtime address; for an IFUNC, the selected
                                      implementation (strlen -> __strlen_avx2). */
    size_t size;                 /**< Size in bytes from the symbol table (for an
                                      IFUNC, that of the implementation when known);
                                      0 when unknown. */
    unsigned flags;              /**< CHOOK_SYMBOL_* bits. */
    void *resolver;              /**< For an IFUNC, its resolver; NULL otherwise. */
    const chook_module *module;  /**< The module that defines it. */
    size_t size_of_struct;       /**< Bytes of this structure chook filled (see
                                      "Structures and the ABI"); `size` is the
                                      symbol's. */
} chook_symbol;

/**
 * Resolves a symbol by name.
 *
 * Exported symbols (.dynsym, default version) are searched first, as the dynamic
 * linker would; then local ones (the .symtab of the module's file on disk, or of
 * its separate debug file found by build-id under /usr/lib/debug/.build-id/ or by
 * .gnu_debuglink). Of a versioned symbol, the default version is found. A GNU
 * IFUNC resolves to the implementation selected for this CPU (its resolver is
 * called, as the dynamic linker does).
 *
 * @param module  Module name as for chook_module_find(); NULL searches every module
 *                in load order (the first exported definition wins, as for
 *                dlsym(RTLD_DEFAULT)).
 * @param name    Symbol name (mangled for C++).
 * @param symbol  Receives the symbol (may be NULL).
 * @param address Receives its runtime address (may be NULL).
 * @return CHOOK_OK; CHOOK_EINVAL (NULL name); CHOOK_ENOMODULE; CHOOK_ENOSYM (no
 *         such symbol: the message names the tables searched); CHOOK_EAMBIGUOUS
 *         (no exported definition and several local symbols of that name at
 *         different addresses: the message lists each with its module and
 *         address; name the module to choose).
 *
 * Thread safety: any thread. The first lookup in a module parses its ELF file
 * (and debug file); later lookups use the cached tables.
 */
CHOOK_API int chook_symbol_lookup(const char *module, const char *name,
                                  chook_symbol *symbol, void **address);

/** Called for each symbol by chook_symbol_each(); return non-zero to stop. */
typedef int (*chook_symbol_fn)(const chook_symbol *symbol, void *data);

/**
 * Enumerates the functions of the loaded modules whose names match a pattern.
 *
 * @param pattern  "MODULE:SYMBOL", both fnmatch(3) globs, e.g. "libz.so*:deflate*";
 *                 or "SYMBOL" alone for every module. MODULE is tried against each
 *                 module's path, file name and soname; "" before the colon is the
 *                 main program. Functions are the defined STT_FUNC and
 *                 STT_GNU_IFUNC symbols, exported and local; a function known
 *                 under several names is reported once per name; symbols of old
 *                 (non-default) versions are not reported.
 * @param fn       Called once per matching function, in module load order and by
 *                 name within a module; it runs with no chook lock held and may
 *                 install hooks (e.g. inside a transaction).
 * @param data     Passed to fn unchanged.
 * @return CHOOK_OK (also when fn stopped early); CHOOK_EINVAL (NULL argument);
 *         CHOOK_ENOMODULE (no module matches MODULE); CHOOK_ENOSYM (no function
 *         matched); CHOOK_ENOMEM.
 *
 * Thread safety: any thread.
 */
CHOOK_API int chook_symbol_each(const char *pattern, chook_symbol_fn fn, void *data);

/** Flags of chook_symbol_each_ex() and chook_attach_pattern(). */
enum chook_each_flags {
    /** Only exported functions (in .dynsym, global or weak binding): what other
     *  modules can call. Without it a module's local and hidden functions are
     *  reported too (all of libc's internal ones once its debug file is
     *  installed); tracers want this flag for libraries. */
    CHOOK_EACH_EXPORTED = 1 << 0,
    /** A symbol pattern also matches the compiler's clones of the names it
     *  matches: "foo" finds foo.constprop.0, foo.isra.0, foo.part.0, foo.cold,
     *  foo.lto_priv.0 (GCC) and foo.llvm.N (Clang) besides foo. A clone may take
     *  other parameters than the function it copies (constprop and isra drop or
     *  split them); a .cold part is not a function entry at all. */
    CHOOK_EACH_CLONES = 1 << 1,
};

/**
 * chook_symbol_each() with flags.
 *
 * @param pattern, fn, data  As chook_symbol_each().
 * @param flags    CHOOK_EACH_* bits; 0 is chook_symbol_each().
 * @return As chook_symbol_each(); CHOOK_EINVAL for unknown flags.
 *
 * Thread safety: any thread.
 */
CHOOK_API int chook_symbol_each_ex(const char *pattern, unsigned flags, chook_symbol_fn fn,
                                   void *data);

/* ---------------------------------------------------------------------------
 * Hooks by name
 * ------------------------------------------------------------------------- */

/**
 * chook_install_ex() on a function found by name with chook_symbol_lookup().
 *
 *     static int (*orig_deflate)(z_streamp, int);
 *     chook_install_name("libz.so.1", "deflate", my_deflate, (void **)&orig_deflate, NULL);
 *
 * @param module       Module name as for chook_module_find(); NULL for any module.
 * @param symbol       Function name (exported, or local from .symtab / debug file).
 * @param replacement  As chook_install().
 * @param original     As chook_install() (may be NULL).
 * @param hook         As chook_install_ex() (may be NULL).
 * @return CHOOK_OK; CHOOK_EINVAL (NULL symbol or replacement); any status of
 *         chook_symbol_lookup() (CHOOK_ENOMODULE, CHOOK_ENOSYM, CHOOK_EAMBIGUOUS)
 *         or of chook_install_ex(), whose message is prefixed with
 *         "module:symbol: ". Inside a transaction, applied at commit.
 *
 * A module that is not loaded gives CHOOK_ENOMODULE; to hook it when it gets
 * loaded, see chook_install_deferred().
 */
CHOOK_API int chook_install_name(const char *module, const char *symbol, void *replacement,
                                 void **original, chook_hook **hook);

/**
 * chook_uninstall() on a function found by name.
 *
 * @return CHOOK_OK; CHOOK_EINVAL (NULL symbol); any status of chook_symbol_lookup()
 *         or chook_uninstall().
 */
CHOOK_API int chook_uninstall_name(const char *module, const char *symbol);

/**
 * chook_attach_ex() on a function found by name with chook_symbol_lookup().
 *
 *     chook_attach_name("libc.so.6", "open", on_enter, on_leave, NULL, NULL, &l);
 *
 * @param module    Module name as for chook_module_find(); NULL for any module.
 * @param symbol    Function name.
 * @param on_enter, on_leave, data, opts, listener  As chook_attach_ex() (opts may
 *                  be NULL).
 * @return CHOOK_OK; CHOOK_EINVAL (NULL symbol); any status of chook_symbol_lookup()
 *         or of chook_attach_ex(), whose message is prefixed with "module:symbol: ".
 *         Detach with chook_detach().
 */
CHOOK_API int chook_attach_name(const char *module, const char *symbol, chook_enter_fn on_enter,
                                chook_leave_fn on_leave, void *data,
                                const chook_attach_opts *opts, chook_listener **listener);

/** One function matched by chook_attach_pattern(). */
typedef struct chook_pattern_match {
    const chook_symbol *symbol; /**< The function; valid during the callback only
                                    (its strings and module: while the module is
                                    loaded). */
    size_t base_len;           /**< Length of symbol->name without a compiler clone
                                    suffix (".constprop.0", ".isra.0", ".part.0",
                                    ".cold"...); strlen(symbol.name) when none. */
    void *data;                /**< Given to the listener's callbacks: the `data` of
                                    chook_attach_pattern(), which `select` may
                                    replace for this function. */
    chook_listener *listener;  /**< Its listener when attached, else NULL. */
    int status;                /**< CHOOK_OK when attached; else why not:
                                    CHOOK_EEXIST (an alias of a function matched
                                    before: `reason` names it), CHOOK_ENOTSUP (a
                                    cold part: entered by a jump, not a call),
                                    CHOOK_ENOLEAVE (on_leave was given and the
                                    function returns twice or reads its own return
                                    address: skipped, the others are attached), a
                                    chook_probe() refusal (skipped the same way), or
                                    what chook_attach_ex() / the commit answered. */
    char reason[192];          /**< The failure's message; "" when attached. */
    size_t size;               /**< Bytes of this structure chook filled (see
                                    "Structures and the ABI"). Handed out by chook:
                                    never allocate or copy one. */
} chook_pattern_match;

/** Called by chook_attach_pattern() for each match; see there. */
typedef int (*chook_pattern_fn)(chook_pattern_match *match, void *arg);

/**
 * Attaches a listener to every function whose name matches a pattern, all in
 * one transaction: the threads are stopped once for the whole batch.
 *
 *     size_t n;
 *     chook_attach_pattern("libc.so.6:open*", CHOOK_EACH_EXPORTED, on_enter, on_leave,
 *                          NULL, NULL, NULL, report, NULL, &n);
 *
 * A function known under several names (open and open64) is attached once, under
 * the first name in module order; the others are reported with CHOOK_EEXIST.
 * Functions that cannot be hooked (chook_probe() says why) are reported and
 * skipped; the others are attached.
 *
 * @param pattern   As chook_symbol_each() ("MODULE:SYMBOL" globs).
 * @param flags     CHOOK_EACH_* bits (CHOOK_EACH_EXPORTED for libraries is what a
 *                  tracer wants; CHOOK_EACH_CLONES reaches the compiler's clones).
 * @param on_enter, on_leave, opts  As chook_attach_ex(), for every function.
 * @param data      Default data of every listener (see chook_pattern_match.data).
 * @param select    Called for each match before anything is attached, with
 *                  status CHOOK_OK (may be NULL: every match is taken): return 0 to
 *                  leave the function alone (exclusions), non-zero to attach it;
 *                  it may set match->data.
 * @param report    Called once for each selected match after the commit, with
 *                  listener, status and reason filled in (may be NULL). Matches
 *                  not selected are not reported.
 * @param arg       Passed to select and report.
 * @param attached  Receives the number of listeners attached (may be NULL).
 * @return CHOOK_OK when the transaction was committed (some functions may have
 *         been skipped: see report and *attached); CHOOK_EINVAL (NULL pattern,
 *         bad flags, both callbacks NULL); CHOOK_ENOMODULE, CHOOK_ENOSYM (nothing
 *         matches); CHOOK_ENOMEM; or what the commit answered (then nothing is
 *         attached and every report says so). When the calling thread has a
 *         transaction open, the listeners join it and take effect at its commit
 *         (the report then says "queued": status CHOOK_OK).
 *
 * Detach each listener with chook_detach() (inside one transaction to stop the
 * threads once).
 *
 * Thread safety: any thread; not from a callback of a listener.
 */
CHOOK_API int chook_attach_pattern(const char *pattern, unsigned flags, chook_enter_fn on_enter,
                                   chook_leave_fn on_leave, void *data,
                                   const chook_attach_opts *opts, chook_pattern_fn select,
                                   chook_pattern_fn report, void *arg, size_t *attached);

/* ---------------------------------------------------------------------------
 * Import hooks: redirect the calls one module makes
 * ------------------------------------------------------------------------- */

/** One redirected import (opaque). */
typedef struct chook_import chook_import;

/**
 * Redirects the calls that one module makes to an imported function, by rewriting
 * that module's GOT entries for it (its JUMP_SLOT entries, used by its PLT, and
 * its GLOB_DAT entries, used by -fno-plt calls and when it takes the function's
 * address). Calls from every other module, and calls the defining module makes to
 * itself, are untouched; the function's code is not modified.
 *
 *     static void *(*orig_malloc)(size_t);
 *     chook_import_install("libfoo.so", "malloc", foo_malloc, (void **)&orig_malloc, &h);
 *
 * @param module       The importing module, named as for chook_module_find() ("" is
 *                     the main program). Must not be NULL.
 * @param symbol       The imported function's name.
 * @param replacement  Called instead by that module.
 * @param original     Receives the function the module's calls reached before
 *                     (may be NULL). For an entry not yet bound by lazy binding,
 *                     the definition the dynamic linker would bind. Written before
 *                     any entry is rewritten.
 * @param handle       Receives the handle (may be NULL; then it cannot be removed).
 *                     Owned by chook, valid until chook_import_remove() succeeds.
 * @return CHOOK_OK; CHOOK_EINVAL (NULL module, symbol or replacement);
 *         CHOOK_ENOMODULE, CHOOK_EAMBIGUOUS (module name); CHOOK_ENOSYM (the module
 *         does not import that symbol, or nothing defines it); CHOOK_EEXIST (this
 *         replacement already redirects it); CHOOK_ESELF (replacement is the
 *         function itself); CHOOK_ENOTSUP (no dynamic section, REL relocations);
 *         CHOOK_EPATCH (an entry changed under chook, or its page could not be made
 *         writable). On failure every entry is as before.
 *
 * Each entry is replaced by one atomic store, so other threads calling through it
 * see the old or the new function, never a torn pointer; no thread is stopped. A
 * read-only GOT (BIND_NOW with RELRO) is made writable for that store and given
 * back its exact protection. Not part of transactions: applied at once.
 *
 * Several import hooks on one symbol of one module chain (the newest runs first,
 * its original is the previous replacement) and must be removed newest first.
 * Limit: a thread that is lazily binding that very entry at the moment of the
 * install may overwrite it with the real function; bind eagerly (-z now or
 * LD_BIND_NOW) or call the function once first where that matters.
 *
 * Thread safety: any thread.
 */
CHOOK_API int chook_import_install(const char *module, const char *symbol, void *replacement,
                                   void **original, chook_import **handle);

/**
 * Puts back the GOT entries an import hook rewrote, as they were.
 *
 * @param handle  From chook_import_install(); stale after CHOOK_OK.
 * @return CHOOK_OK (also when the module was unloaded meanwhile: nothing is left to
 *         restore); CHOOK_EINVAL (NULL, or not an import hook handle);
 *         CHOOK_ENOTHOOKED (removed already: a stale handle); CHOOK_EBUSY (a newer import hook on the same entries
 *         must be removed first); CHOOK_EPATCH (an entry was changed by someone
 *         else: every entry is left as it was).
 */
CHOOK_API int chook_import_remove(chook_import *handle);

/* ---------------------------------------------------------------------------
 * Function-pointer slots: ops structs and C++ virtual methods
 * ------------------------------------------------------------------------- */

/** One replaced function pointer (opaque). */
typedef struct chook_slot_hook chook_slot_hook;

/**
 * Replaces a function pointer in memory: a field of a C ops/vtable struct (e.g.
 * `&my_ops.read`), or any other slot that callers load before calling.
 *
 * @param slot         Address of the pointer (8-byte aligned, readable). It may be
 *                     on a read-only page (const ops in .data.rel.ro, after RELRO):
 *                     the page is made writable for the store only and given back
 *                     its exact protection.
 * @param replacement  The function to store.
 * @param original     Receives the pointer the slot held (may be NULL); written
 *                     before the slot.
 * @param handle       Receives the handle (may be NULL). Owned by chook, valid until
 *                     chook_slot_remove() succeeds.
 * @return CHOOK_OK; CHOOK_EINVAL (NULL, misaligned or unreadable slot);
 *         CHOOK_EUNMAPPED; CHOOK_EEXIST (this replacement already hooks the slot);
 *         CHOOK_ESELF (the slot already holds replacement); CHOOK_EPATCH (the slot
 *         changed under chook, or its page could not be made writable); CHOOK_ENOMEM.
 *
 * The slot is replaced by one atomic compare-and-swap: a concurrent caller loads
 * the old or the new pointer. Hooks on one slot chain (the newest runs first, its
 * original is the previous replacement) and are removed newest first. Applied at
 * once, not part of transactions.
 *
 * Thread safety: any thread.
 */
CHOOK_API int chook_slot_install(void **slot, void *replacement, void **original,
                                 chook_slot_hook **handle);

/**
 * Replaces a C++ virtual method for every object of a class: slot `index` of the
 * vtable that `object`'s vptr points to (Itanium C++ ABI, as used by GCC and Clang
 * on Linux). Every object whose vptr points to that vtable is affected: objects of
 * exactly that class (for a base-class subobject, the vtable of that subobject).
 *
 * @param object       A live object of the class (or a base subobject pointer).
 * @param index        The slot: use chook_vtable_index(&Class::method) in C++.
 * @param replacement  A function taking the object pointer (`this`) first, then
 *                     the method's parameters.
 * @param original     Receives the method's previous implementation (may be NULL);
 *                     call it with the same `this`.
 * @param handle       As chook_slot_install().
 * @return As chook_slot_install(), and CHOOK_EINVAL when object is NULL, its first
 *         word does not point at readable vtable slots, index is past the end of
 *         the vtable (when its _ZTV symbol gives the size) or the slot does not
 *         hold code; CHOOK_EUNMAPPED when the object is not readable.
 *
 * An object hooked with chook_object_install() before keeps its private vtable
 * and does not see this hook, except on the slots its copy follows (see
 * chook_object_install()).
 */
CHOOK_API int chook_vtable_install(void *object, size_t index, void *replacement,
                                   void **original, chook_slot_hook **handle);

/**
 * Replaces a C++ virtual method for one object only: the object gets a private
 * copy of its class's vtable (the whole _ZTV symbol, so typeid and dynamic_cast
 * keep working; without the symbol, the offset-to-top and typeinfo words and
 * every consecutive code pointer), slot `index` of the copy is replaced, and the
 * object's vptr is switched to the copy with one atomic store. Further hooks on
 * the same object share its copy.
 *
 * @param object, index, replacement, original, handle  As chook_vtable_install().
 * @return As chook_vtable_install().
 *
 * A slot that a class-wide hook (chook_vtable_install() or chook_slot_install()
 * on the class's vtable) replaces when the copy is made is not copied as that
 * replacement: the copy gets a 6-byte stub that jumps through the class's slot,
 * so the object keeps following it. Removing the class-wide hook therefore
 * reaches the object too, hooking that slot of the class again does as well,
 * and a hook of the object on such a slot has as its original whatever the
 * class's slot holds at the time of the call. (The stub needs code memory
 * within 2 GiB of the class's vtable: CHOOK_ENOMEM otherwise.)
 *
 * When the object's last hook is removed its vptr is switched back. Remove the
 * hooks before the object is destroyed (its destructor rewrites the vptr; removal
 * then fails with CHOOK_EPATCH). A private vtable (a few hundred bytes) stays
 * allocated for the life of the process, as a thread may still be calling through
 * it.
 */
CHOOK_API int chook_object_install(void *object, size_t index, void *replacement,
                                   void **original, chook_slot_hook **handle);

/**
 * Puts back the pointer a slot hook replaced (and, for the last hook of an object,
 * the object's vptr).
 *
 * @param handle  From chook_slot_install(), chook_vtable_install() or
 *                chook_object_install(); stale after CHOOK_OK.
 * @return CHOOK_OK; CHOOK_EINVAL (NULL, or not a slot hook handle);
 *         CHOOK_ENOTHOOKED (removed already: a stale handle);
 *         CHOOK_EBUSY (a newer hook on the same slot must be removed first);
 *         CHOOK_EPATCH (the slot or the object's vptr was changed by someone else:
 *         nothing is written).
 */
CHOOK_API int chook_slot_remove(chook_slot_hook *handle);

#ifdef __cplusplus
extern "C++" {
/**
 * The vtable slot of a virtual member function, for chook_vtable_install() and
 * chook_object_install(): chook_vtable_index(&Shape::area).
 *
 * @return The slot index, or (size_t)-1 when `method` is not virtual. Follows the
 *         Itanium C++ ABI representation of member function pointers (x86-64).
 */
template <typename Method> inline size_t chook_vtable_index(Method method)
{
    struct rep { uintptr_t ptr; ptrdiff_t adj; } r;
    static_assert(sizeof(method) == sizeof(r), "not an Itanium member function pointer");
    __builtin_memcpy(&r, &method, sizeof(r));
    return (r.ptr & 1) ? (size_t)((r.ptr - 1) / sizeof(void *)) : (size_t)-1;
}
}
#endif

/* ---------------------------------------------------------------------------
 * Hooks on modules not loaded yet
 * ------------------------------------------------------------------------- */

/** A hook by name that follows its module through dlopen and dlclose (opaque). */
typedef struct chook_pending chook_pending;

/**
 * Hooks a function by name in a module now if it is loaded, and again every time
 * a module of that name is loaded by dlopen, before any of its code runs
 * (including its constructors); the hook goes away when the module is unloaded by
 * dlclose.
 *
 *     static int (*orig_init)(void);
 *     chook_install_deferred("libplugin.so", "plugin_init", my_init,
 *                            (void **)&orig_init, &p);
 *     void *h = dlopen("libplugin.so", RTLD_NOW); // plugin_init is hooked already
 *
 * How: chook hooks the function the dynamic linker calls at each change of its
 * module list (_dl_debug_state, published as r_debug.r_brk for debuggers). When
 * dlopen has mapped new modules, before relocating them and before their
 * constructors, the pending hooks are installed on the modules they name. Before
 * dlclose unmaps anything (the list does not say which modules go) every hook
 * placed this way is removed, and once it is done, put back on the matching
 * modules still loaded: during a dlclose the hooked functions of other modules
 * briefly run unhooked.
 *
 * @param module       The module's name as for chook_module_find(): its file name,
 *                     soname, path, or one of those without version numbers
 *                     ("libplugin.so"). Must not be NULL or "".
 * @param symbol       Function name (exported or local, as chook_symbol_lookup()).
 * @param replacement  As chook_install().
 * @param original     Variable that receives the original each time the hook is
 *                     applied (may be NULL); it must stay valid until
 *                     chook_pending_remove(). Written before the module's code can
 *                     reach the replacement.
 * @param handle       Receives the handle (may be NULL: then it cannot be removed).
 *                     Owned by chook, valid until chook_pending_remove() succeeds.
 * @return CHOOK_OK (hooked now, or pending); CHOOK_EINVAL (NULL or empty argument);
 *         CHOOK_ENOSYS (the dynamic linker offers no r_brk, e.g. a static program);
 *         for a module loaded now, any status of chook_install_name() (nothing
 *         is kept pending then); CHOOK_ENOMEM.
 *
 * A failure when a module is loaded later (no such symbol in it, an IFUNC, whose
 * resolver cannot run before relocation, a thread that does not stop...) does
 * not fail dlopen: the module runs unhooked and chook_pending_status() reports
 * the status. Only modules of the base namespace (not dlmopen) are watched.
 *
 * Thread safety: any thread. Not from inside a replacement that runs during
 * dlopen or dlclose.
 */
CHOOK_API int chook_install_deferred(const char *module, const char *symbol, void *replacement,
                                     void **original, chook_pending **handle);

/**
 * Removes a deferred hook from every module it hooks and stops watching for its
 * module.
 *
 * @param handle  From chook_install_deferred(); stale after CHOOK_OK.
 * @return CHOOK_OK; CHOOK_EINVAL (NULL, or not a deferred hook handle);
 *         CHOOK_ENOTHOOKED (already removed: a stale handle); any
 *         status of chook_remove() (the handle stays valid then).
 */
CHOOK_API int chook_pending_remove(chook_pending *handle);

/**
 * Reports what a deferred hook is doing.
 *
 * @param handle  From chook_install_deferred().
 * @return The number of loaded modules it hooks now (> 0); 0 when it waits for its
 *         module; the negative status of its last failed application when it
 *         hooks none (chook_last_error() of that failure is not kept); CHOOK_EINVAL
 *         for NULL or a value that is not a deferred hook handle;
 *         CHOOK_ENOTHOOKED for a handle removed already.
 */
CHOOK_API int chook_pending_status(const chook_pending *handle);

#ifdef __cplusplus
}
#endif

#endif /* CHOOK_H */
