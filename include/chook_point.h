/*
 * chook points — hook points compiled into the source.
 *
 * Overview
 * ========
 * A point is a typed extension point placed inside a function definition. An
 * agent finds it at run time by name and attaches a prolog (typed read/write
 * pointers to the arguments) that may return an epilog (typed pointer to the
 * return value) or abort the call with a return value of its choice. Nothing is
 * patched: points work where code cannot be written (W^X-strict systems, SELinux
 * without execmem, signed code). The library that defines points does not link
 * chook; only the agent does.
 *
 *     // in the instrumented library (file scope, once per point)
 *     CHOOK_POINT(example, int, int, const char *);
 *
 *     int example(int a, const char *b)
 *     {
 *         CHOOK_ENTER(example, a, b);   // runs the prolog when one is attached
 *         int r = work(a, b);
 *         CHOOK_RETURN(example, r);     // runs the epilog, then returns r
 *     }
 *
 *     // in the agent (CHOOK_POINT_TYPES gives it the same types)
 *     CHOOK_POINT_TYPES(example, int, int, const char *);
 *     static int my_prolog(void *data, chook_point_epilog_example *epilog,
 *                          int *ret, int *a, const char **b)
 *     {
 *         *a += 1;                          // rewrite an argument
 *         return CHOOK_POINT_CONTINUE;      // or: *ret = -1; return CHOOK_POINT_ABORT;
 *     }
 *
 *     chook_point *p;
 *     if (chook_point_find("example", &p) == CHOOK_OK)
 *         chook_point_attach_example(p, my_prolog, NULL);
 *
 * Registration: CHOOK_POINT puts a pointer to the point's record in the ELF
 * section "chook_points" of the module being linked, and an ELF note (in a
 * PT_NOTE segment) that locates that section. chook finds every module's points
 * through dl_iterate_phdr(): no constructor, no registration call, and points of
 * a library loaded with dlopen() are found as soon as it is loaded.
 *
 * Detached cost
 * =============
 * Chosen when the instrumented code is compiled (CMake option CHOOK_POINT_MODE,
 * which defines CHOOK_POINT_MODE_<mode> for users of the chook target):
 *   branch (default)  one load of the point's attachment and a branch predicted
 *                     not taken. Never writes code.
 *   jump              a 5-byte no-op at each CHOOK_ENTER, rewritten into a jump to
 *                     the slow path while something is attached (through chook's
 *                     code-writing path, with the other threads parked). Attaching
 *                     fails with CHOOK_EPATCH where code cannot be written.
 * Both modes may be mixed in one process.
 *
 * The mode is per translation unit: define CHOOK_POINT_MODE_jump before including
 * this header (or on the compiler's command line) in the files whose points should
 * use it; instrumented libraries that do not link the chook target define it
 * themselves. Jump mode exists on x86-64 only; elsewhere it falls back to branch.
 * Attached, a call costs two atomic updates of a per-point counter, an indirect
 * call of the prolog and one of the epilog (about 10 ns; see bench_point).
 *
 * Rules at the definition site
 * ============================
 * - CHOOK_POINT / CHOOK_POINT_VOID at file scope of the file that defines the
 *   function, once per point per module: the point's record is a hidden symbol
 *   named after the point, so a second definition in one module fails to link.
 *   Point names are unique per module, not per process (see chook_point_find_in).
 * - CHOOK_ENTER / CHOOK_ENTER_VOID once, in the outermost block of the function,
 *   before any return, with the parameters in order. Their types must match the
 *   point's (checked at compile time) and they must not be const-qualified: the
 *   prolog may rewrite them.
 * - Non-void functions return through CHOOK_RETURN. A plain `return` still ends
 *   the call for chook (the point's in-flight count is released), but no epilog
 *   sees its value. In a void function the epilog runs on every return. longjmp
 *   out of a function with a point that has a pending epilog leaks that call's
 *   in-flight count (chook_point_wait() then times out).
 * - Up to 10 arguments. Argument and return types are any complete object types
 *   (typedef function pointer types for readability; __typeof__ copes anyway).
 * - C11 or later, GCC or Clang (strict -std=c11 works; zero-argument points draw
 *   a -Wpedantic warning before C23). The definition-site macros are C only;
 *   agents may be written in C++ (the functions below and CHOOK_POINT_TYPES).
 *
 * Thread safety
 * =============
 * Points may be called, attached and detached from any thread at once. The
 * agent-side functions may not be called from a signal handler. Callbacks may
 * run on many threads at once and must be reentrant; per-call state belongs in
 * the epilog's data (the prolog's "closure").
 */
