/*
 * chook_hook.h — inline hooks: install, uninstall, call the original;
 * transactions; probe.
 *
 * Part of <chook.h>, which includes every module header; each may also be
 * included alone.
 */
#ifndef CHOOK_HOOK_PUBLIC_H
#define CHOOK_HOOK_PUBLIC_H

#include "chook_base.h"

#ifdef __cplusplus
extern "C" {
#endif

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

#ifdef __cplusplus
}
#endif

#endif /* CHOOK_HOOK_PUBLIC_H */
