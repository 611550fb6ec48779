/*
 * Mocks for unit tests (chook_mock.h), built on the public hooks.
 *
 * A replacement mock is a closure replacement (chook_replace) whose replacement
 * is the shared assembly stub chook__mock_entry: the stub finds the mock from
 * its closure, sends the calls of other threads to the original (one-thread
 * mocks), counts the call and jumps to the user's replacement without touching
 * an argument, so one stub serves every signature, variadic ones included.
 *
 * A sequence mock is a listener (chook_attach) whose on_enter takes the next
 * step and skips the original with its value (chook_skip), or lets the call
 * through once the steps are used up; it records the integer arguments.
 *
 * Records are never freed: a thread may be between a closure thunk and the
 * stub's last read of its mock when the mock ends (the same reason chook keeps
 * closures). Sequence mocks give back their steps and capture ring at the end,
 * once chook_detach() guarantees their on_enter no longer runs. Nothing here
 * calls malloc or a pthread function: a test may mock those.
 */
#include <errno.h>
#include <stddef.h>

#include <chook_mock.h>

#include "internal.h"
#include "mock_layout.h"

enum mock_kind { MOCK_REPLACEMENT = 1, MOCK_SEQUENCE = 2 };

#define MOCK_MAX_ACTIVE 1024
#define MOCK_MAX_STEPS 4096
#define MOCK_MAX_CAPTURE 65536u
#define MOCK_DEFAULT_CAPTURE 16u
#define MOCK_ARGS 6

/* One recorded call of a sequence mock: `seq` is its number plus one, stored
 * last, so a reader never takes a half-written entry for it. */
struct mock_capture {
    uint64_t seq;
    uintptr_t args[MOCK_ARGS];
};

struct chook_mock {
    /* Read by chook__mock_entry (offsets in mock_layout.h). */
    void *replacement;
    uintptr_t thread;           /* owner's thread pointer; 0 for every thread */
    uint64_t calls;
    /* The rest. */
    const chook_closure *closure;  /* replacement mocks */
    chook_listener *listener;      /* sequence mocks */
    void *target;
    void *data;
    enum mock_kind kind;
    int active;                    /* 1 between begin and a successful end */
    int slot;                      /* index in active[] */
    chook_mock_step *steps;        /* sequence mocks: a copy */
    uint64_t *step_end;            /* calls answered up to the end of step i */
    size_t nsteps;
    struct mock_capture *capture;
    unsigned ncapture;
};

_Static_assert(offsetof(struct chook_mock, replacement) == MOCK_OFF_REPLACEMENT, "layout");
_Static_assert(offsetof(struct chook_mock, thread) == MOCK_OFF_THREAD, "layout");
_Static_assert(offsetof(struct chook_mock, calls) == MOCK_OFF_CALLS, "layout");
_Static_assert(offsetof(chook_closure, original) == CLOSURE_OFF_ORIGINAL, "layout");
_Static_assert(offsetof(chook_closure, data) == CLOSURE_OFF_DATA, "layout");
_Static_assert(offsetof(chook__thread_state, ring_pos) == TLS_OFF_RING_POS, "layout");
_Static_assert(offsetof(chook__thread_state, ring) == TLS_OFF_RING, "layout");
_Static_assert(TLS_RING_MASK == (CHOOK__CLOSURE_RING - 1) * sizeof(void *), "layout");

void chook__mock_entry(void);
uintptr_t chook__mock_thread_self(void);
__attribute__((tls_model("initial-exec"))) __thread struct chook_mock *chook__mock_cur;

/* The active mocks, for chook_mock_real(): written under `lock`, read without.
 * A slot's target is published last (release) and cleared first; `original` is
 * NULL while the mock's hook is being installed. */
struct mock_slot {
    const void *target;
    void *original;
    uint64_t age;          /* begin order: the oldest mock of a target is the real one */
};

static struct {
    chook__mutex lock;
    struct mock_slot slot[MOCK_MAX_ACTIVE];
    unsigned used;         /* slots ever used (high-water mark) */
    uint64_t age;
} mocks;