#ifndef CHOOK_POINT_H
#define CHOOK_POINT_H

#include <stddef.h>
#include <stdint.h>

#include "chook.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ============================================================================
 * Types seen by callbacks
 * ========================================================================== */

/** What a prolog returns. */
enum chook_point_verdict {
    CHOOK_POINT_CONTINUE = 0, /**< Run the function. */
    CHOOK_POINT_ABORT = 1,    /**< Return at once with the value the prolog wrote
                                   to *ret (zero when it wrote none); the epilog,
                                   if the prolog set one, still runs. */
};

/** One compiled-in hook point (its record lives in the module that defines it). */
typedef struct chook_point chook_point;

/** How a point is attached. */
enum chook_point_state {
    CHOOK_POINT_DETACHED = 0, /**< Nothing attached. */
    CHOOK_POINT_TYPED = 1,    /**< A typed prolog (chook_point_attach_typed()). */
    CHOOK_POINT_GENERIC = 2,  /**< Generic callbacks (chook_point_attach_generic()). */
};

/** What chook_point_get_info() and chook_point_each() report. Strings belong to
 *  the module that defines the point and stay valid while it is loaded. */
typedef struct chook_point_info {
    chook_point *point;     /**< The point itself. */
    const char *name;       /**< Its name, e.g. "example". */
    const char *module;     /**< Path of the module that defines it (the main
                                 program's path for points of the executable). */
    const char *signature;  /**< Spelled as at the definition site, e.g.
                                 "int (int, const char *)"; "void (void)". */
    const char *file;       /**< Source file of the CHOOK_POINT line. */
    unsigned line;          /**< Its line. */
    unsigned nargs;         /**< Number of arguments. */
    int returns_void;       /**< 1 for CHOOK_POINT_VOID points. */
    enum chook_point_state state; /**< Attached or not, and how. */
    size_t size;            /**< chook_point_get_info(): in, sizeof(chook_point_info)
                                 or 0; out, the bytes chook filled. In
                                 chook_point_each(): the bytes chook filled (see
                                 "Structures and the ABI" in chook.h). */
} chook_point_info;

/* ============================================================================
 * Agent API
 * ========================================================================== */

/**
 * Finds a point by name in every loaded module.
 *
 * @param name   The point's name (the first argument of CHOOK_POINT).
 * @param point  Receives the point. Valid while its module stays loaded.
 * @return CHOOK_OK; CHOOK_EINVAL (NULL argument); CHOOK_ENOSYM (no loaded module
 *         defines it); CHOOK_EAMBIGUOUS (several modules do: use
 *         chook_point_find_in()).
 *
 * Thread safety: any thread. Scans the loaded modules on each call (cheap: one
 * pass over each module's point table); keep the result rather than calling this
 * on a hot path.
 */
CHOOK_API int chook_point_find(const char *name, chook_point **point);

/**
 * Finds a point by name in one module.
 *
 * @param module  The module, named as for chook_module_find(): its path (as
 *                loaded or real), file name or soname, also without the trailing
 *                version ("libfoo.so" names libfoo.so.1); "" is the main program;
 *                NULL searches every module like chook_point_find().
 * @param name    The point's name.
 * @param point   Receives the point.
 * @return CHOOK_OK; CHOOK_EINVAL; CHOOK_ENOMODULE (no loaded module with points
 *         matches `module`); CHOOK_ENOSYM; CHOOK_EAMBIGUOUS (`module` names several
 *         loaded modules that each define the point; the message lists them).
 */
CHOOK_API int chook_point_find_in(const char *module, const char *name,
                                  chook_point **point);

/**
 * Describes a point.
 *
 * @param point  A point from chook_point_find*() or chook_point_each().
 * @param info   Filled in on success.
 * @return CHOOK_OK; CHOOK_EINVAL (NULL, or not a point of a loaded module).
 */
