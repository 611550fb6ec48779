/*
 * chook_attach_pattern(): listeners on every function a pattern names, in one
 * transaction. Matches are collected first (no lock held), then filtered by the
 * caller, aliases and cold parts left out, each target probed (so that one
 * unhookable function does not fail the others), the rest attached inside the
 * transaction and committed at once.
 */
#include <stdio.h>

#include "internal.h"
#include "symbols.h"
#include "intercept.h"

struct matches {
    chook_pattern_match *v;
    chook_symbol *syms;   /* v[i].symbol points here (set once collected) */
    unsigned char *selected;
    size_t n, cap;
    void *data;
    int status;
};

static int collect_one(const chook_symbol *sym, void *arg)
{
    struct matches *m = arg;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        chook_pattern_match *v = chook__alloc(cap * sizeof *v);
        chook_symbol *syms = chook__alloc(cap * sizeof *syms);
        if (!v || !syms) {
            if (v) chook__free(v, cap * sizeof *v);
            if (syms) chook__free(syms, cap * sizeof *syms);
            m->status = chook__fail(CHOOK_ENOMEM, "out of memory for %zu matches", cap);
            return 1;
        }
        if (m->n) chook__memcpy(v, m->v, m->n * sizeof *v);
        if (m->n) chook__memcpy(syms, m->syms, m->n * sizeof *syms);
        if (m->v) chook__free(m->v, m->cap * sizeof *v);
        if (m->syms) chook__free(m->syms, m->cap * sizeof *syms);
        m->v = v;
        m->syms = syms;
        m->cap = cap;
    }
    chook_pattern_match *x = &m->v[m->n];
    chook__memset(x, 0, sizeof *x);
    x->size = sizeof *x;
    m->syms[m->n++] = *sym;
    x->base_len = chook__clone_base_len(sym->name, NULL);
    x->data = m->data;
    return 0;
}

static void set_reason(chook_pattern_match *x, int status, const char *msg)
{
    x->status = status;
    x->listener = NULL;
    size_t n = chook__strlen(msg);
    if (n >= sizeof x->reason) n = sizeof x->reason - 1;
    chook__memcpy(x->reason, msg, n);
    x->reason[n] = 0;
}

static int attach_pattern(const char *pattern, unsigned flags, chook_enter_fn on_enter,
                          chook_leave_fn on_leave, void *data, const chook_attach_opts *opts,
                          chook_pattern_fn select, chook_pattern_fn report, void *arg,
                          size_t *attached)
{
    if (attached) *attached = 0;
    if (!pattern) return chook__fail(CHOOK_EINVAL, "chook_attach_pattern: pattern is NULL");
    if (!on_enter && !on_leave)
        return chook__fail(CHOOK_EINVAL, "a listener needs on_enter or on_leave");
    struct matches m = { 0 };
    m.data = data;
    int st = chook_symbol_each_ex(pattern, flags, collect_one, &m);
    if (st == CHOOK_OK && m.status != CHOOK_OK) st = m.status;
    if (st == CHOOK_OK && m.n) {
        m.selected = chook__alloc(m.n);
        if (!m.selected) st = chook__fail(CHOOK_ENOMEM, "out of memory for %zu matches", m.n);
    }
    if (st != CHOOK_OK) {
        if (m.v) chook__free(m.v, m.cap * sizeof *m.v);
        if (m.syms) chook__free(m.syms, m.cap * sizeof *m.syms);
        return st;
    }
    for (size_t i = 0; i < m.n; i++) m.v[i].symbol = &m.syms[i];

    for (size_t i = 0; i < m.n; i++) m.selected[i] = !select || select(&m.v[i], arg) != 0;

    /* chook__txn_is_open() first: a nested begin would fail the caller's transaction. */
    int own = !chook__txn_is_open() && chook_transaction_begin() == CHOOK_OK;
    size_t count = 0;
    char msg[192];
    for (size_t i = 0; i < m.n; i++) {
        chook_pattern_match *x = &m.v[i];
        if (!m.selected[i]) continue;
        size_t j = 0;
        while (j < i && !(m.selected[j] && m.v[j].symbol->address == x->symbol->address)) j++;
        if (j < i) {
            snprintf(msg, sizeof msg, "%s is an alias of %s", x->symbol->name, m.v[j].symbol->name);
            set_reason(x, CHOOK_EEXIST, msg);
            continue;
        }
        int cold = 0;
        chook__clone_base_len(x->symbol->name, &cold);
        if (cold) {
            snprintf(msg, sizeof msg, "%s is a cold part of %.*s, entered by a jump, not a call",
                     x->symbol->name, (int)x->base_len, x->symbol->name);
            set_reason(x, CHOOK_ENOTSUP, msg);
            continue;
        }
        chook_probe_info info = { .size = sizeof info };
        chook_probe(x->symbol->address, &info);
        if (info.status != CHOOK_OK) {
            set_reason(x, info.status, info.reason);
            continue;
        }
        /* A function that returns twice or reads its own return address takes no
         * on_leave: reported like an unhookable one, the others are attached. */
        if (on_leave && chook__icpt_check_leave(x->symbol->address, "an on_leave listener") !=
                            CHOOK_OK) {
            set_reason(x, CHOOK_ENOLEAVE, chook_last_error());
            continue;
        }
        st = chook_attach_ex(x->symbol->address, on_enter, on_leave, x->data, opts, &x->listener);
        if (st != CHOOK_OK) {
            set_reason(x, st, chook_last_error());
            /* The transaction fails at commit now: nothing more to try. */
            break;
        }
        count++;
    }
    st = own ? chook_transaction_commit() : CHOOK_OK;
    char failure[512] = "";
    if (st != CHOOK_OK) {
        const char *e = chook_last_error();
        snprintf(failure, sizeof failure, "%s", e);
        for (size_t i = 0; i < m.n; i++)
            if (m.selected[i] && m.v[i].status == CHOOK_OK) set_reason(&m.v[i], st, e);
        count = 0;
    }
    if (report)
        for (size_t i = 0; i < m.n; i++)
            if (m.selected[i]) report(&m.v[i], arg);
    if (attached) *attached = count;
    chook__free(m.selected, m.n);
    chook__free(m.v, m.cap * sizeof *m.v);
    chook__free(m.syms, m.cap * sizeof *m.syms);
    /* The commit's message, whatever the reports did meanwhile. */
    if (st != CHOOK_OK) chook__fail(st, "%s", failure);
    return st;
}

/* Inside the caller's transaction, an early failure fails its commit too; what
 * the callbacks' own calls left is not this call's message. */
int chook_attach_pattern(const char *pattern, unsigned flags, chook_enter_fn on_enter,
                         chook_leave_fn on_leave, void *data, const chook_attach_opts *opts,
                         chook_pattern_fn select, chook_pattern_fn report, void *arg,
                         size_t *attached)
{
    chook__clear_error();
    int st = attach_pattern(pattern, flags, on_enter, on_leave, data, opts, select, report, arg,
                            attached);
    if (st == CHOOK_OK) chook__clear_error();
    return chook__txn_fail(st);
}