static int slot_take(const void *target, int *index)
{
    chook__mutex_lock(&mocks.lock);
    unsigned i = 0;
    while (i < mocks.used && __atomic_load_n(&mocks.slot[i].target, __ATOMIC_RELAXED)) i++;
    if (i == MOCK_MAX_ACTIVE) {
        chook__mutex_unlock(&mocks.lock);
        return chook__fail(CHOOK_ENOTSUP, "%d mocks are active already: end some first",
                           MOCK_MAX_ACTIVE);
    }
    struct mock_slot *s = &mocks.slot[i];
    __atomic_store_n(&s->original, NULL, __ATOMIC_RELAXED);
    s->age = ++mocks.age;
    __atomic_store_n(&s->target, target, __ATOMIC_RELEASE);
    if (i == mocks.used) __atomic_store_n(&mocks.used, i + 1, __ATOMIC_RELEASE);
    chook__mutex_unlock(&mocks.lock);
    *index = (int)i;
    return CHOOK_OK;
}

static void slot_give(int index)
{
    chook__mutex_lock(&mocks.lock);
    __atomic_store_n(&mocks.slot[index].target, NULL, __ATOMIC_RELEASE);
    chook__mutex_unlock(&mocks.lock);
}

void *chook_mock_real(const void *target)
{
    if (!target) return NULL;
    for (;;) {
        unsigned used = __atomic_load_n(&mocks.used, __ATOMIC_ACQUIRE);
        const struct mock_slot *best = NULL;
        uint64_t best_age = 0;
        void *best_original = NULL;
        for (unsigned i = 0; i < used; i++) {
            const struct mock_slot *s = &mocks.slot[i];
            if (__atomic_load_n(&s->target, __ATOMIC_ACQUIRE) != target) continue;
            void *orig = __atomic_load_n(&s->original, __ATOMIC_ACQUIRE);
            uint64_t age = s->age;
            if (!best || age < best_age) best = s, best_age = age, best_original = orig;
        }
        if (!best) return (void *)(uintptr_t)target;
        if (best_original) return best_original;
        /* Its hook is being installed (a thread reached the replacement before
         * chook_mock_begin() returned): the original is published in a moment. */
        chook__sys_nanosleep_ns(1000);
    }
}

static int check_opts(const chook_mock_opts *opts)
{
    if (opts && (opts->flags & ~(unsigned)CHOOK_MOCK_THIS_THREAD))
        return chook__fail(CHOOK_EINVAL, "unknown mock flags 0x%x", opts->flags);
    if (opts && opts->capture > MOCK_MAX_CAPTURE)
        return chook__fail(CHOOK_EINVAL, "capture of %u calls is over %u", opts->capture,
                           MOCK_MAX_CAPTURE);
    return CHOOK_OK;
}

static struct chook_mock *record_new(void *target, const chook_mock_opts *opts,
                                     enum mock_kind kind)
{
    struct chook_mock *m = chook__alloc(sizeof *m);
    if (!m) {
        chook__fail(CHOOK_ENOMEM, "out of memory for a mock");
        return NULL;
    }
    *m = (struct chook_mock){ 0 };
    m->target = target;
    m->kind = kind;
    m->slot = -1;
    if (opts) {
        m->data = opts->data;
        if (opts->flags & CHOOK_MOCK_THIS_THREAD) m->thread = chook__mock_thread_self();
    }
    return m;
}

int chook_mock_begin(void *target, void *replacement, const chook_mock_opts *opts,
                     chook_mock **mock)
{
    if (!mock) return chook__fail(CHOOK_EINVAL, "the handle's address is NULL");
    if (!target) return chook__fail(CHOOK_EINVAL, "target is NULL");
    if (!replacement) return chook__fail(CHOOK_EINVAL, "replacement is NULL");
    CHOOK_CHECK(check_opts(opts));
    struct chook_mock *m = record_new(target, opts, MOCK_REPLACEMENT);
    if (!m) return CHOOK_ENOMEM;
    m->replacement = replacement;
    int st = slot_take(target, &m->slot);
    if (st == CHOOK_OK) st = chook_replace(target, (void *)chook__mock_entry, m, &m->closure);
    if (st != CHOOK_OK) {
        /* Nothing reached the record: no hook was installed. */
        if (m->slot >= 0) slot_give(m->slot);
        chook__free(m, sizeof *m);
        return st;
    }
    __atomic_store_n(&mocks.slot[m->slot].original, m->closure->original, __ATOMIC_RELEASE);
    m->active = 1;
    *mock = m;
    return CHOOK_OK;
}

