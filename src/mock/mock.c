/*
 * Mocks for unit tests (chook_mock.h), built on the public hooks.
 *
 * A replacement mock is a closure replacement (chook_replace) whose replacement
 * is the shared assembly stub chook__mock_entry: the stub finds the mock from
 * its closure, sends the calls of other threads to the original (one-thread
 * mocks), counts the call and jumps to the user's replacement without touching
 * an argument, so one stub serves every signature, variadic ones included.
 *
 * A sequence mock is a closure replacement too, with the stub
 * chook__mock_seq_entry: it numbers the call, records the six integer argument
 * registers in the mock's ring, and either tail-jumps to
 * chook__mock_seq_answer() (which returns the step's value and sets errno) or,
 * once the steps are used up, jumps to the original.
 *
 * Records (with their steps and rings) are never freed: a thread may be
 * between a closure thunk and the stub's last access to its mock when the mock
 * ends (the same reason chook keeps closures). Nothing here calls malloc or a
 * pthread function: a test may mock those.
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
    uint64_t pad;
};

struct chook_mock {
    /* Read by chook__mock_entry (offsets in mock_layout.h). */
    void *replacement;
    uintptr_t thread;           /* owner's thread pointer; 0 for every thread */
    uint64_t calls;
    uint64_t answered;          /* sequence: calls its steps answer */
    struct mock_capture *capture;  /* sequence: the ring */
    uint64_t capture_mask;      /* sequence: entries - 1 */
    uint32_t flags;             /* chook_mock_opts.flags */
    /* The rest. */
    const chook_closure *closure;
    void *target;
    void *data;
    enum mock_kind kind;
    int active;                    /* 1 between begin and a successful end */
    int slot;                      /* index in active[] */
    chook_mock_step *steps;        /* sequence mocks: a copy */
    uint64_t *step_end;            /* calls answered up to the end of step i */
    size_t nsteps;
    struct chook_mock *known_next; /* every mock begun (records are never freed) */
};

_Static_assert(offsetof(struct chook_mock, replacement) == MOCK_OFF_REPLACEMENT, "layout");
_Static_assert(offsetof(struct chook_mock, thread) == MOCK_OFF_THREAD, "layout");
_Static_assert(offsetof(struct chook_mock, calls) == MOCK_OFF_CALLS, "layout");
_Static_assert(offsetof(struct chook_mock, answered) == MOCK_OFF_ANSWERED, "layout");
_Static_assert(offsetof(struct chook_mock, capture) == MOCK_OFF_CAPTURE, "layout");
_Static_assert(offsetof(struct chook_mock, capture_mask) == MOCK_OFF_CAPTURE_MASK, "layout");
_Static_assert(offsetof(struct chook_mock, flags) == MOCK_OFF_FLAGS, "layout");
_Static_assert(MOCK_FLAG_CLOSURE == CHOOK_MOCK_CLOSURE, "layout");
_Static_assert(sizeof(struct mock_capture) == 1u << MOCK_CAPTURE_SHIFT, "layout");
_Static_assert(offsetof(struct mock_capture, args) == MOCK_CAPTURE_OFF_ARGS, "layout");
_Static_assert(offsetof(chook_closure, original) == CLOSURE_OFF_ORIGINAL, "layout");
_Static_assert(offsetof(chook_closure, data) == CLOSURE_OFF_DATA, "layout");
_Static_assert(offsetof(chook__thread_state, ring_pos) == TLS_OFF_RING_POS, "layout");
_Static_assert(offsetof(chook__thread_state, ring) == TLS_OFF_RING, "layout");
_Static_assert(TLS_RING_MASK == (CHOOK__CLOSURE_RING - 1) * sizeof(void *), "layout");

void chook__mock_entry(void);
void chook__mock_seq_entry(void);
uintptr_t chook__mock_thread_self(void);
uintptr_t chook__mock_seq_answer(struct chook_mock *m, uint64_t n);
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
    struct chook_mock *known; /* every mock begun, newest first */
} mocks;

/* Whether m is a handle chook_mock_begin*() gave out: checked before any
 * dereference by the calls that change or read a mock's state, so a garbage
 * pointer is refused rather than followed. */
static int mock_known(const struct chook_mock *m)
{
    chook__mutex_lock(&mocks.lock);
    const struct chook_mock *k = mocks.known;
    while (k && k != m) k = k->known_next;
    chook__mutex_unlock(&mocks.lock);
    if (!k) return chook__fail(CHOOK_EINVAL, "%p is not a mock handle", (const void *)m);
    return CHOOK_OK;
}

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
    if (opts) CHOOK_CHECK(CHOOK__CHECK_SIZE(opts, chook_mock_opts));
    if (opts && (opts->flags & ~(unsigned)(CHOOK_MOCK_THIS_THREAD | CHOOK_MOCK_CLOSURE)))
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
        m->flags = opts->flags;
        if (opts->flags & CHOOK_MOCK_THIS_THREAD) m->thread = chook__mock_thread_self();
    }
    return m;
}

/* A mock inside a transaction would take effect at its commit, after
 * chook_mock_begin() has returned (and published a NULL original): refuse. The
 * public API has no "is a transaction open?", so open one and give it back. */
static int check_no_transaction(void)
{
    /* Not chook_transaction_begin() as a probe: a nested begin fails the open one. */
    if (chook__txn_is_open())
        return chook__fail(CHOOK_ETXN, "mocks are not part of transactions: this thread has "
                                       "one open (commit or abort it first)");
    return CHOOK_OK;
}

