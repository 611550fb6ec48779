/*
 * chook_typed_fixed.h — typed listeners whose callbacks are fixed at compile time.
 *
 * CHOOK_TYPED (chook.h) takes its prolog and epilog at attach time and calls them
 * through pointers: three calls per intercepted call. When the callbacks are
 * known where the hook is declared, CHOOK_TYPED_FIXED names them in the macro
 * instead, so the compiler calls them directly and usually inlines them into the
 * generated replacement. Everything else is as for CHOOK_TYPED: the replacement
 * has the target's own signature, the prolog gets typed pointers to each
 * argument and to the return value and may skip the original, the epilog gets a
 * typed pointer to the return value, call_data is shared by the pair, and
 * re-entrancy and chook_ignore_thread() behave as for listeners.
 */
#ifndef CHOOK_TYPED_FIXED_H
#define CHOOK_TYPED_FIXED_H

#include "chook.h"

/* The callbacks as constants of their exact types: a callback of another type
 * does not compile silently, and the compiler sees through the constant (a
 * direct call, or nothing for NULL). */
#define CHOOK__TYPED_FIXED_CALLBACKS(NAME, PROLOG, EPILOG)                                \
    static const NAME##_prolog NAME##_fixed_prolog = PROLOG;                              \
    static const NAME##_epilog NAME##_fixed_epilog = EPILOG;

#define CHOOK__TYPED_FIXED_COMMON(NAME)                                                   \
    static __attribute__((unused)) int NAME##_attach(void *target, void *data,            \
                                                     chook_typed **out)                   \
    {                                                                                     \
        return chook_typed_attach(target, (void *)NAME##_replacement,                     \
                                  (chook_fn)NAME##_fixed_prolog,                          \
                                  (chook_fn)NAME##_fixed_epilog, data, out);              \
    }

/*
 * CHOOK_TYPED_FIXED(NAME, PROLOG, EPILOG, R, A0, A1, ...) — a typed listener for
 * functions `R f(A0, A1, ...)` (1 to 10 arguments; R not void, see
 * CHOOK_TYPED_FIXED_VOID) that always runs PROLOG and EPILOG (function names
 * declared before the macro, or NULL; not both NULL). It defines, at file scope:
 *
 *   typedef int  (*NAME_prolog)(A0 *a0, A1 *a1, ..., R *ret, uint64_t *call_data, void *data);
 *   typedef void (*NAME_epilog)(R *ret, uint64_t *call_data, void *data);
 *   R NAME_replacement(A0, A1, ...);   (static)
 *   int NAME_attach(void *target, void *data, chook_typed **out);
 *
 * NAME_attach() returns as chook_typed_attach(); detach with
 * chook_typed_detach(). One NAME may be attached to many targets, each with its
 * own data.
 */
#define CHOOK_TYPED_FIXED(NAME, PROLOG, EPILOG, R, ...)                                   \
    typedef int (*NAME##_prolog)(CHOOK__EACH(CHOOK__PTR, __VA_ARGS__), R *, uint64_t *,   \
                                 void *);                                                 \
    typedef void (*NAME##_epilog)(R *, uint64_t *, void *);                               \
    CHOOK__TYPED_FIXED_CALLBACKS(NAME, PROLOG, EPILOG)                                    \
    CHOOK__TYPED_REPLACEMENT(NAME, NAME##_fixed_prolog, NAME##_fixed_epilog, R,           \
                             __VA_ARGS__)                                                 \
    CHOOK__TYPED_FIXED_COMMON(NAME)

/*
 * CHOOK_TYPED_FIXED_VOID(NAME, PROLOG, EPILOG, A0, A1, ...) — as CHOOK_TYPED_FIXED
 * for functions returning void:
 *   typedef int  (*NAME_prolog)(A0 *a0, ..., uint64_t *call_data, void *data);
 *   typedef void (*NAME_epilog)(uint64_t *call_data, void *data);
 */
#define CHOOK_TYPED_FIXED_VOID(NAME, PROLOG, EPILOG, ...)                                 \
    typedef int (*NAME##_prolog)(CHOOK__EACH(CHOOK__PTR, __VA_ARGS__), uint64_t *,        \
                                 void *);                                                 \
    typedef void (*NAME##_epilog)(uint64_t *, void *);                                    \
    CHOOK__TYPED_FIXED_CALLBACKS(NAME, PROLOG, EPILOG)                                    \
    CHOOK__TYPED_REPLACEMENT_VOID(NAME, NAME##_fixed_prolog, NAME##_fixed_epilog,         \
                                  __VA_ARGS__)                                            \
    CHOOK__TYPED_FIXED_COMMON(NAME)

#endif /* CHOOK_TYPED_FIXED_H */
