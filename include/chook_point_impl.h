/*
 * The machinery behind the macros of chook_point.h: the point record, the
 * attachment and frame layouts shared with chook, the detached test of each
 * mode, and the preprocessor helpers. Installed with chook_point.h, which includes
 * it: not for direct inclusion. Its layouts are part of the ABI (abi/chook.structs).
 * Names and layouts may change with CHOOK_POINT_ABI, which chook checks on every
 * point it finds, so a module built against another layout is skipped.
 */
#ifndef CHOOK_POINT_IMPL_H
#define CHOOK_POINT_IMPL_H

/* Normally included by chook_point.h, last; this makes the file complete on its
 * own too (for tools that read headers one by one). */
#include "chook_point.h"

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
#define CHOOK_PT__JUMP_FN(name)                                                \
    static inline __attribute__((always_inline, unused)) int                   \
    chook_point__jump_##name(void)                                             \
    {                                                                          \
        __asm__ goto(                                                          \
            /* 0f 1f 44 00 00   nopl 0x0(%rax,%rax,1) */                       \
            "1: .byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n\t"                        \
            ".pushsection chook_point_sites, \"a\"\n\t"                        \
            ".balign 4\n\t"                                                    \
            ".long 1b - .\n\t"                                                 \
            ".long %l[chook__slow] - .\n\t"                                    \
            ".long chook_point__rec_" #name " - .\n\t"                         \
            /* its length, then the same nopl 0x0(%rax,%rax,1), padded to 8 */ \
            ".byte 5, 0x0f, 0x1f, 0x44, 0x00, 0x00, 0, 0\n\t"                  \
            ".popsection\n\t"                                                  \
            CHOOK_PT__NOTE_ASM("chook__note_sites", "chook_point_sites", "2")  \
            : : : : chook__slow);                                              \
        return 0;                                                              \
    chook__slow:                                                               \
        return 1;                                                              \
    }
#else
#define CHOOK_PT__ATTACHED(name)                                               \
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
#define CHOOK_PT__NOTE_ASM(guard, section, type)                               \
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

#define CHOOK_PT__RECORD(name, is_void, ret_str, rtype, ...)                   \
    static const struct chook_point_type chook_point__types_##name[] = {       \
        { (is_void) ? 0u : (uint32_t)sizeof(rtype),                            \
          (is_void) ? (uint32_t)CHOOK_POINT__KIND_VOID : CHOOK_PT__KIND(rtype) } \
        CHOOK_PT__MAP(CHOOK_PT__TYPE_DESC, __VA_ARGS__)                        \
    };                                                                         \
    __attribute__((visibility("hidden"))) struct chook_point                   \
        chook_point__rec_##name = {                                            \
        0, CHOOK_POINT_ABI, (uint16_t)CHOOK_PT__NARGS(__VA_ARGS__),            \
        (uint16_t)(is_void), #name, CHOOK_PT__SIGNATURE(ret_str, __VA_ARGS__), \
        __FILE__, __LINE__, 0, { 0, 0 }, chook_point__types_##name             \
    };                                                                         \
    static struct chook_point *chook_point__ptr_##name                         \
        __attribute__((section("chook_points"), used, aligned(8))) =           \
        &chook_point__rec_##name;                                              \
    __asm__(CHOOK_PT__NOTE_ASM("chook__note_points", "chook_points", "1"))