/* Installs the mock's stub as a closure replacement on its target and, for a
 * replacement mock, publishes its original for chook_mock_real(). */
static int mock_install(struct chook_mock *m, void *stub)
{
    CHOOK_CHECK(check_no_transaction());
    if (m->kind == MOCK_REPLACEMENT) CHOOK_CHECK(slot_take(m->target, &m->slot));
    int st = chook_replace(m->target, stub, m, &m->closure);
    if (m->slot >= 0) {
        if (st == CHOOK_OK)
            __atomic_store_n(&mocks.slot[m->slot].original, m->closure->original,
                             __ATOMIC_RELEASE);
        else
            slot_give(m->slot);
    }
    if (st == CHOOK_OK) {
        __atomic_store_n(&m->active, 1, __ATOMIC_RELEASE);
        chook__mutex_lock(&mocks.lock);
        m->known_next = mocks.known;
        mocks.known = m;
        chook__mutex_unlock(&mocks.lock);
    }
    return st;
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
    int st = mock_install(m, (void *)chook__mock_entry);
    if (st != CHOOK_OK) {
        chook__free(m, sizeof *m);  /* nothing reached it: no hook was installed */
        return st;
    }
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

/* Called by chook__mock_seq_entry in place of the mocked function, for call
 * number n < m->answered: its result is the call's. */
uintptr_t chook__mock_seq_answer(struct chook_mock *m, uint64_t n)
{
    size_t i = 0;
    while (i + 1 < m->nsteps && n >= m->step_end[i]) i++;
    const chook_mock_step *s = &m->steps[i];
    if (s->error) errno = s->error;
    return s->value;
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
    unsigned want = opts && opts->capture ? opts->capture : MOCK_DEFAULT_CAPTURE, ring = 1;
    while (ring < want) ring *= 2;  /* a mask picks the entry */
    m->capture_mask = ring - 1;
    m->steps = chook__alloc(n * sizeof *m->steps);
    m->step_end = chook__alloc(n * sizeof *m->step_end);
    m->capture = chook__alloc(ring * sizeof *m->capture);
    int st = CHOOK_OK;
    if (!m->steps || !m->step_end || !m->capture)
        st = chook__fail(CHOOK_ENOMEM, "out of memory for a sequence of %zu steps", n);
    if (st == CHOOK_OK) {
        uint64_t end = 0;
        for (size_t i = 0; i < n; i++) {
            m->steps[i] = steps[i];
            unsigned times = steps[i].times ? steps[i].times : 1;
            end = times == CHOOK_MOCK_ALWAYS || end == UINT64_MAX ? UINT64_MAX : end + times;
            m->step_end[i] = end;
        }
        m->answered = end;
        for (unsigned i = 0; i < ring; i++) m->capture[i] = (struct mock_capture){ 0 };
        st = mock_install(m, (void *)chook__mock_seq_entry);
    }
    if (st != CHOOK_OK) {
        /* Nothing reached the record: no hook was installed. */
        if (m->steps) chook__free(m->steps, n * sizeof *m->steps);
        if (m->step_end) chook__free(m->step_end, n * sizeof *m->step_end);
        if (m->capture) chook__free(m->capture, ring * sizeof *m->capture);
        chook__free(m, sizeof *m);
        return st;
    }
    *mock = m;
    return CHOOK_OK;
}

/* ---- end and queries --------------------------------------------------------- */

int chook_mock_end(chook_mock *mock)
{
    if (!mock) return chook__fail(CHOOK_EINVAL, "mock is NULL");
    CHOOK_CHECK(mock_known(mock));
    if (!__atomic_load_n(&mock->active, __ATOMIC_ACQUIRE))
        return chook__fail(CHOOK_EINVAL, "the mock of 0x%lx has ended already",
                           (unsigned long)(uintptr_t)mock->target);
    CHOOK_CHECK(check_no_transaction());
    CHOOK_CHECK(chook_remove(mock->closure->hook));
    if (mock->slot >= 0) slot_give(mock->slot);
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
    CHOOK_CHECK(mock_known(mock));
    __atomic_store_n(&mock->calls, 0, __ATOMIC_RELAXED);
    if (mock->capture)
        for (uint64_t i = 0; i <= mock->capture_mask; i++)
            __atomic_store_n(&mock->capture[i].seq, 0, __ATOMIC_RELAXED);
    return CHOOK_OK;
}

int chook_mock_arg(const chook_mock *mock, uint64_t call, unsigned n, uintptr_t *value)
{
    if (!mock || !value) return chook__fail(CHOOK_EINVAL, "mock or value is NULL");
    CHOOK_CHECK(mock_known(mock));
    if (mock->kind != MOCK_SEQUENCE)
        return chook__fail(CHOOK_EINVAL, "only sequence mocks record arguments");
    if (n >= MOCK_ARGS)
        return chook__fail(CHOOK_EINVAL, "argument %u: the first %d are recorded", n, MOCK_ARGS);
    const struct mock_capture *c = &mock->capture[call & mock->capture_mask];
    if (__atomic_load_n(&c->seq, __ATOMIC_ACQUIRE) != call + 1)
        return chook__fail(CHOOK_ENOTHOOKED,
                           "call %llu is not recorded (%llu calls seen, the last %u kept)",
                           (unsigned long long)call,
                           (unsigned long long)chook_mock_calls(mock),
                           (unsigned)(mock->capture_mask + 1));
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
