/*
 * Compiled-in hook points: attaching, detaching, and waiting for the callbacks
 * of a point to finish (grace periods).
 *
 * An attachment is an immutable chook__alloc'ed record swapped into the point
 * with one atomic store. The instrumented code counts each call that may use an
 * attachment in the point's chook__inflight[epoch & 1] before reading it (see
 * chook_point__acquire() in chook_point_impl.h), so:
 *   - a call that read the old attachment was counted before the swap;
 *   - once each of the two counters has been seen at zero after the swap, no
 *     call holds the old attachment any more, and it can be freed.
 * chook_point_wait() makes that happen in bounded time: it moves new calls to
 * the other counter (epoch + 1) before draining each one, so calls that start
 * while it waits never delay it.
 */
#include <sys/syscall.h>

#include "point.h"
#include "stop.h"
#include "lockrank.h"

/* Serialises attach/detach (one writer per point at a time, and the retired
 * list). Waits serialise on their own lock so a long wait never blocks attach. */
static chook__mutex attach_lock;
static chook__mutex wait_lock;

/* Attachments swapped out and not yet known to be unused. */
typedef struct retired {
    struct retired *next;
    struct chook_point *point;
    struct chook_point_attachment *att;
    uint64_t seq;
} retired;
static retired *retired_head;
static uint64_t retired_seq;

/* Whether every call that could hold an attachment swapped out of p before now
 * has finished: each counter seen at zero once proves it (see the top comment). */
static int quiescent(struct chook_point *p)
{
    return __atomic_load_n(&p->chook__inflight[0], __ATOMIC_SEQ_CST) == 0 &&
           __atomic_load_n(&p->chook__inflight[1], __ATOMIC_SEQ_CST) == 0;
}

/* Frees p's retired attachments with seq <= upto. Caller holds attach_lock. */
static void free_retired(struct chook_point *p, uint64_t upto)
{
    for (retired **pp = &retired_head; *pp;) {
        retired *r = *pp;
        if (r->point == p && r->seq <= upto) {
            *pp = r->next;
            chook__point_att_free(r->att);
            chook__free(r, sizeof *r);
        } else {
            pp = &r->next;
        }
    }
}

int chook__point_publish(struct chook_point *p, const chook__module *m,
                         struct chook_point_attachment *att)
{
    /* Allocated before anything changes, so a failure leaves the point as it was. */
    retired *r = chook__alloc(sizeof *r);
    if (!r) return chook__fail(CHOOK_ENOMEM, "hook point '%s': out of memory", p->chook__name);

    chook__mutex_lock(&attach_lock);
    struct chook_point_attachment *old =
        (struct chook_point_attachment *)__atomic_load_n(&p->chook__attached, __ATOMIC_RELAXED);
    /* Sites jump to the slow path exactly while something is attached. Enable them
     * before the store (a call that jumps early sees NULL and runs no callback),
     * disable them before clearing it (a call still jumping finds the callbacks). */
    if (!old != !att) {
        int status = chook__point_sites_set(p, m, att != NULL);
        if (status != CHOOK_OK) {
            chook__mutex_unlock(&attach_lock);
            chook__free(r, sizeof *r);
            return chook__fail_context(status, "hook point '%s': ", p->chook__name);
        }
    }
    __atomic_store_n(&p->chook__attached, att, __ATOMIC_SEQ_CST);
    if (old) {
        r->point = p;
        r->att = old;
        r->seq = ++retired_seq;
        r->next = retired_head;
        retired_head = r;
        /* Free what is already unused, so attaching in a loop without waiting
         * does not pile attachments up while the point is idle. */
        if (quiescent(p)) free_retired(p, retired_seq);
    } else {
        chook__free(r, sizeof *r);
    }
    chook__mutex_unlock(&attach_lock);
    return CHOOK_OK;
}

/* ---- typed attach ---------------------------------------------------------------- */

static int is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_';
}

/* The next character of s from *i that is not a space, where a space survives
 * (as one ' ') only between two word characters: "const char*" and
 * "const char *" compare equal, "unsignedint" and "unsigned int" do not. */
static char sig_next(const char *s, size_t *i)
{
    int spaced = 0;
    while (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\n') {
        spaced = 1;
        (*i)++;
    }
    char c = s[*i];
    if (!c) return 0;
    if (spaced && *i > 0 && is_word(c)) {
        size_t j = *i;
        while (j > 0 && (s[j - 1] == ' ' || s[j - 1] == '\t' || s[j - 1] == '\n')) j--;
        if (j > 0 && is_word(s[j - 1])) return ' ';
    }
    (*i)++;
    return c;
}

static int sig_equal(const char *a, const char *b)
{
    size_t i = 0, j = 0;
    for (;;) {
        char ca = sig_next(a, &i), cb = sig_next(b, &j);
        if (ca != cb) return 0;
        if (!ca) return 1;
    }
}