CHOOK_API int chook_point_get_info(const chook_point *point, chook_point_info *info);

/**
 * Calls `fn` for every point of every loaded module, module by module in load
 * order, points in link order.
 *
 * @param fn   Called with each point's description (valid during the call only)
 *             and `ctx`; returning non-zero stops the walk. It may call any chook
 *             function, and dlopen()/dlclose() (the walk works on a snapshot taken
 *             before the first call; do not unload a module whose points have not
 *             been visited yet).
 * @param ctx  Passed to fn.
 * @return CHOOK_OK after the last point or when fn stopped the walk;
 *         CHOOK_EINVAL (fn NULL); CHOOK_ENOMEM.
 */
CHOOK_API int chook_point_each(int (*fn)(const chook_point_info *info, void *ctx),
                               void *ctx);

/** A typed prolog, type-erased; see CHOOK_POINT_TYPES for the real type. */
typedef void (*chook_point_fn)(void);

/**
 * Attaches a typed prolog, replacing whatever was attached (atomically: each call
 * of the point runs either the old callbacks or the new ones, never a mix).
 * Prefer the type-checked wrapper chook_point_attach_<name>() that
 * CHOOK_POINT_TYPES defines.
 *
 * @param point      The point.
 * @param signature  The signature the prolog was compiled for, as the point's
 *                   CHOOK_POINT_TYPES spells it; compared with the point's own
 *                   (ignoring spaces that do not separate words) so a prolog for
 *                   another signature is refused instead of corrupting memory.
 * @param prolog     The prolog, cast to chook_point_fn; NULL detaches.
 * @param data       Passed to the prolog as its first argument; owned by the
 *                   caller, which must keep it alive until the prolog is detached
 *                   and chook_point_wait() has returned.
 * @return CHOOK_OK; CHOOK_EINVAL (NULL point or signature, not a point of a loaded
 *         module, or signature mismatch); CHOOK_ENOMEM; in jump mode CHOOK_EPATCH
 *         or CHOOK_ETHREADS (the point stays as it was).
 *
 * Thread safety: any thread, also from inside a callback of this point.
 */
CHOOK_API int chook_point_attach_typed(chook_point *point, const char *signature,
                                       chook_point_fn prolog, void *data);

/**
 * Detaches whatever is attached. Calls already inside a callback finish normally
 * (their epilog still runs); calls that start afterwards run no callback. Use
 * chook_point_wait() before freeing what the callbacks use.
 *
 * @return CHOOK_OK (also when nothing was attached); CHOOK_EINVAL; in jump mode
 *         CHOOK_EPATCH or CHOOK_ETHREADS (still attached).
 */
CHOOK_API int chook_point_detach(chook_point *point);

/** For chook_point_wait(): no time limit. */
#define CHOOK_POINT_WAIT_FOREVER 0xffffffffu

/**
 * Waits until every call of the point that was running a callback (prolog,
 * epilog, or in between them) when chook_point_wait() was called has left it.
 * Calls that start later do not delay it, so it ends even while other threads
 * keep calling the point with new callbacks attached.
 *
 * Guarantee: after chook_point_detach() (or an attach that replaced callbacks)
 * followed by a successful chook_point_wait(), no thread is running or will run
 * the replaced callbacks or use their data, so both may be freed or unloaded.
 * The memory chook kept for the replaced attachments is freed here too.
 *
 * @param point       The point.
 * @param timeout_ms  How long to wait; 0 only checks;
 *                    CHOOK_POINT_WAIT_FOREVER has no limit.
 * @return CHOOK_OK; CHOOK_EINVAL; CHOOK_EBUSY (calls were still running when the
 *         time was up, for instance because the caller is itself inside a
 *         callback of this point: waiting forever from there never returns).
 *
 * Cost: polls (yields, then sleeps of up to 1 ms): the instrumented code never
 * signals it, which keeps the calls free of system calls.
 */
CHOOK_API int chook_point_wait(chook_point *point, unsigned timeout_ms);

