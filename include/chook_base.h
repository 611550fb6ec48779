/*
 * chook_base.h — version, structures and the ABI, status codes and errors,
 * process-wide settings.
 *
 * Part of <chook.h>, which includes every module header; each may also be
 * included alone.
 */
#ifndef CHOOK_BASE_PUBLIC_H
#define CHOOK_BASE_PUBLIC_H

#include <stddef.h>
#include <stdint.h>

#if defined(CHOOK_BUILDING)
#define CHOOK_API __attribute__((visibility("default")))
#else
#define CHOOK_API
#endif

#ifdef __cplusplus
extern "C" {
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

#ifdef __cplusplus
}
#endif

#endif /* CHOOK_BASE_PUBLIC_H */
