/*
 * chook_mock.h — scoped mocks for unit tests, built on chook's hooks.
 *
 * Overview
 * ========
 * A mock replaces a function of the running test process for a while: every
 * call of the function, from any module (the code under test, another shared
 * library, libc itself), reaches the mock until it ends. Because chook patches
 * the function's code, a mock also reaches what link-time tools (ld --wrap,
 * fff, cmocka's __wrap_) cannot: static functions of the code under test (by
 * address) and calls made inside other libraries (malloc called by zlib).
 *
 *     static void *no_memory(size_t n) { (void)n; errno = ENOMEM; return NULL; }
 *
 *     void test_compress_without_memory(void) {
 *         CHOOK_MOCK_THREAD(malloc, no_memory);        // this thread only
 *         assert(compress(dst, &dlen, src, slen) == Z_MEM_ERROR);
 *         assert(chook_mock_calls(malloc_mock) >= 1);  // zlib's malloc reached it
 *     }                                                // mock ends here
 *
 * Two kinds of mock:
 *   - a replacement: a function with the target's signature runs instead
 *     (chook_mock_begin(), CHOOK_MOCK); it may call the real function through
 *     CHOOK_MOCK_REAL(function) or chook_mock_original();
 *   - a sequence of answers for a function returning an integer or a pointer,
 *     no replacement to write: "returns 1, then 2, then fails with errno EIO,
 *     then runs the real function" (chook_mock_returns(), CHOOK_MOCK_RETURNS),
 *     with the integer arguments of recent calls recorded.
 * Both count calls and apply either to every thread or to the thread that
 * created them only (the other threads run the function as if unmocked).
 *
 * Scope: CHOOK_MOCK* declare a handle named after the function (malloc_mock)
 * whose mock ends when the enclosing block is left (GCC/Clang cleanup
 * attribute). Frameworks without scopes pair chook_mock_begin() with
 * chook_mock_end() in their setup and teardown. C++: <chook_mock.hpp>.
 *
 * How: each mock is a closure replacement (chook_replace()) whose replacement
 * is a small assembly stub shared by all mocks: it counts the call, sends the
 * calls of other threads of a one-thread mock to the original, and jumps to
 * the user's replacement with the caller's registers and stack untouched, or,
 * for a sequence, records the arguments and returns the next answer.
 *
 * Cost: a mocked call costs 3 to 7 ns more than a direct call of the
 * replacement (bench/bench_mock). Installing and ending a mock each stop the
 * other threads of the process once (see chook.h, "Live patching"): tens of
 * microseconds with no other thread, felt by suites that run many threads.
 *
 * Variadic functions (printf family): a replacement mock never touches the
 * arguments, so a variadic replacement receives them as the caller passed
 * them and forwards them with va_list (to vsnprintf, vfprintf...). Mind the
 * compiler's rewrites: printf("text\n") is compiled as puts("text"),
 * printf("%s\n", s) as puts(s), printf("x") as putchar('x'), and with
 * _FORTIFY_SOURCE printf(...) becomes __printf_chk(flag, ...): mock each form
 * the code under test is compiled to (README.md, "Mocking in tests").
 *
 * Limits: a mock is not part of transactions (begin and end refuse with
 * CHOOK_ETXN while the calling thread has a chook transaction open). A
 * sequence mock answers integer and pointer results only (rax). The replacement of a mock that has
 * ended may still be running on other threads for a moment, as with any
 * removed hook. Each mock keeps its record for the life of the process (see
 * chook_mock_end()).
 */
#ifndef CHOOK_MOCK_H
#define CHOOK_MOCK_H

#include <stddef.h>
#include <stdint.h>

#include "chook.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One active mock (opaque). */
typedef struct chook_mock chook_mock;

/** Flags of chook_mock_opts. */
enum chook_mock_flags {
    /** Only calls made on the thread that creates the mock reach it; calls on
     *  other threads run the function as before. Default: every thread. */
    CHOOK_MOCK_THIS_THREAD = 1 << 0,
    /** Replacement mocks: the replacement is a closure replacement. It calls
     *  chook_current() first thing, and finds its mock at chook_current()->data
     *  (a chook_mock *). Unlike chook_mock_current(), this stays right when a
     *  signal handler calls another mocked function before the replacement
     *  asks. Ignored by sequence mocks. */
    CHOOK_MOCK_CLOSURE = 1 << 1,
};