int chook_point_attach_typed(chook_point *point, const char *signature,
                             chook_point_fn prolog, void *data)
{
    chook__clear_error();
    if (!signature)
        return chook__fail(CHOOK_EINVAL, "chook_point_attach_typed: signature is NULL");
    chook__module *m;
    CHOOK_CHECK(chook__point_check(point, "chook_point_attach_typed", &m));
    int status;
    if (!prolog) {
        status = chook__point_publish(point, m, NULL);
    } else if (!sig_equal(signature, point->chook__signature)) {
        status = chook__fail(CHOOK_EINVAL,
                             "hook point '%s' has signature '%s'; the prolog was "
                             "compiled for '%s'",
                             point->chook__name, point->chook__signature, signature);
    } else {
        struct chook_point_attachment *att = chook__alloc(sizeof *att);
        if (!att) {
            status = chook__fail(CHOOK_ENOMEM, "hook point '%s': out of memory",
                                 point->chook__name);
        } else {
            att->kind = CHOOK_POINT_TYPED;
            att->prolog = prolog;
            att->data = data;
            status = chook__point_publish(point, m, att);
            if (status != CHOOK_OK) chook__point_att_free(att);
        }
    }
    chook__module_unref(m);
    return status;
}

int chook_point_detach(chook_point *point)
{
    chook__clear_error();
    chook__module *m;
    CHOOK_CHECK(chook__point_check(point, "chook_point_detach", &m));
    int status = chook__point_publish(point, m, NULL);
    chook__module_unref(m);
    return status;
}

/* ---- wait ------------------------------------------------------------------------ */

/* Gives the CPU to the calls being waited for: first by yielding (they are
 * usually short, and may be runnable on this very core), then by sleeping longer
 * and longer, up to 1 ms. Returns 0 once the deadline has passed. */
static int pause_until(uint64_t deadline, unsigned *round)
{
    uint64_t now = chook__now_ns();
    if (now >= deadline) return 0;
    if (*round < 32) {
        chook_arch_syscall(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
    } else {
        unsigned k = *round - 32;
        uint64_t ns = (uint64_t)10000 << (k < 7 ? k : 7); /* 10 us .. 1.28 ms */
        if (ns > 1000000) ns = 1000000;
        if (ns > deadline - now) ns = deadline - now;
        chook__sys_nanosleep_ns(ns);
    }
    (*round)++;
    return 1;
}

static int drain(struct chook_point *p, unsigned slot, uint64_t deadline)
{
    unsigned round = 0;
    while (__atomic_load_n(&p->chook__inflight[slot], __ATOMIC_SEQ_CST) != 0)
        if (!pause_until(deadline, &round)) return 0;
    return 1;
}

int chook_point_wait(chook_point *point, unsigned timeout_ms)
{
    chook__clear_error();
    chook__module *m;
    CHOOK_CHECK(chook__point_check(point, "chook_point_wait", &m));
    chook__module_unref(m);
    uint64_t deadline = timeout_ms == CHOOK_POINT_WAIT_FOREVER
                            ? UINT64_MAX
                            : chook__now_ns() + (uint64_t)timeout_ms * 1000000u;

    chook__mutex_lock(&attach_lock);
    uint64_t upto = retired_seq;
    chook__mutex_unlock(&attach_lock);

    /* One waiter at a time: two interleaved waiters could each flip the epoch
     * back under the other and drain the same counter twice. */
    unsigned round = 0;
    while (!chook__mutex_trylock(&wait_lock))
        if (!pause_until(deadline, &round))
            return chook__fail(CHOOK_EBUSY,
                               "hook point '%s': another wait did not end in %u ms",
                               point->chook__name, timeout_ms);

    /* 1. Move new calls to the other counter, 2. drain the one they left,
     * 3.-4. the same the other way round. Each counter is then seen at zero after
     * the calls running at the start had finished. */
    int ok = 1;
    for (int half = 0; half < 2 && ok; half++) {
        unsigned old = __atomic_fetch_add(&point->chook__epoch, 1u, __ATOMIC_SEQ_CST) & 1u;
        ok = drain(point, old, deadline);
    }
    chook__mutex_unlock(&wait_lock);
    if (!ok) {
        unsigned n = __atomic_load_n(&point->chook__inflight[0], __ATOMIC_RELAXED) +
                     __atomic_load_n(&point->chook__inflight[1], __ATOMIC_RELAXED);
        return chook__fail(CHOOK_EBUSY,
                           "hook point '%s': %u call(s) still in a callback after %u ms",
                           point->chook__name, n, timeout_ms);
    }
    chook__mutex_lock(&attach_lock);
    free_retired(point, upto);
    chook__mutex_unlock(&attach_lock);
    return CHOOK_OK;
}

/* fork() must not split this lock (see chook__fork_guard). */
__attribute__((constructor)) static void point_attach_fork_guard(void)
{
    chook__fork_guard(&attach_lock, CHOOK_RANK_POINT_ATTACH);
}

__attribute__((constructor)) static void point_wait_fork_guard(void)
{
    chook__fork_guard(&wait_lock, CHOOK_RANK_POINT_WAIT);
}