int chook_mock_begin_name(const char *module, const char *symbol, void *replacement,
                          const chook_mock_opts *opts, chook_mock **mock)
{
    if (!symbol) return chook__fail(CHOOK_EINVAL, "symbol is NULL");
    void *address = NULL;
    CHOOK_CHECK(chook_symbol_lookup(module, symbol, NULL, &address));
    return chook_mock_begin(address, replacement, opts, mock);
}

/* ---- sequence mocks ---------------------------------------------------------- */

static void capture_args(struct chook_mock *m, uint64_t n, chook_call *call)
{
    struct mock_capture *c = &m->capture[n & (m->ncapture - 1)];
    __atomic_store_n(&c->seq, 0, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    /* The register arguments of a call without a signature sit in one array
     * (chook_arg() returns pointers into it): two calls instead of six. */
    const uintptr_t *first = chook_arg(call, 0), *last = chook_arg(call, MOCK_ARGS - 1);
    if (last == first + MOCK_ARGS - 1)
        for (unsigned i = 0; i < MOCK_ARGS; i++) c->args[i] = first[i];
    else
        for (unsigned i = 0; i < MOCK_ARGS; i++) c->args[i] = *chook_arg(call, i);
    __atomic_store_n(&c->seq, n + 1, __ATOMIC_RELEASE);
}

static int sequence_enter(chook_call *call, void *data)
{
    struct chook_mock *m = data;
    uint64_t n;
    if (m->thread) {
        if (m->thread != chook__mock_thread_self()) return CHOOK_CONTINUE;
        n = __atomic_load_n(&m->calls, __ATOMIC_RELAXED);
        __atomic_store_n(&m->calls, n + 1, __ATOMIC_RELAXED);
    } else {
        n = __atomic_fetch_add(&m->calls, 1, __ATOMIC_RELAXED);
    }
    capture_args(m, n, call);
    for (size_t i = 0; i < m->nsteps; i++) {
        if (n >= m->step_end[i]) continue;
        const chook_mock_step *s = &m->steps[i];
        if (s->error) errno = s->error;
        return chook_skip(call, s->value);
    }
    return CHOOK_CONTINUE;
}

static void sequence_free(struct chook_mock *m)
{
    if (m->steps) chook__free(m->steps, m->nsteps * sizeof *m->steps);
    if (m->step_end) chook__free(m->step_end, m->nsteps * sizeof *m->step_end);
    if (m->capture) chook__free(m->capture, m->ncapture * sizeof *m->capture);
    m->steps = NULL;
    m->step_end = NULL;
    m->capture = NULL;
}

int chook_mock_returns(void *target, const chook_mock_step *steps, size_t n,
                       const chook_mock_opts *opts, chook_mock **mock)
{
    if (!mock) return chook__fail(CHOOK_EINVAL, "the handle's address is NULL");
    if (!target) return chook__fail(CHOOK_EINVAL, "target is NULL");
    if (!steps) return chook__fail(CHOOK_EINVAL, "steps is NULL");
    if (n == 0 || n > MOCK_MAX_STEPS)
        return chook__fail(CHOOK_EINVAL, "%zu steps: a sequence has 1 to %d", n, MOCK_MAX_STEPS);
    CHOOK_CHECK(check_opts(opts));
    struct chook_mock *m = record_new(target, opts, MOCK_SEQUENCE);
    if (!m) return CHOOK_ENOMEM;
    m->nsteps = n;
    unsigned want = opts && opts->capture ? opts->capture : MOCK_DEFAULT_CAPTURE;
    m->ncapture = 1;
    while (m->ncapture < want) m->ncapture *= 2;  /* a mask picks the entry */
    m->steps = chook__alloc(n * sizeof *m->steps);
    m->step_end = chook__alloc(n * sizeof *m->step_end);
    m->capture = chook__alloc(m->ncapture * sizeof *m->capture);
    if (!m->steps || !m->step_end || !m->capture) {
        sequence_free(m);
        chook__free(m, sizeof *m);
        return chook__fail(CHOOK_ENOMEM, "out of memory for a sequence of %zu steps", n);
    }
    uint64_t end = 0;
    for (size_t i = 0; i < n; i++) {
        m->steps[i] = steps[i];
        unsigned times = steps[i].times ? steps[i].times : 1;
        end = times == CHOOK_MOCK_ALWAYS || end == UINT64_MAX ? UINT64_MAX : end + times;
        m->step_end[i] = end;
    }
    for (unsigned i = 0; i < m->ncapture; i++) m->capture[i].seq = 0;
    int st = chook_attach(target, sequence_enter, NULL, m, &m->listener);
    if (st != CHOOK_OK) {
        sequence_free(m);
        chook__free(m, sizeof *m);
        return st;
    }
    m->active = 1;
    *mock = m;
    return CHOOK_OK;
}

/* ---- end and queries --------------------------------------------------------- */

int chook_mock_end(chook_mock *mock)
{
    if (!mock) return chook__fail(CHOOK_EINVAL, "mock is NULL");
    if (!__atomic_load_n(&mock->active, __ATOMIC_ACQUIRE))
        return chook__fail(CHOOK_EINVAL, "the mock of 0x%lx has ended already",
                           (unsigned long)(uintptr_t)mock->target);
    if (mock->kind == MOCK_REPLACEMENT) {
        CHOOK_CHECK(chook_remove(mock->closure->hook));
        slot_give(mock->slot);
    } else {
        CHOOK_CHECK(chook_detach(mock->listener));
        /* No on_enter of ours runs or starts any more (chook_detach's guarantee)
         * and there is no on_leave: the steps and the captures can go. Let chook
         * free its own records of the listener when nothing else is pending. */
        sequence_free(mock);
        (void)chook_detach_wait(0);
        chook__clear_error(); /* that wait's EBUSY is not a failure of this call */
    }
    __atomic_store_n(&mock->active, 0, __ATOMIC_RELEASE);
    return CHOOK_OK;
}

uint64_t chook_mock_calls(const chook_mock *mock)
{
    return mock ? __atomic_load_n(&mock->calls, __ATOMIC_RELAXED) : 0;
}

int chook_mock_reset(chook_mock *mock)
{
    if (!mock) return chook__fail(CHOOK_EINVAL, "mock is NULL");
    __atomic_store_n(&mock->calls, 0, __ATOMIC_RELAXED);
    if (mock->capture)
        for (unsigned i = 0; i < mock->ncapture; i++)
            __atomic_store_n(&mock->capture[i].seq, 0, __ATOMIC_RELAXED);
    return CHOOK_OK;
}

int chook_mock_arg(const chook_mock *mock, uint64_t call, unsigned n, uintptr_t *value)
{
    if (!mock || !value) return chook__fail(CHOOK_EINVAL, "mock or value is NULL");
    if (mock->kind != MOCK_SEQUENCE)
        return chook__fail(CHOOK_EINVAL, "only sequence mocks record arguments");
    if (n >= MOCK_ARGS)
        return chook__fail(CHOOK_EINVAL, "argument %u: the first %d are recorded", n, MOCK_ARGS);
    if (!mock->capture)
        return chook__fail(CHOOK_ENOTHOOKED, "the mock has ended: its records are gone");
    const struct mock_capture *c = &mock->capture[call & (mock->ncapture - 1)];
    if (__atomic_load_n(&c->seq, __ATOMIC_ACQUIRE) != call + 1)
        return chook__fail(CHOOK_ENOTHOOKED,
                           "call %llu is not recorded (%llu calls seen, the last %u kept)",
                           (unsigned long long)call,
                           (unsigned long long)chook_mock_calls(mock), mock->ncapture);
    uintptr_t v = c->args[n];
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&c->seq, __ATOMIC_RELAXED) != call + 1)
        return chook__fail(CHOOK_ENOTHOOKED, "call %llu was overwritten while read",
                           (unsigned long long)call);
    *value = v;
    return CHOOK_OK;
}

void *chook_mock_original(const chook_mock *mock)
{
    return mock && mock->kind == MOCK_REPLACEMENT ? mock->closure->original : NULL;
}

chook_mock *chook_mock_current(void)
{
    return chook__mock_cur;
}

void *chook_mock_data(const chook_mock *mock)
{
    return mock ? mock->data : NULL;
}

void *chook_mock_target(const chook_mock *mock)
{
    return mock ? mock->target : NULL;
}