/** Options of a mock; zero-initialise, then set what you need. */
typedef struct chook_mock_opts {
    unsigned flags;   /**< CHOOK_MOCK_* flags. */
    void *data;       /**< Returned by chook_mock_data(); owned by the caller. */
    /** Sequence mocks: how many of the latest calls keep their arguments for
     *  chook_mock_arg() (0: 16; at most 65536; rounded up to a power of two). */
    unsigned capture;
    /** sizeof(chook_mock_opts), or 0 (chook.h, "Structures and the ABI"). */
    size_t size;
} chook_mock_opts;

/**
 * Starts a replacement mock: every call of `target` runs `replacement`
 * instead, until chook_mock_end().
 *
 * @param target       Entry of the function to mock: any function chook can
 *                     hook (chook_install() rules), including a static function
 *                     by its address and a function of another library.
 * @param replacement  Same signature and calling convention as the target. It
 *                     receives the caller's arguments untouched (also variadic
 *                     ones, with al as the caller set it).
 * @param opts         May be NULL (every thread, no data).
 * @param mock         Receives the handle (must not be NULL). Owned by chook;
 *                     it stays valid for the life of the process (once ended,
 *                     for reading only: see chook_mock_end()).
 * @return CHOOK_OK; CHOOK_EINVAL (NULL target, replacement or mock, unknown
 *         flags, a bad opts->size); CHOOK_ETXN (the calling thread has a chook transaction open);
 *         CHOOK_ENOTSUP (1024 mocks are active already); CHOOK_ENOMEM;
 *         any status of chook_replace() (the target cannot be hooked: the
 *         message says why). On failure nothing is mocked.
 *
 * Mocks of one target stack: the newest answers first; its original leads to
 * the previous one. Calls already in flight keep running the code they entered.
 *
 * Thread safety: any thread; stops the other threads once (as chook_install()).
 * Not from a signal handler, not inside a chook transaction.
 */
CHOOK_API int chook_mock_begin(void *target, void *replacement, const chook_mock_opts *opts,
                               chook_mock **mock);

/**
 * chook_mock_begin() on a function found by name with chook_symbol_lookup(),
 * e.g. a static function of the code under test: ("", "parse_header") in the
 * test program (from its .symtab), or ("libfoo.so", "helper").
 *
 * @param module  Module name as for chook_module_find(); NULL for any module.
 * @param symbol  Function name (exported or local).
 * @return As chook_mock_begin(); any status of chook_symbol_lookup().
 */
CHOOK_API int chook_mock_begin_name(const char *module, const char *symbol, void *replacement,
                                    const chook_mock_opts *opts, chook_mock **mock);

/** One answer of a sequence mock. Passed in arrays, so it has no `size`: its
 *  layout is fixed for the major version. */
typedef struct chook_mock_step {
    uintptr_t value;  /**< Returned (rax). An int -1 is (uintptr_t)-1. */
    int error;        /**< errno is set to this when non-zero. */
    /** Consecutive calls answered by this step: 0 or 1 once, N N times,
     *  CHOOK_MOCK_ALWAYS every call from here on. */
    unsigned times;
} chook_mock_step;

/** chook_mock_step.times: answer every call from this step on. */
#define CHOOK_MOCK_ALWAYS 0xffffffffu

/* Brace initialisers of chook_mock_step for CHOOK_MOCK_RETURNS and arrays. */
#define CHOOK_MOCK_RETURN(v) { (uintptr_t)(v), 0, 1 }
#define CHOOK_MOCK_RETURN_N(v, n) { (uintptr_t)(v), 0, (n) }
#define CHOOK_MOCK_RETURN_ALWAYS(v) { (uintptr_t)(v), 0, CHOOK_MOCK_ALWAYS }
#define CHOOK_MOCK_FAIL(v, err) { (uintptr_t)(v), (err), 1 }
#define CHOOK_MOCK_FAIL_ALWAYS(v, err) { (uintptr_t)(v), (err), CHOOK_MOCK_ALWAYS }

