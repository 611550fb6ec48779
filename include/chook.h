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
 *     if (chook_install(puts, my_puts, (void **)&orig_puts) != CHOOK_OK)
 *         fprintf(stderr, "hook failed: %s\n", chook_last_error());
 *     puts("hello");                 // prints "[hooked]" then "hello"
 *     chook_uninstall(puts);         // the original bytes are back
 *
 * How it works: the first instructions of the target are relocated into a
 * trampoline (which is what `original` points to) and replaced by a jump to a
 * small stub near the target, which jumps to the newest replacement. Code pages
 * never lose PROT_EXEC: code is written through /proc/self/mem. Every commit stops
 * the other threads of the process (see "Live patching" below), so hooks can be
 * installed and removed while other threads run the target.
 *
 * Errors
 * ======
 * Every function returns CHOOK_OK (0) or a negative CHOOK_E* status. The status
 * names the class of the failure (chook_strerror()); chook_last_error() gives a
 * message saying exactly what was wrong, for the last failure on the calling
 * thread. A failing call leaves the process exactly as it was.
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
    CHOOK_EDECODE     =  -8, /**< The bytes at the target do not decode as instructions. */
    CHOOK_ENOTHOOKED  =  -9, /**< Nothing of that kind is installed there. */
    CHOOK_EEXIST      = -10, /**< That replacement/listener is already installed there. */
    CHOOK_ESELF       = -11, /**< The replacement is the target itself. */
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
 * @return A thread-local string, "" when no call has failed on this thread yet. It
 *         stays valid and unchanged until the next failing chook call on this thread.
 *         Successful calls do not clear it.
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
 * @param target       Entry of the function to hook (executable memory).
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
 *         (replacement == target), CHOOK_EUNMAPPED, CHOOK_ENOTEXEC, CHOOK_EDECODE,
 *         CHOOK_ETOOSHORT, CHOOK_EBRANCHIN, CHOOK_EUNRELOC, CHOOK_EEXIST (this
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
 * @param hook  Receives the handle (may be NULL). The handle is owned by chook and
 *              is valid until chook_remove() or chook_uninstall() of its target
 *              succeeds (or the transaction that created it is aborted or fails).
 * @return As chook_install().
 */
CHOOK_API int chook_install_ex(void *target, void *replacement, void **original,
                               chook_hook **hook);

/**
 * Removes one hook; the other hooks of its target keep working (in any order).
 * When it was the last hook of its target, the target's original bytes are
 * restored exactly.
 *
 * @param hook  A handle from chook_install_ex().
 * @return CHOOK_OK; CHOOK_EINVAL (NULL), CHOOK_ENOTHOOKED (already removed),
 *         CHOOK_EPATCH, CHOOK_ETHREADS.
 */
CHOOK_API int chook_remove(chook_hook *hook);

/**
 * Removes every hook of `target` and restores its original bytes exactly.
 * Listeners attached with chook_attach() are not affected.
 *
 * @return CHOOK_OK; CHOOK_EINVAL (NULL), CHOOK_ENOTHOOKED (no replacement installed
 *         there), CHOOK_EPATCH (the patched bytes were changed by someone else:
 *         nothing is written), CHOOK_ETHREADS.
 */
CHOOK_API int chook_uninstall(void *target);

/**
 * Reports whether a handle's hook is installed (committed and not removed).
 *
 * @return 1 when installed, 0 otherwise (including NULL).
 */
CHOOK_API int chook_hook_active(const chook_hook *hook);

/* ---------------------------------------------------------------------------
 * Transactions
 * ------------------------------------------------------------------------- */

/**
 * Opens a transaction on the calling thread. Until commit or abort, the calls
 * chook_install(), chook_install_ex(), chook_remove(), chook_uninstall() made on
 * this thread are checked and prepared at once (a bad target fails at the call)
 * but applied only at commit, all together.
 *
 * @return CHOOK_OK; CHOOK_ETXN when this thread already has an open transaction.
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
    char reason[192];        /**< Why not, when status != CHOOK_OK; "" otherwise. */
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
    /** Real-time signal used to park other threads during a commit; 0 picks a free
     *  one (the highest real-time signal whose disposition is SIG_DFL). */
    int signal;
    /** How long a commit waits for every thread to park, in milliseconds (default
     *  1000). A thread that has not parked by then (it blocks the signal, or is
     *  stuck in the kernel) makes the commit fail with CHOOK_ETHREADS. */
    unsigned stop_timeout_ms;
} chook_config;

/**
 * Changes process-wide settings. Fields left 0 keep their current value.
 *
 * @return CHOOK_OK; CHOOK_EINVAL (NULL, or a signal that is not a real-time signal).
 */
CHOOK_API int chook_configure(const chook_config *config);

/* @@INTERCEPT@@ interception API (issue 4) goes here */

/* @@SYMBOLS@@ by-name API (issue 5) goes here */

#ifdef __cplusplus
}
#endif

#endif /* CHOOK_H */