/**
 * Attaches generic callbacks, for agents that do not know the point's signature
 * when they are compiled. They see the call through the same accessors as
 * listeners of chook_attach():
 *   chook_arg(call, n)      the n-th argument of integer class (integers, enums,
 *                           bool, pointers), counting only those; read/write.
 *   chook_arg_fp(call, n)   the n-th float or double argument; read/write (a
 *                           float is the low 4 bytes of its slot, as for
 *                           interception: *(float *)chook_arg_fp(call, n)).
 *   chook_arg_at(call, pos) the argument at position pos (NULL for a type
 *                           below that has no slot).
 *   chook_retval(call), chook_retval_fp(call)
 *                           the return value (in on_leave; in on_enter after
 *                           chook_skip()); read/write; a float in the low 4
 *                           bytes.
 *   chook_skip(call, v)     from on_enter: return v at once without running the
 *                           function (for a floating return, also write
 *                           *chook_retval_fp()); on_leave still runs.
 *   chook_call_data(call)   8 bytes of per-call storage, zero in on_enter.
 *   chook_call_target(call) the chook_point.
 * Arguments and return values of other types (structures, long double,
 * __int128, ...) are not visible (such a return value reads 0 and writes to it
 * are ignored): use chook_point_info.signature to tell, or a typed prolog. The
 * arguments are written back after on_enter returns, the return value after
 * on_leave returns. A non-void function that returns without CHOOK_RETURN runs
 * no on_leave. The call context lives in the instrumented function's frame: no
 * allocation, no lock.
 *
 * @param point     The point.
 * @param on_enter  Called before the function body (may be NULL).
 * @param on_leave  Called when it returns through CHOOK_RETURN, or after a skip;
 *                  in void functions, at every return (may be NULL).
 * @param data      Passed to both; owned by the caller (see
 *                  chook_point_attach_typed()).
 * @return CHOOK_OK; CHOOK_EINVAL (NULL point, or both callbacks NULL: use
 *         chook_point_detach(); not a point of a loaded module); CHOOK_ENOMEM;
 *         in jump mode CHOOK_EPATCH or CHOOK_ETHREADS.
 *
 * Replaces whatever was attached, atomically, like chook_point_attach_typed().
 */
CHOOK_API int chook_point_attach_generic(chook_point *point, chook_enter_fn on_enter,
                                         chook_leave_fn on_leave, void *data);

/* ============================================================================
 * Definition-site macros
 * ========================================================================== */

/**
 * CHOOK_POINT(name, ret, argtypes...)
 *   Defines point `name` for a function returning `ret` with the given argument
 *   types, at file scope of the file that defines the function, and the types of
 *   CHOOK_POINT_TYPES. Example: CHOOK_POINT(example, int, int, const char *);
 *
 * CHOOK_POINT_VOID(name, argtypes...)
 *   Same for a function returning void: CHOOK_POINT_VOID(log_line, const char *);
 *
 * CHOOK_POINT_TYPES(name, ret, argtypes...) / CHOOK_POINT_VOID_TYPES(name, ...)
 *   Only the types and the typed attach wrapper, for agents (or headers):
 *     typedef struct { void (*fn)(void *data, ret *r); void *data; }
 *         chook_point_epilog_<name>;          // void points: fn(void *data)
 *     typedef int chook_point_prolog_<name>(void *data,
 *         chook_point_epilog_<name> *epilog, ret *r, arg1 *a1, ...);
 *                                             // void points: no `ret *r`
 *     int chook_point_attach_<name>(chook_point *point,
 *         chook_point_prolog_<name> *prolog, void *data);
 *   The prolog reads and writes the arguments through a1..., may set
 *   epilog->fn/data (both start NULL), and returns CHOOK_POINT_CONTINUE or
 *   CHOOK_POINT_ABORT after writing the return value to *r (which starts zeroed).
 *   The epilog runs once, when the function returns through CHOOK_RETURN or at
 *   once after an abort, with r pointing at the value about to be returned.
 *
 * CHOOK_ENTER(name, args...) / CHOOK_ENTER_VOID(name, args...)
 *   At the top of the function, with the parameters by name, in order.
 *
 * CHOOK_RETURN(name, expr)
 *   Returns expr (after the epilog may have rewritten it).
 */