/**
 * Starts a sequence mock: the calls of `target` are answered by the steps in
 * order, without running the function; once the steps are used up, calls run
 * the function again (end with a CHOOK_MOCK_ALWAYS step to answer for ever).
 *
 *     chook_mock_step steps[] = { CHOOK_MOCK_RETURN(1), CHOOK_MOCK_RETURN(2),
 *                                 CHOOK_MOCK_FAIL(-1, EIO) };
 *     chook_mock_returns((void *)write, steps, 3, NULL, &m);
 *     // write() returns 1, then 2, then -1 with errno EIO, then writes again
 *
 * @param target  As chook_mock_begin(); a function returning an integer or a
 *                pointer (or void: the value is then ignored).
 * @param steps   The answers; copied, the caller may free them on return.
 * @param n       Number of steps, 1 to 4096.
 * @param opts    May be NULL. opts->capture sets how many calls are recorded.
 * @param mock    Receives the handle (must not be NULL); as chook_mock_begin().
 * @return CHOOK_OK; CHOOK_EINVAL (NULL argument, n out of range, unknown
 *         flags, capture over 65536, a bad opts->size); CHOOK_ETXN (a transaction is open);
 *         CHOOK_ENOMEM; any status of chook_replace().
 *
 * Calls answered and calls passed to the function are both counted by
 * chook_mock_calls() and recorded for chook_mock_arg() (calls of other threads
 * of a CHOOK_MOCK_THIS_THREAD mock are not). An answered call returns the
 * step's value in rax and leaves the other return registers unspecified.
 *
 * Thread safety: as chook_mock_begin(); the steps are shared by all the
 * threads the mock applies to, each call takes the next one atomically.
 */
CHOOK_API int chook_mock_returns(void *target, const chook_mock_step *steps, size_t n,
                                 const chook_mock_opts *opts, chook_mock **mock);

/**
 * Ends a mock: calls that start after this returns run the function as before
 * the mock (or the previous mock of a stack).
 *
 * @param mock  From chook_mock_begin*() or chook_mock_returns(). After CHOOK_OK
 *              it cannot be ended again, but stays readable: chook_mock_calls(),
 *              chook_mock_arg(), chook_mock_original(), chook_mock_data().
 * @return CHOOK_OK; CHOOK_EINVAL (NULL, not a handle chook gave out, or already
 *         ended); CHOOK_ETXN (the
 *         calling thread has a transaction open); any status of chook_remove()
 *         (the mock stays active then).
 *
 * Nothing waits: a thread may still be inside the replacement for a moment
 * after this returns (as after chook_remove()). Ownership: the mock's record
 * (about 150 bytes; for a sequence also its steps and its ring of recorded
 * calls, 64 bytes a call, 1 KiB by default) and its closure stay allocated for
 * the life of the process, so that such a late thread never reads freed memory.
 *
 * Thread safety: any thread, not from inside the mock's own replacement or
 * from a signal handler.
 */
CHOOK_API int chook_mock_end(chook_mock *mock);

/**
 * The number of calls the mock has seen: answered by its replacement or steps
 * (and, for a sequence mock, passed on after its steps).
 *
 * @return The count; 0 for NULL.
 *
 * Not checked against chook's list of mocks (it runs on the mocked call's own
 * path): pass only handles chook gave out, as to chook_mock_original(),
 * chook_mock_data() and chook_mock_target().
 *
 * Thread safety: any thread; the count is exact (atomic) for mocks of every
 * thread, and written only by the owning thread for CHOOK_MOCK_THIS_THREAD.
 */
CHOOK_API uint64_t chook_mock_calls(const chook_mock *mock);