#define CHOOK_PT__HELPERS(name, rtype, ...)                                    \
    typedef struct chook_point__frame_##name {                                 \
        struct chook_point_frame base;                                         \
        chook_point_epilog_##name epilog;                                      \
        __typeof__(rtype) ret;                                                 \
        _Alignas(16) unsigned char generic[                                    \
            CHOOK_PT__GENERIC_BYTES(CHOOK_PT__NARGS(__VA_ARGS__))];            \
    } chook_point__frame_##name;                                               \
    typedef struct chook_point__args_##name {                                  \
        CHOOK_PT__MAP(CHOOK_PT__FIELD, __VA_ARGS__)                            \
        char chook__end;                                                       \
    } chook_point__args_##name;                                                \
    CHOOK_PT__JUMP_FN(name)                                                    \
    static __attribute__((noinline, cold, unused)) void                        \
    chook_point__leave_##name(chook_point__frame_##name *f,                    \
                              __typeof__(rtype) *r)                            \
    {                                                                          \
        if (f->epilog.fn)                                                      \
            f->epilog.fn(f->epilog.data, r);                                   \
        else if (f->base.call)                                                 \
            f->base.att->leave(f->base.att, &f->base, r);                      \
        chook_point__release(&chook_point__rec_##name, &f->base);              \
    }                                                                          \
    static __attribute__((noinline, cold, unused)) int                         \
    chook_point__enter_##name(chook_point__frame_##name *f,                    \
                              chook_point__args_##name *chook__a CHOOK_PT__UNUSED) \
    {                                                                          \
        const struct chook_point_attachment *att =                             \
            chook_point__acquire(&chook_point__rec_##name, &f->base);          \
        if (!att) return CHOOK_PT__NONE;                                       \
        __builtin_memset(&f->ret, 0, sizeof f->ret);                           \
        f->epilog.fn = 0;                                                      \
        f->epilog.data = 0;                                                    \
        int verdict;                                                           \
        if (att->kind == CHOOK_POINT_TYPED) {                                  \
            verdict = ((chook_point_prolog_##name *)att->prolog)(              \
                att->data, &f->epilog, &f->ret                                 \
                CHOOK_PT__MAP(CHOOK_PT__FIELD_ADDR_L, __VA_ARGS__));           \
        } else {                                                               \
            void *const args[] = {                                             \
                CHOOK_PT__MAP(CHOOK_PT__FIELD_ADDR_T, __VA_ARGS__) 0 };        \
            f->base.space = f->generic;                                        \
            f->base.space_size = (unsigned)sizeof f->generic;                  \
            verdict = att->enter(att, &f->base, &f->ret, args);                \
        }                                                                      \
        if (verdict == CHOOK_POINT_ABORT) {                                    \
            chook_point__leave_##name(f, &f->ret);                             \
            return CHOOK_PT__ABORTED;                                          \
        }                                                                      \
        if (!f->epilog.fn && !f->base.call) {                                  \
            chook_point__release(&chook_point__rec_##name, &f->base);          \
            return CHOOK_PT__NONE;                                             \
        }                                                                      \
        return CHOOK_PT__PENDING;                                              \
    }                                                                          \
    /* A return that bypassed CHOOK_RETURN: no value for an epilog to see;     \
     * end the call for chook so the in-flight count is not leaked. */         \
    static inline __attribute__((always_inline, unused)) void                  \
    chook_point__abandon_##name(chook_point__frame_##name **pf)                \
    {                                                                          \
        if (__builtin_expect(*pf != 0, 0)) {                                   \
            if ((*pf)->base.call)                                              \
                (*pf)->base.att->leave((*pf)->base.att, &(*pf)->base, 0);      \
            chook_point__release(&chook_point__rec_##name, &(*pf)->base);      \
        }                                                                      \
    }

#define CHOOK_PT__HELPERS_VOID(name, ...)                                      \
    typedef struct chook_point__frame_##name {                                 \
        struct chook_point_frame base;                                         \
        chook_point_epilog_##name epilog;                                      \
        _Alignas(16) unsigned char generic[                                    \
            CHOOK_PT__GENERIC_BYTES(CHOOK_PT__NARGS(__VA_ARGS__))];            \
    } chook_point__frame_##name;                                               \
    typedef struct chook_point__args_##name {                                  \
        CHOOK_PT__MAP(CHOOK_PT__FIELD, __VA_ARGS__)                            \
        char chook__end;                                                       \
    } chook_point__args_##name;                                                \
    CHOOK_PT__JUMP_FN(name)                                                    \
    static __attribute__((noinline, cold, unused)) void                        \
    chook_point__leave_##name(chook_point__frame_##name *f)                    \
    {                                                                          \
        if (f->epilog.fn)                                                      \
            f->epilog.fn(f->epilog.data);                                      \
        else if (f->base.call)                                                 \
            f->base.att->leave(f->base.att, &f->base, 0);                      \
        chook_point__release(&chook_point__rec_##name, &f->base);              \
    }                                                                          \
    static __attribute__((noinline, cold, unused)) int                         \
    chook_point__enter_##name(chook_point__frame_##name *f,                    \
                              chook_point__args_##name *chook__a CHOOK_PT__UNUSED) \
    {                                                                          \
        const struct chook_point_attachment *att =                             \
            chook_point__acquire(&chook_point__rec_##name, &f->base);          \
        if (!att) return CHOOK_PT__NONE;                                       \
        f->epilog.fn = 0;                                                      \
        f->epilog.data = 0;                                                    \
        int verdict;                                                           \
        if (att->kind == CHOOK_POINT_TYPED) {                                  \
            verdict = ((chook_point_prolog_##name *)att->prolog)(              \
                att->data, &f->epilog                                          \
                CHOOK_PT__MAP(CHOOK_PT__FIELD_ADDR_L, __VA_ARGS__));           \
        } else {                                                               \
            void *const args[] = {                                             \
                CHOOK_PT__MAP(CHOOK_PT__FIELD_ADDR_T, __VA_ARGS__) 0 };        \
            f->base.space = f->generic;                                        \
            f->base.space_size = (unsigned)sizeof f->generic;                  \
            verdict = att->enter(att, &f->base, 0, args);                      \
        }                                                                      \
        if (verdict == CHOOK_POINT_ABORT) {                                    \
            chook_point__leave_##name(f);                                      \
            return CHOOK_PT__ABORTED;                                          \
        }                                                                      \
        if (!f->epilog.fn && !f->base.call) {                                  \
            chook_point__release(&chook_point__rec_##name, &f->base);          \
            return CHOOK_PT__NONE;                                             \
        }                                                                      \
        return CHOOK_PT__PENDING;                                              \
    }                                                                          \
    /* In a void function every return ends the call the same way. */          \
    static inline __attribute__((always_inline, unused)) void                  \
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
    _Static_assert(CHOOK_PT__NARGS(__VA_ARGS__) == chook_point__nargs_##name,  \
                   "CHOOK_ENTER(" #name ", ...) must name every parameter");   \
    chook_point__frame_##name chook__frame_;                                   \
    chook_point__frame_##name *chook__pending_                                 \
        __attribute__((cleanup(chook_point__abandon_##name))) = 0;             \
    if (CHOOK_PT__ATTACHED(name)) {                                            \
        chook_point__args_##name chook__args_ = {                              \
            CHOOK_PT__MAP(CHOOK_PT__VALUE, __VA_ARGS__) 0 };                   \
        CHOOK_PT__MAP(CHOOK_PT__CHECK, __VA_ARGS__)                            \
        int chook__v_ = chook_point__enter_##name(&chook__frame_, &chook__args_); \
        if (chook__v_ == CHOOK_PT__ABORTED) on_abort;                          \
        CHOOK_PT__MAP(CHOOK_PT__BACK, __VA_ARGS__)                             \
        if (chook__v_ == CHOOK_PT__PENDING) chook__pending_ = &chook__frame_;  \
    }                                                                          \
    do { } while (0)

/* ---- preprocessor helpers --------------------------------------------------- */

#define CHOOK_PT__CAT(a, b) CHOOK_PT__CAT_(a, b)
#define CHOOK_PT__CAT_(a, b) a##b
/* The number of arguments, 0 for none, without the GNU ", ##__VA_ARGS__"
 * extension (which strict -std=c11 modes do not apply to empty arguments).
 * Emptiness: the list is empty exactly when it has no comma, does not start with
 * parentheses, is not a macro name followed by parentheses, and becomes a comma
 * once CHOOK_PT__COMMA_ and "()" are put around it. */
#define CHOOK_PT__NARGS(...)                                                   \
    CHOOK_PT__CAT(CHOOK_PT__NARGS_E, CHOOK_PT__EMPTY(__VA_ARGS__))(__VA_ARGS__)
#define CHOOK_PT__NARGS_E1(...) 0
#define CHOOK_PT__NARGS_E0(...)                                                \
    CHOOK_PT__ARG11(__VA_ARGS__, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define CHOOK_PT__ARG11(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, n, ...) n
#define CHOOK_PT__HAS_COMMA(...)                                               \
    CHOOK_PT__ARG11(__VA_ARGS__, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0)
#define CHOOK_PT__COMMA_(...) ,
#define CHOOK_PT__EMPTY(...)                                                   \
    CHOOK_PT__EMPTY_(CHOOK_PT__HAS_COMMA(__VA_ARGS__),                         \
                     CHOOK_PT__HAS_COMMA(CHOOK_PT__COMMA_ __VA_ARGS__),        \
                     CHOOK_PT__HAS_COMMA(__VA_ARGS__ ()),                      \
                     CHOOK_PT__HAS_COMMA(CHOOK_PT__COMMA_ __VA_ARGS__ ()))
#define CHOOK_PT__EMPTY_(a, b, c, d) CHOOK_PT__EMPTY_CASE(a, b, c, d)
#define CHOOK_PT__EMPTY_CASE(a, b, c, d) CHOOK_PT__EMPTY_IS_##a##b##c##d
#define CHOOK_PT__EMPTY_IS_0000 0
#define CHOOK_PT__EMPTY_IS_0001 1
#define CHOOK_PT__EMPTY_IS_0010 0
#define CHOOK_PT__EMPTY_IS_0011 0
#define CHOOK_PT__EMPTY_IS_0100 0
#define CHOOK_PT__EMPTY_IS_0101 0
#define CHOOK_PT__EMPTY_IS_0110 0
#define CHOOK_PT__EMPTY_IS_0111 0
#define CHOOK_PT__EMPTY_IS_1000 0
#define CHOOK_PT__EMPTY_IS_1001 0
#define CHOOK_PT__EMPTY_IS_1010 0
#define CHOOK_PT__EMPTY_IS_1011 0
#define CHOOK_PT__EMPTY_IS_1100 0
#define CHOOK_PT__EMPTY_IS_1101 0
#define CHOOK_PT__EMPTY_IS_1110 0
#define CHOOK_PT__EMPTY_IS_1111 0

/* CHOOK_PT__MAP(m, x1, x2, ...): "m(1, x1) m(2, x2) ..." (nothing for none). */
#define CHOOK_PT__MAP(m, ...)                                                  \
    CHOOK_PT__CAT(CHOOK_PT__MAP_, CHOOK_PT__NARGS(__VA_ARGS__))(m, __VA_ARGS__)

#define CHOOK_PT__UNUSED __attribute__((unused))
/* Items for CHOOK_PT__MAP; each carries its own separator. */
#define CHOOK_PT__PTR_T(i, t) , __typeof__(t) *
#define CHOOK_PT__FIELD(i, t) __typeof__(t) a##i;
#define CHOOK_PT__FIELD_ADDR_L(i, t) , &chook__a->a##i
#define CHOOK_PT__FIELD_ADDR_T(i, t) &chook__a->a##i,
#define CHOOK_PT__VALUE(i, x) (x),
#define CHOOK_PT__BACK(i, x) (x) = chook__args_.a##i;
#define CHOOK_PT__CHECK(i, x)                                                  \
    _Static_assert(__builtin_types_compatible_p(__typeof__(x),                 \
                                                __typeof__(chook__args_.a##i)), \
                   "argument " #i " (" #x ") does not have the type the point declares");
#define CHOOK_PT__TYPE_DESC(i, t) , { (uint32_t)sizeof(t), CHOOK_PT__KIND(t) }
/* __builtin_classify_type: 1 integer, 2 char, 3 enum, 4 bool, 5 pointer,
 * 6 reference, 8 real. The operand is never evaluated. */
#define CHOOK_PT__KIND(t)                                                      \
    (__builtin_classify_type(*(__typeof__(t) *)0) == 8                         \
         ? (uint32_t)CHOOK_POINT__KIND_FLOAT                                   \
     : (__builtin_classify_type(*(__typeof__(t) *)0) >= 1 &&                   \
        __builtin_classify_type(*(__typeof__(t) *)0) <= 6)                     \
         ? (uint32_t)CHOOK_POINT__KIND_INT                                     \
         : (uint32_t)CHOOK_POINT__KIND_OTHER)

#define CHOOK_PT__SIGNATURE(ret_str, ...)                                      \
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

#define CHOOK_PT__MAP_0(m, ...)
#define CHOOK_PT__MAP_1(m, x1) m(1, x1)
#define CHOOK_PT__MAP_2(m, x1, x2) CHOOK_PT__MAP_1(m, x1) m(2, x2)
#define CHOOK_PT__MAP_3(m, x1, x2, x3) CHOOK_PT__MAP_2(m, x1, x2) m(3, x3)
#define CHOOK_PT__MAP_4(m, x1, x2, x3, x4) CHOOK_PT__MAP_3(m, x1, x2, x3) m(4, x4)
#define CHOOK_PT__MAP_5(m, x1, x2, x3, x4, x5)                                 \
    CHOOK_PT__MAP_4(m, x1, x2, x3, x4) m(5, x5)
#define CHOOK_PT__MAP_6(m, x1, x2, x3, x4, x5, x6)                             \
    CHOOK_PT__MAP_5(m, x1, x2, x3, x4, x5) m(6, x6)
#define CHOOK_PT__MAP_7(m, x1, x2, x3, x4, x5, x6, x7)                         \
    CHOOK_PT__MAP_6(m, x1, x2, x3, x4, x5, x6) m(7, x7)
#define CHOOK_PT__MAP_8(m, x1, x2, x3, x4, x5, x6, x7, x8)                     \
    CHOOK_PT__MAP_7(m, x1, x2, x3, x4, x5, x6, x7) m(8, x8)
#define CHOOK_PT__MAP_9(m, x1, x2, x3, x4, x5, x6, x7, x8, x9)                 \
    CHOOK_PT__MAP_8(m, x1, x2, x3, x4, x5, x6, x7, x8) m(9, x9)
#define CHOOK_PT__MAP_10(m, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10)           \
    CHOOK_PT__MAP_9(m, x1, x2, x3, x4, x5, x6, x7, x8, x9) m(10, x10)

#endif /* CHOOK_POINT_IMPL_H */
