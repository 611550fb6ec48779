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
 *     static int my_prolog(void *data, chook_point_epilog_example *epilog,
 *                          int *ret, int *a, const char **b) { *a += 1; return CHOOK_POINT_CONTINUE; }
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
 * Rules at the definition site
 * ============================
 * - CHOOK_POINT / CHOOK_POINT_VOID at file scope, once per point per module (the
 *   point's record is a hidden symbol: a second definition fails to link).
 * - CHOOK_ENTER / CHOOK_ENTER_VOID once, in the outermost block of the function,
 *   before any return.
 * - Non-void functions return through CHOOK_RETURN. A plain `return` still ends
 *   the call for chook (the point's in-flight count is released), but no epilog
 *   sees its value. In a void function the epilog runs on every return.
 * - Up to 10 arguments. Argument and return types are any complete object types
 *   (typedef function pointer types for readability; __typeof__ copes anyway).
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
 * @param module  The module's path as loaded, or its file name alone
 *                ("libfoo.so.1"); NULL searches every module like
 *                chook_point_find().
 * @param name    The point's name.
 * @param point   Receives the point.
 * @return CHOOK_OK; CHOOK_EINVAL; CHOOK_ENOMODULE (no loaded module with points
 *         matches `module`); CHOOK_ENOSYM; CHOOK_EAMBIGUOUS (module given by file
 *         name only, and two loaded modules share it).
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
 * Cost: polls (sleeps of up to 1 ms); the calling code never signals it.
 */
CHOOK_API int chook_point_wait(chook_point *point, unsigned timeout_ms);

/**
 * Attaches generic callbacks, for agents that do not know the point's signature
 * when they are compiled. They see the call through the same accessors as
 * listeners of chook_attach():
 *   chook_arg(call, n)      the n-th argument of integer class (integers, enums,
 *                           bool, pointers), counting only those; read/write.
 *   chook_arg_fp(call, n)   the n-th float or double argument, as a double;
 *                           read/write (a float gets the value rounded back).
 *   chook_retval(call), chook_retval_fp(call)
 *                           the return value (in on_leave; in on_enter after
 *                           chook_skip()); read/write.
 *   chook_skip(call, v)     from on_enter: return v at once without running the
 *                           function (for a floating return, also write
 *                           *chook_retval_fp()); on_leave still runs.
 *   chook_call_data(call)   8 bytes of per-call storage, zero in on_enter.
 *   chook_call_target(call) the chook_point.
 * Arguments of other types (structures, long double, ...) are not visible: use
 * chook_point_info.signature to tell, or a typed prolog. The point's argument
 * values are written back after on_enter returns, the return value after
 * on_leave returns.
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
#define CHOOK_POINT(name, rtype, ...)                                            \
    CHOOK_POINT_TYPES(name, rtype, ##__VA_ARGS__);                               \
    CHOOK_PT__RECORD(name, 0, #rtype, rtype, ##__VA_ARGS__);                          \
    CHOOK_PT__HELPERS(name, rtype, ##__VA_ARGS__)                                   \
    extern struct chook_point chook_point__rec_##name

#define CHOOK_POINT_VOID(name, ...)                                            \
    CHOOK_POINT_VOID_TYPES(name, ##__VA_ARGS__);                               \
    CHOOK_PT__RECORD(name, 1, "void", char, ##__VA_ARGS__);                       \
    CHOOK_PT__HELPERS_VOID(name, ##__VA_ARGS__)                                   \
    extern struct chook_point chook_point__rec_##name

#define CHOOK_POINT_TYPES(name, rtype, ...)                                      \
    typedef struct chook_point_epilog_##name {                                 \
        void (*fn)(void *data, __typeof__(rtype) *r);                            \
        void *data;                                                            \
    } chook_point_epilog_##name;                                               \
    typedef int chook_point_prolog_##name(void *data,                          \
        chook_point_epilog_##name *epilog, __typeof__(rtype) *r                  \
        CHOOK_PT__MAP(L, CHOOK_PT__PTR_T, ##__VA_ARGS__));                           \
    static inline __attribute__((unused)) int chook_point_attach_##name(       \
        chook_point *point, chook_point_prolog_##name *prolog, void *data)     \
    {                                                                          \
        return chook_point_attach_typed(point,                                 \
            CHOOK_PT__SIGNATURE(#rtype, ##__VA_ARGS__), (chook_point_fn)prolog,     \
            data);                                                             \
    }                                                                          \
    enum { chook_point__void_##name = 0 }

#define CHOOK_POINT_VOID_TYPES(name, ...)                                      \
    typedef struct chook_point_epilog_##name {                                 \
        void (*fn)(void *data);                                                \
        void *data;                                                            \
    } chook_point_epilog_##name;                                               \
    typedef int chook_point_prolog_##name(void *data,                          \
        chook_point_epilog_##name *epilog                                      \
        CHOOK_PT__MAP(L, CHOOK_PT__PTR_T, ##__VA_ARGS__));                           \
    static inline __attribute__((unused)) int chook_point_attach_##name(       \
        chook_point *point, chook_point_prolog_##name *prolog, void *data)     \
    {                                                                          \
        return chook_point_attach_typed(point,                                 \
            CHOOK_PT__SIGNATURE("void", ##__VA_ARGS__), (chook_point_fn)prolog,   \
            data);                                                             \
    }                                                                          \
    enum { chook_point__void_##name = 1 }

#define CHOOK_ENTER(name, ...)                                                 \
    _Static_assert(!chook_point__void_##name,                                  \
                   "point " #name " returns void: use CHOOK_ENTER_VOID");      \
    CHOOK_PT__ENTER(name, return chook__frame_.ret, ##__VA_ARGS__)

#define CHOOK_ENTER_VOID(name, ...)                                            \
    _Static_assert(chook_point__void_##name,                                   \
                   "point " #name " returns a value: use CHOOK_ENTER");        \
    CHOOK_PT__ENTER(name, return, ##__VA_ARGS__)

#define CHOOK_RETURN(name, expr)                                               \
    do {                                                                       \
        __typeof__(chook__frame_.ret) chook__r_ = (expr);                      \
        if (__builtin_expect(chook__pending_ != 0, 0)) {                       \
            chook_point__leave_##name(chook__pending_, &chook__r_);            \
            chook__pending_ = 0;                                               \
        }                                                                      \
        return chook__r_;                                                      \
    } while (0)

/* ============================================================================
 * Implementation. Everything below is private: names and layouts may change
 * with CHOOK_POINT_ABI, which chook checks on every point it finds.
 * ========================================================================== */

#define CHOOK_POINT_ABI 1u

/* Argument kinds for the generic path (from __builtin_classify_type). */
enum {
    CHOOK_POINT__KIND_INT = 0,   /* integer, enum, bool, pointer */
    CHOOK_POINT__KIND_FLOAT = 1, /* float, double, long double (size tells) */
    CHOOK_POINT__KIND_OTHER = 2, /* struct, union, complex, ... */
    CHOOK_POINT__KIND_VOID = 3,  /* return type of void points */
};

struct chook_point_type {
    uint32_t size;
    uint32_t kind;
};

struct chook_point_frame;

/* What chook swaps into a point. Immutable once published. */
struct chook_point_attachment {
    unsigned kind;           /* CHOOK_POINT_TYPED or CHOOK_POINT_GENERIC */
    chook_point_fn prolog;   /* typed */
    void *data;
    /* generic: enter returns a verdict and sets frame->call when leave must run */
    int (*enter)(const struct chook_point_attachment *att,
                 struct chook_point_frame *frame, void *ret, void *const *args);
    void (*leave)(const struct chook_point_attachment *att,
                  struct chook_point_frame *frame, void *ret);
    /* generic: the user's callbacks and the point, for chook's bridge */
    chook_enter_fn on_enter;
    chook_leave_fn on_leave;
    struct chook_point *point;
};

/* Per call, on the stack of the instrumented function (slow path only). */
struct chook_point_frame {
    const struct chook_point_attachment *att;
    void *call;              /* the generic path's call context, in `space` */
    unsigned slot;           /* which in-flight counter this call holds */
    unsigned space_size;
    void *space;             /* room for the generic path's call context */
};

/* Room the generic path needs for a point of n arguments: its call context
 * (checked against chook's layout when chook is built), one value per argument
 * of each class, and the per-call data slot. Reserved in the instrumented
 * function's frame; written only when generic callbacks are attached. */
#define CHOOK_PT__GENERIC_BYTES(n) (192u + 16u * (unsigned)(n))

struct chook_point {
    /* Hot: the only field the detached path reads. */
    const struct chook_point_attachment *chook__attached;
    uint32_t chook__abi;
    uint16_t chook__nargs;
    uint16_t chook__void;
    const char *chook__name;
    const char *chook__signature;
    const char *chook__file;
    uint32_t chook__line;
    /* Grace periods: a call counts itself in chook__inflight[chook__epoch & 1];
     * chook_point_wait() flips the epoch twice and drains each counter. */
    unsigned chook__epoch;
    unsigned chook__inflight[2];
    const struct chook_point_type *chook__types; /* [0] return, [1..nargs] */
};

enum { CHOOK_PT__NONE = 0, CHOOK_PT__PENDING = 1, CHOOK_PT__ABORTED = 2 };

/* Counts the call in, then reads the attachment; NULL when nothing is attached
 * (nothing is held then). The increment is ordered before the load so that
 * chook_point_wait(), which stores the new attachment before draining the
 * counters, sees every call that read the old one. */
static inline const struct chook_point_attachment *
chook_point__acquire(struct chook_point *p, struct chook_point_frame *f)
{
    unsigned slot = __atomic_load_n(&p->chook__epoch, __ATOMIC_RELAXED) & 1u;
    __atomic_fetch_add(&p->chook__inflight[slot], 1u, __ATOMIC_SEQ_CST);
    const struct chook_point_attachment *att =
        __atomic_load_n(&p->chook__attached, __ATOMIC_SEQ_CST);
    if (!att) {
        __atomic_fetch_sub(&p->chook__inflight[slot], 1u, __ATOMIC_RELEASE);
        return 0;
    }
    f->att = att;
    f->call = 0;
    f->slot = slot;
    return att;
}

/* Release: the waiter's acquire load of 0 then sees every effect of the
 * callbacks. */
static inline void chook_point__release(struct chook_point *p,
                                        const struct chook_point_frame *f)
{
    __atomic_fetch_sub(&p->chook__inflight[f->slot], 1u, __ATOMIC_RELEASE);
}

#if defined(CHOOK_POINT_MODE_jump) && defined(__x86_64__)
/* A 5-byte no-op recorded in section chook_point_sites as (site, slow path,
 * point), each relative to its own field, then its length and its bytes (which
 * detaching writes back); attaching rewrites it into a jump to the slow path.
 * The note of type 2 locates the section (see CHOOK_PT__NOTE_ASM). */
#define CHOOK_PT__ATTACHED(name) __builtin_expect(chook_point__jump_##name(), 0)
#define CHOOK_PT__JUMP_FN(name)                                                   \
    static inline __attribute__((always_inline, unused)) int                  \
    chook_point__jump_##name(void)                                             \
    {                                                                          \
        __asm__ goto(                                                          \
            "1: .byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n\t" /* nopl 0(%%rax,%%rax) */ \
            ".pushsection chook_point_sites, \"aw\"\n\t"                       \
            ".balign 4\n\t"                                                    \
            ".long 1b - .\n\t"                                                 \
            ".long %l[chook__slow] - .\n\t"                                    \
            ".long chook_point__rec_" #name " - .\n\t"                         \
            ".byte 5, 0x0f, 0x1f, 0x44, 0x00, 0x00, 0, 0\n\t" /* len, no-op */  \
            ".popsection\n\t"                                                  \
            CHOOK_PT__NOTE_ASM("chook__note_sites", "chook_point_sites", "2")     \
            : : : : chook__slow);                                              \
        return 0;                                                              \
    chook__slow:                                                               \
        return 1;                                                              \
    }
#else
#define CHOOK_PT__ATTACHED(name)                                                  \
    __builtin_expect(__atomic_load_n(&chook_point__rec_##name.chook__attached, \
                                     __ATOMIC_RELAXED) != 0, 0)
#define CHOOK_PT__JUMP_FN(name)
#endif

/* An ELF note "chook" of type `type` whose descriptor holds the offsets of
 * __start_<section> and __stop_<section>, each relative to itself. The linker
 * places notes in a PT_NOTE segment, which dl_iterate_phdr() shows. Emitted once
 * per translation unit (guarded by an assembler symbol); duplicates across
 * translation units of one module are harmless. The bounds are hidden so each
 * module sees its own section and the offsets are fixed at link time. */
#define CHOOK_PT__NOTE_ASM(guard, section, type)                                  \
    ".ifndef " guard "\n\t"                                                    \
    ".set " guard ", 1\n\t"                                                    \
    ".hidden __start_" section "\n\t"                                          \
    ".hidden __stop_" section "\n\t"                                           \
    ".pushsection .note.chook, \"a\", @note\n\t"                               \
    ".balign 4\n\t"                                                            \
    ".long 6\n\t"                 /* namesz: "chook\0" */                      \
    ".long 8\n\t"                 /* descsz: two offsets */                    \
    ".long " type "\n\t"                                                       \
    ".asciz \"chook\"\n\t"                                                     \
    ".balign 4\n\t"                                                            \
    ".long __start_" section " - .\n\t"                                        \
    ".long __stop_" section " - .\n\t"                                         \
    ".popsection\n\t"                                                          \
    ".endif\n\t"

#define CHOOK_PT__RECORD(name, is_void, ret_str, rtype, ...)                        \
    static const struct chook_point_type chook_point__types_##name[] = {       \
        { (is_void) ? 0u : (uint32_t)sizeof(rtype),                              \
          (is_void) ? (uint32_t)CHOOK_POINT__KIND_VOID : CHOOK_PT__KIND(rtype) }    \
        CHOOK_PT__MAP(L, CHOOK_PT__TYPE_DESC, ##__VA_ARGS__)                         \
    };                                                                         \
    __attribute__((visibility("hidden"))) struct chook_point                   \
        chook_point__rec_##name = {                                            \
        0, CHOOK_POINT_ABI, (uint16_t)CHOOK_PT__NARGS(__VA_ARGS__),               \
        (uint16_t)(is_void), #name, CHOOK_PT__SIGNATURE(ret_str, ##__VA_ARGS__),  \
        __FILE__, __LINE__, 0, { 0, 0 }, chook_point__types_##name             \
    };                                                                         \
    static struct chook_point *chook_point__ptr_##name                         \
        __attribute__((section("chook_points"), used, aligned(8))) =           \
        &chook_point__rec_##name;                                              \
    __asm__(CHOOK_PT__NOTE_ASM("chook__note_points", "chook_points", "1"))

#define CHOOK_PT__HELPERS(name, rtype, ...)                                         \
    typedef struct chook_point__frame_##name {                                 \
        struct chook_point_frame base;                                         \
        chook_point_epilog_##name epilog;                                      \
        __typeof__(rtype) ret;                                                   \
        _Alignas(16) unsigned char generic[                                    \
            CHOOK_PT__GENERIC_BYTES(CHOOK_PT__NARGS(__VA_ARGS__))];            \
    } chook_point__frame_##name;                                               \
    typedef struct chook_point__args_##name {                                  \
        CHOOK_PT__MAP(S, CHOOK_PT__FIELD, ##__VA_ARGS__)                       \
        char chook__end;                                                       \
    } chook_point__args_##name;                                                \
    CHOOK_PT__JUMP_FN(name)                                                       \
    static __attribute__((noinline, cold, unused)) void                       \
    chook_point__leave_##name(chook_point__frame_##name *f,                    \
                              __typeof__(rtype) *r)                              \
    {                                                                          \
        if (f->epilog.fn)                                                      \
            f->epilog.fn(f->epilog.data, r);                                   \
        else if (f->base.call)                                                 \
            f->base.att->leave(f->base.att, &f->base, r);                      \
        chook_point__release(&chook_point__rec_##name, &f->base);              \
    }                                                                          \
    static __attribute__((noinline, cold, unused)) int                        \
    chook_point__enter_##name(chook_point__frame_##name *f,                    \
                              chook_point__args_##name *chook__a CHOOK_PT__UNUSED) \
    {                                                                          \
        const struct chook_point_attachment *att =                             \
            chook_point__acquire(&chook_point__rec_##name, &f->base);          \
        if (!att) return CHOOK_PT__NONE;                                          \
        __builtin_memset(&f->ret, 0, sizeof f->ret);                           \
        f->epilog.fn = 0;                                                      \
        f->epilog.data = 0;                                                    \
        int verdict;                                                           \
        if (att->kind == CHOOK_POINT_TYPED) {                                  \
            verdict = ((chook_point_prolog_##name *)att->prolog)(      \
                att->data, &f->epilog, &f->ret                                 \
                CHOOK_PT__MAP(L, CHOOK_PT__FIELD_ADDR, ##__VA_ARGS__));        \
        } else {                                                               \
            void *const args[] = {                                             \
                CHOOK_PT__MAP(T, CHOOK_PT__FIELD_ADDR, ##__VA_ARGS__) 0 };     \
            f->base.space = f->generic;                                        \
            f->base.space_size = (unsigned)sizeof f->generic;                  \
            verdict = att->enter(att, &f->base, &f->ret, args);                \
        }                                                                      \
        if (verdict == CHOOK_POINT_ABORT) {                                    \
            chook_point__leave_##name(f, &f->ret);                             \
            return CHOOK_PT__ABORTED;                                             \
        }                                                                      \
        if (!f->epilog.fn && !f->base.call) {                                  \
            chook_point__release(&chook_point__rec_##name, &f->base);          \
            return CHOOK_PT__NONE;                                                \
        }                                                                      \
        return CHOOK_PT__PENDING;                                                 \
    }                                                                          \
    /* A return that bypassed CHOOK_RETURN: no value for an epilog to see;     \
     * end the call for chook so the in-flight count is not leaked. */        \
    static inline __attribute__((always_inline, unused)) void                 \
    chook_point__abandon_##name(chook_point__frame_##name **pf)                \
    {                                                                          \
        if (__builtin_expect(*pf != 0, 0)) {                                   \
            if ((*pf)->base.call)                                              \
                (*pf)->base.att->leave((*pf)->base.att, &(*pf)->base, 0);      \
            chook_point__release(&chook_point__rec_##name, &(*pf)->base);      \
        }                                                                      \
    }

#define CHOOK_PT__HELPERS_VOID(name, ...)                                         \
    typedef struct chook_point__frame_##name {                                 \
        struct chook_point_frame base;                                         \
        chook_point_epilog_##name epilog;                                      \
        _Alignas(16) unsigned char generic[                                    \
            CHOOK_PT__GENERIC_BYTES(CHOOK_PT__NARGS(__VA_ARGS__))];            \
    } chook_point__frame_##name;                                               \
    typedef struct chook_point__args_##name {                                  \
        CHOOK_PT__MAP(S, CHOOK_PT__FIELD, ##__VA_ARGS__)                       \
        char chook__end;                                                       \
    } chook_point__args_##name;                                                \
    CHOOK_PT__JUMP_FN(name)                                                       \
    static __attribute__((noinline, cold, unused)) void                       \
    chook_point__leave_##name(chook_point__frame_##name *f)                    \
    {                                                                          \
        if (f->epilog.fn)                                                      \
            f->epilog.fn(f->epilog.data);                                      \
        else if (f->base.call)                                                 \
            f->base.att->leave(f->base.att, &f->base, 0);                      \
        chook_point__release(&chook_point__rec_##name, &f->base);              \
    }                                                                          \
    static __attribute__((noinline, cold, unused)) int                        \
    chook_point__enter_##name(chook_point__frame_##name *f,                    \
                              chook_point__args_##name *chook__a CHOOK_PT__UNUSED) \
    {                                                                          \
        const struct chook_point_attachment *att =                             \
            chook_point__acquire(&chook_point__rec_##name, &f->base);          \
        if (!att) return CHOOK_PT__NONE;                                          \
        f->epilog.fn = 0;                                                      \
        f->epilog.data = 0;                                                    \
        int verdict;                                                           \
        if (att->kind == CHOOK_POINT_TYPED) {                                  \
            verdict = ((chook_point_prolog_##name *)att->prolog)(      \
                att->data, &f->epilog                                          \
                CHOOK_PT__MAP(L, CHOOK_PT__FIELD_ADDR, ##__VA_ARGS__));        \
        } else {                                                               \
            void *const args[] = {                                             \
                CHOOK_PT__MAP(T, CHOOK_PT__FIELD_ADDR, ##__VA_ARGS__) 0 };     \
            f->base.space = f->generic;                                        \
            f->base.space_size = (unsigned)sizeof f->generic;                  \
            verdict = att->enter(att, &f->base, 0, args);                      \
        }                                                                      \
        if (verdict == CHOOK_POINT_ABORT) {                                    \
            chook_point__leave_##name(f);                                      \
            return CHOOK_PT__ABORTED;                                             \
        }                                                                      \
        if (!f->epilog.fn && !f->base.call) {                                  \
            chook_point__release(&chook_point__rec_##name, &f->base);          \
            return CHOOK_PT__NONE;                                                \
        }                                                                      \
        return CHOOK_PT__PENDING;                                                 \
    }                                                                          \
    /* In a void function every return ends the call the same way. */         \
    static inline __attribute__((always_inline, unused)) void                 \
    chook_point__abandon_##name(chook_point__frame_##name **pf)                \
    {                                                                          \
        if (__builtin_expect(*pf != 0, 0))                                     \
            chook_point__leave_##name(*pf);                                    \
    }

/* The arguments are copied into a local only on the slow path and copied back
 * after the prolog: the parameters' addresses are never taken, so the detached
 * path leaves them in registers. The copies are checked against the point's
 * types (qualifiers aside) so a wrong CHOOK_ENTER does not compile. */
#define CHOOK_PT__ENTER(name, on_abort, ...)                                   \
    chook_point__frame_##name chook__frame_;                                   \
    chook_point__frame_##name *chook__pending_                                 \
        __attribute__((cleanup(chook_point__abandon_##name))) = 0;             \
    if (CHOOK_PT__ATTACHED(name)) {                                            \
        chook_point__args_##name chook__args_ = {                              \
            CHOOK_PT__MAP(T, CHOOK_PT__VALUE, ##__VA_ARGS__) 0 };              \
        CHOOK_PT__MAP(S, CHOOK_PT__CHECK, ##__VA_ARGS__)                       \
        int chook__v_ = chook_point__enter_##name(&chook__frame_, &chook__args_); \
        if (chook__v_ == CHOOK_PT__ABORTED) on_abort;                          \
        CHOOK_PT__MAP(S, CHOOK_PT__BACK, ##__VA_ARGS__)                        \
        if (chook__v_ == CHOOK_PT__PENDING) chook__pending_ = &chook__frame_;  \
    }                                                                          \
    do { } while (0)

/* ---- preprocessor helpers --------------------------------------------------- */

#define CHOOK_PT__CAT(a, b) CHOOK_PT__CAT_(a, b)
#define CHOOK_PT__CAT_(a, b) a##b
#define CHOOK_PT__NARGS(...) CHOOK_PT__NARGS_(0, ##__VA_ARGS__, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define CHOOK_PT__NARGS_(z, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, n, ...) n

/* CHOOK_PT__MAP(L, m, xs...): ", m(1, x1) , m(2, x2)..."; (T, ...): "m(1, x1),
 * m(2, x2), ..."; (S, ...): "m(1, x1) m(2, x2) ...". */
#define CHOOK_PT__MAP(form, m, ...)                                               \
    CHOOK_PT__CAT(CHOOK_PT__CAT(CHOOK_PT__MAP, form), CHOOK_PT__CAT(_, CHOOK_PT__NARGS(__VA_ARGS__))) \
    (m, ##__VA_ARGS__)

#define CHOOK_PT__UNUSED __attribute__((unused))
#define CHOOK_PT__PTR_T(i, t) __typeof__(t) *
#define CHOOK_PT__FIELD(i, t) __typeof__(t) a##i;
#define CHOOK_PT__FIELD_ADDR(i, t) &chook__a->a##i
#define CHOOK_PT__VALUE(i, x) (x)
#define CHOOK_PT__BACK(i, x) (x) = chook__args_.a##i;
#define CHOOK_PT__CHECK(i, x)                                                  \
    _Static_assert(__builtin_types_compatible_p(__typeof__(x),                 \
                                                __typeof__(chook__args_.a##i)), \
                   "argument " #i " (" #x ") does not have the point's type");
#define CHOOK_PT__TYPE_DESC(i, t) { (uint32_t)sizeof(t), CHOOK_PT__KIND(t) }
/* __builtin_classify_type: 1 integer, 2 char, 3 enum, 4 bool, 5 pointer,
 * 6 reference, 8 real. The operand is never evaluated. */
#define CHOOK_PT__KIND(t)                                                         \
    (__builtin_classify_type(*(__typeof__(t) *)0) == 8                         \
         ? (uint32_t)CHOOK_POINT__KIND_FLOAT                                   \
     : (__builtin_classify_type(*(__typeof__(t) *)0) >= 1 &&                   \
        __builtin_classify_type(*(__typeof__(t) *)0) <= 6)                     \
         ? (uint32_t)CHOOK_POINT__KIND_INT                                     \
         : (uint32_t)CHOOK_POINT__KIND_OTHER)

#define CHOOK_PT__SIGNATURE(ret_str, ...)                                         \
    ret_str " (" CHOOK_PT__CAT(CHOOK_PT__SIGARGS_, CHOOK_PT__IS0(__VA_ARGS__))(__VA_ARGS__) ")"
#define CHOOK_PT__IS0(...) CHOOK_PT__CAT(CHOOK_PT__IS0_, CHOOK_PT__NARGS(__VA_ARGS__))
#define CHOOK_PT__IS0_0 1
#define CHOOK_PT__IS0_1 0
#define CHOOK_PT__IS0_2 0
#define CHOOK_PT__IS0_3 0
#define CHOOK_PT__IS0_4 0
#define CHOOK_PT__IS0_5 0
#define CHOOK_PT__IS0_6 0
#define CHOOK_PT__IS0_7 0
#define CHOOK_PT__IS0_8 0
#define CHOOK_PT__IS0_9 0
#define CHOOK_PT__IS0_10 0
#define CHOOK_PT__SIGARGS_1(...) "void"
#define CHOOK_PT__SIGARGS_0(...) #__VA_ARGS__

#define CHOOK_PT__MAPL_0(m)
#define CHOOK_PT__MAPL_1(m, a1) , m(1, a1)
#define CHOOK_PT__MAPL_2(m, a1, a2) , m(1, a1) , m(2, a2)
#define CHOOK_PT__MAPL_3(m, a1, a2, a3) , m(1, a1) , m(2, a2) , m(3, a3)
#define CHOOK_PT__MAPL_4(m, a1, a2, a3, a4) , m(1, a1) , m(2, a2) , m(3, a3) , m(4, a4)
#define CHOOK_PT__MAPL_5(m, a1, a2, a3, a4, a5)                                   \
    , m(1, a1) , m(2, a2) , m(3, a3) , m(4, a4) , m(5, a5)
#define CHOOK_PT__MAPL_6(m, a1, a2, a3, a4, a5, a6)                               \
    , m(1, a1) , m(2, a2) , m(3, a3) , m(4, a4) , m(5, a5) , m(6, a6)
#define CHOOK_PT__MAPL_7(m, a1, a2, a3, a4, a5, a6, a7)                           \
    , m(1, a1) , m(2, a2) , m(3, a3) , m(4, a4) , m(5, a5) , m(6, a6) , m(7, a7)
#define CHOOK_PT__MAPL_8(m, a1, a2, a3, a4, a5, a6, a7, a8)                       \
    , m(1, a1) , m(2, a2) , m(3, a3) , m(4, a4) , m(5, a5) , m(6, a6) , m(7, a7) \
    , m(8, a8)
#define CHOOK_PT__MAPL_9(m, a1, a2, a3, a4, a5, a6, a7, a8, a9)                   \
    , m(1, a1) , m(2, a2) , m(3, a3) , m(4, a4) , m(5, a5) , m(6, a6) , m(7, a7) \
    , m(8, a8) , m(9, a9)
#define CHOOK_PT__MAPL_10(m, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10)             \
    , m(1, a1) , m(2, a2) , m(3, a3) , m(4, a4) , m(5, a5) , m(6, a6) , m(7, a7) \
    , m(8, a8) , m(9, a9) , m(10, a10)
#define CHOOK_PT__MAPS_0(m)
#define CHOOK_PT__MAPS_1(m, a1) m(1, a1)
#define CHOOK_PT__MAPS_2(m, a1, a2) m(1, a1) m(2, a2)
#define CHOOK_PT__MAPS_3(m, a1, a2, a3) m(1, a1) m(2, a2) m(3, a3)
#define CHOOK_PT__MAPS_4(m, a1, a2, a3, a4) m(1, a1) m(2, a2) m(3, a3) m(4, a4)
#define CHOOK_PT__MAPS_5(m, a1, a2, a3, a4, a5) m(1, a1) m(2, a2) m(3, a3) m(4, a4) m(5, a5)
#define CHOOK_PT__MAPS_6(m, a1, a2, a3, a4, a5, a6) m(1, a1) m(2, a2) m(3, a3) m(4, a4) m(5, a5) m(6, a6)
#define CHOOK_PT__MAPS_7(m, a1, a2, a3, a4, a5, a6, a7) m(1, a1) m(2, a2) m(3, a3) m(4, a4) m(5, a5) m(6, a6) m(7, a7)
#define CHOOK_PT__MAPS_8(m, a1, a2, a3, a4, a5, a6, a7, a8) m(1, a1) m(2, a2) m(3, a3) m(4, a4) m(5, a5) m(6, a6) m(7, a7) m(8, a8)
#define CHOOK_PT__MAPS_9(m, a1, a2, a3, a4, a5, a6, a7, a8, a9) m(1, a1) m(2, a2) m(3, a3) m(4, a4) m(5, a5) m(6, a6) m(7, a7) m(8, a8) m(9, a9)
#define CHOOK_PT__MAPS_10(m, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10) m(1, a1) m(2, a2) m(3, a3) m(4, a4) m(5, a5) m(6, a6) m(7, a7) m(8, a8) m(9, a9) m(10, a10)
#define CHOOK_PT__MAPT_0(m)
#define CHOOK_PT__MAPT_1(m, a1) m(1, a1),
#define CHOOK_PT__MAPT_2(m, a1, a2) m(1, a1), m(2, a2),
#define CHOOK_PT__MAPT_3(m, a1, a2, a3) m(1, a1), m(2, a2), m(3, a3),
#define CHOOK_PT__MAPT_4(m, a1, a2, a3, a4) m(1, a1), m(2, a2), m(3, a3), m(4, a4),
#define CHOOK_PT__MAPT_5(m, a1, a2, a3, a4, a5)                                   \
    m(1, a1), m(2, a2), m(3, a3), m(4, a4), m(5, a5),
#define CHOOK_PT__MAPT_6(m, a1, a2, a3, a4, a5, a6)                               \
    m(1, a1), m(2, a2), m(3, a3), m(4, a4), m(5, a5), m(6, a6),
#define CHOOK_PT__MAPT_7(m, a1, a2, a3, a4, a5, a6, a7)                           \
    m(1, a1), m(2, a2), m(3, a3), m(4, a4), m(5, a5), m(6, a6), m(7, a7),
#define CHOOK_PT__MAPT_8(m, a1, a2, a3, a4, a5, a6, a7, a8)                       \
    m(1, a1), m(2, a2), m(3, a3), m(4, a4), m(5, a5), m(6, a6), m(7, a7), m(8, a8),
#define CHOOK_PT__MAPT_9(m, a1, a2, a3, a4, a5, a6, a7, a8, a9)                   \
    m(1, a1), m(2, a2), m(3, a3), m(4, a4), m(5, a5), m(6, a6), m(7, a7), m(8, a8), \
    m(9, a9),
#define CHOOK_PT__MAPT_10(m, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10)             \
    m(1, a1), m(2, a2), m(3, a3), m(4, a4), m(5, a5), m(6, a6), m(7, a7), m(8, a8), \
    m(9, a9), m(10, a10),

#ifdef __cplusplus
}
#endif

#endif /* CHOOK_POINT_H */