/**
 * Sets a mock's call count back to zero and forgets its recorded arguments; a
 * sequence mock starts its steps over. Use it between test cases to keep one
 * mock for a whole suite (a begin and an end each stop every thread).
 *
 * @return CHOOK_OK; CHOOK_EINVAL (NULL, or not a handle chook gave out).
 *
 * Thread safety: any thread, while no other thread calls the mocked function
 * (a call racing with the reset may be counted before or after it).
 */
CHOOK_API int chook_mock_reset(chook_mock *mock);

/**
 * An integer-class argument of a recorded call of a sequence mock.
 *
 * @param mock   A sequence mock.
 * @param call   The call's number, from 0 (the first call seen).
 * @param n      The integer-class argument (0 to 5, as chook_arg()).
 * @param value  Receives the argument as passed (must not be NULL).
 * @return CHOOK_OK; CHOOK_EINVAL (NULL, not a handle chook gave out, not a
 *         sequence mock, n > 5);
 *         CHOOK_ENOTHOOKED (no such call recorded: not made yet, or older than
 *         the last opts.capture calls, rounded up to a power of two).
 *
 * The six integer argument registers are recorded as the caller set them,
 * whatever the function's real number of arguments (the extra ones hold
 * whatever the caller left there). Also after chook_mock_end().
 *
 * Thread safety: any thread; read after the calls of interest have returned
 * (a record being overwritten by a newer call is reported as not recorded).
 */
CHOOK_API int chook_mock_arg(const chook_mock *mock, uint64_t call, unsigned n,
                             uintptr_t *value);

/**
 * What the replacement of a replacement mock calls to run the function as
 * before this mock (the real function, or the previous mock of a stack).
 *
 * @return A callable pointer, valid for the life of the process; NULL for NULL
 *         or a sequence mock.
 */
CHOOK_API void *chook_mock_original(const chook_mock *mock);

/**
 * The real function behind the replacement mocks of `target`: the original of
 * its oldest active replacement mock, which skips every mock; `target` itself
 * when no replacement mock of it is active. Use it through CHOOK_MOCK_REAL().
 *
 * @return A callable pointer; NULL for NULL.
 *
 * Thread safety: any thread; async-signal-safe; takes no lock (it waits only
 * while the first mock of `target` is being installed by another thread).
 */
CHOOK_API void *chook_mock_real(const void *target);

/**
 * The mock whose replacement is running: call it first thing in the
 * replacement, before the replacement calls any other mocked function. A
 * signal handler that calls a mocked function between the mock's entry and
 * this call changes the answer: a replacement that must be exact then uses
 * CHOOK_MOCK_CLOSURE.
 *
 * @return The handle; NULL when no replacement mock was entered on this thread.
 *
 * Thread safety: calling thread; async-signal-safe.
 */
CHOOK_API chook_mock *chook_mock_current(void);

/** The mock's opts.data (NULL for NULL). */
CHOOK_API void *chook_mock_data(const chook_mock *mock);

/** The mocked function (NULL for NULL). */
CHOOK_API void *chook_mock_target(const chook_mock *mock);

/*
 * CHOOK_MOCK_REAL(function) — the real function behind the replacement mocks
 * of `function`, with its own type: CHOOK_MOCK_REAL(malloc)(n).
 */
#define CHOOK_MOCK_REAL(function) \
    ((__typeof__(&(function)))chook_mock_real((const void *)(function)))

/* ---- scoped mocks (C, GCC and Clang; C++: <chook_mock.hpp>) ----------------- */
#ifndef __cplusplus

/*
 * CHOOK_MOCK_ON_ERROR(message): what a scoped mock does when it cannot begin or
 * end (message is chook_last_error()). Define it before including this header
 * to make the test fail, e.g. for Criterion:
 *     #define CHOOK_MOCK_ON_ERROR(msg) cr_assert_fail("chook mock: %s", msg)
 * By default nothing: the handle is NULL, check it.
 */
#ifndef CHOOK_MOCK_ON_ERROR
#define CHOOK_MOCK_ON_ERROR(msg) ((void)(msg))
#endif

/* The cleanup of a scoped mock's handle. */
static inline void chook__mock_scope_end(chook_mock **mock)
{
    if (*mock && chook_mock_end(*mock) != CHOOK_OK) CHOOK_MOCK_ON_ERROR(chook_last_error());
}