#define CHOOK_POINT(name, rtype, ...)                                          \
    CHOOK_POINT_TYPES(name, rtype, __VA_ARGS__);                               \
    CHOOK_PT__RECORD(name, 0, #rtype, rtype, __VA_ARGS__);                     \
    CHOOK_PT__HELPERS(name, rtype, __VA_ARGS__)                                \
    extern struct chook_point chook_point__rec_##name

#define CHOOK_POINT_VOID(name, ...)                                            \
    CHOOK_POINT_VOID_TYPES(name, __VA_ARGS__);                                 \
    CHOOK_PT__RECORD(name, 1, "void", char, __VA_ARGS__);                      \
    CHOOK_PT__HELPERS_VOID(name, __VA_ARGS__)                                  \
    extern struct chook_point chook_point__rec_##name

#define CHOOK_POINT_TYPES(name, rtype, ...)                                    \
    typedef struct chook_point_epilog_##name {                                 \
        void (*fn)(void *data, __typeof__(rtype) *r);                          \
        void *data;                                                            \
    } chook_point_epilog_##name;                                               \
    typedef int chook_point_prolog_##name(void *data,                          \
        chook_point_epilog_##name *epilog, __typeof__(rtype) *r                \
        CHOOK_PT__MAP(CHOOK_PT__PTR_T, __VA_ARGS__));                          \
    static inline __attribute__((unused)) int chook_point_attach_##name(       \
        chook_point *point, chook_point_prolog_##name *prolog, void *data)     \
    {                                                                          \
        return chook_point_attach_typed(point,                                 \
            CHOOK_PT__SIGNATURE(#rtype, __VA_ARGS__), (chook_point_fn)prolog,  \
            data);                                                             \
    }                                                                          \
    enum { chook_point__void_##name = 0,                                       \
           chook_point__nargs_##name = CHOOK_PT__NARGS(__VA_ARGS__) }

#define CHOOK_POINT_VOID_TYPES(name, ...)                                      \
    typedef struct chook_point_epilog_##name {                                 \
        void (*fn)(void *data);                                                \
        void *data;                                                            \
    } chook_point_epilog_##name;                                               \
    typedef int chook_point_prolog_##name(void *data,                          \
        chook_point_epilog_##name *epilog                                      \
        CHOOK_PT__MAP(CHOOK_PT__PTR_T, __VA_ARGS__));                          \
    static inline __attribute__((unused)) int chook_point_attach_##name(       \
        chook_point *point, chook_point_prolog_##name *prolog, void *data)     \
    {                                                                          \
        return chook_point_attach_typed(point,                                 \
            CHOOK_PT__SIGNATURE("void", __VA_ARGS__), (chook_point_fn)prolog,  \
            data);                                                             \
    }                                                                          \
    enum { chook_point__void_##name = 1,                                       \
           chook_point__nargs_##name = CHOOK_PT__NARGS(__VA_ARGS__) }

#define CHOOK_ENTER(name, ...)                                                 \
    _Static_assert(!chook_point__void_##name,                                  \
                   "point " #name " returns void: use CHOOK_ENTER_VOID");      \
    CHOOK_PT__ENTER(name, return chook__frame_.ret, __VA_ARGS__)

#define CHOOK_ENTER_VOID(name, ...)                                            \
    _Static_assert(chook_point__void_##name,                                   \
                   "point " #name " returns a value: use CHOOK_ENTER");        \
    CHOOK_PT__ENTER(name, return, __VA_ARGS__)

#define CHOOK_RETURN(name, expr)                                               \
    do {                                                                       \
        __typeof__(chook__frame_.ret) chook__r_ = (expr);                      \
        if (__builtin_expect(chook__pending_ != 0, 0)) {                       \
            /* A copy whose address is taken only here keeps chook__r_ in a    \
             * register on the detached path. */                               \
            __typeof__(chook__frame_.ret) chook__rw_ = chook__r_;              \
            chook_point__leave_##name(chook__pending_, &chook__rw_);           \
            chook__pending_ = 0;                                               \
            chook__r_ = chook__rw_;                                            \
        }                                                                      \
        return chook__r_;                                                      \
    } while (0)

#include "chook_point_impl.h"

#ifdef __cplusplus
}
#endif

#endif /* CHOOK_POINT_H */