static inline chook_mock *chook__mock_scope_begin(void *target, void *replacement,
                                                  unsigned flags)
{
    chook_mock_opts opts = { flags, NULL, 0, sizeof(chook_mock_opts) };
    chook_mock *m = NULL;
    if (chook_mock_begin(target, replacement, &opts, &m) != CHOOK_OK) {
        CHOOK_MOCK_ON_ERROR(chook_last_error());
        return NULL;
    }
    return m;
}

static inline chook_mock *chook__mock_scope_returns(void *target, const chook_mock_step *steps,
                                                    size_t n, unsigned flags)
{
    chook_mock_opts opts = { flags, NULL, 0, sizeof(chook_mock_opts) };
    chook_mock *m = NULL;
    if (chook_mock_returns(target, steps, n, &opts, &m) != CHOOK_OK) {
        CHOOK_MOCK_ON_ERROR(chook_last_error());
        return NULL;
    }
    return m;
}

#define CHOOK__MOCK_SCOPED(name, function, replacement, flags)                               \
    chook_mock *name __attribute__((cleanup(chook__mock_scope_end), unused)) = ({           \
        _Static_assert(__builtin_types_compatible_p(__typeof__(&(function)),                 \
                                                    __typeof__(&(replacement))),             \
                       "CHOOK_MOCK: the replacement and the mocked function differ in type"); \
        chook__mock_scope_begin((void *)(function), (void *)(replacement), (flags));         \
    })

#define CHOOK__MOCK_RETURNS_SCOPED(name, function, flags, ...)                               \
    chook_mock *name __attribute__((cleanup(chook__mock_scope_end), unused)) = ({           \
        const chook_mock_step name##_steps_[] = { __VA_ARGS__ };                             \
        chook__mock_scope_returns((void *)(function), name##_steps_,                         \
                                  sizeof name##_steps_ / sizeof name##_steps_[0], (flags)); \
    })

/*
 * CHOOK_MOCK(function, replacement) — mocks `function` (an identifier) on every
 * thread until the end of the enclosing block, and declares `chook_mock
 * *function_mock` for chook_mock_calls() and the like (NULL when the mock
 * could not begin; see CHOOK_MOCK_ON_ERROR). The replacement must have exactly
 * the function's type (checked at compile time).
 */
#define CHOOK_MOCK(function, replacement) \
    CHOOK__MOCK_SCOPED(function##_mock, function, replacement, 0)

/* CHOOK_MOCK on the calling thread only. */
#define CHOOK_MOCK_THREAD(function, replacement) \
    CHOOK__MOCK_SCOPED(function##_mock, function, replacement, CHOOK_MOCK_THIS_THREAD)

/* CHOOK_MOCK with a handle name of your choice (two mocks of one function in one
 * block, or a function named by an expression of function type). */
#define CHOOK_MOCK_NAMED(name, function, replacement) \
    CHOOK__MOCK_SCOPED(name, function, replacement, 0)

/*
 * CHOOK_MOCK_RETURNS(function, step, ...) — a scoped sequence mock:
 *     CHOOK_MOCK_RETURNS(write, CHOOK_MOCK_RETURN(1), CHOOK_MOCK_FAIL(-1, EIO));
 * declares `chook_mock *write_mock`; the steps are CHOOK_MOCK_RETURN*,
 * CHOOK_MOCK_FAIL* or brace initialisers of chook_mock_step.
 */
#define CHOOK_MOCK_RETURNS(function, ...) \
    CHOOK__MOCK_RETURNS_SCOPED(function##_mock, function, 0, __VA_ARGS__)

/* CHOOK_MOCK_RETURNS on the calling thread only. */
#define CHOOK_MOCK_RETURNS_THREAD(function, ...) \
    CHOOK__MOCK_RETURNS_SCOPED(function##_mock, function, CHOOK_MOCK_THIS_THREAD, __VA_ARGS__)
#endif /* !__cplusplus */

#ifdef __cplusplus
}
#endif

#endif /* CHOOK_MOCK_H */
