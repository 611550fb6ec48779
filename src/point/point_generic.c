/*
 * Compiled-in hook points, generic path: callbacks that do not know the point's
 * signature see the call through a chook_call (call.h), the same context the
 * interception listeners get.
 *
 * The context lives in the room the instrumented function reserves in its frame
 * (struct chook_point_frame.space), so a generic call needs no allocation, no
 * thread-local storage and no lock. Layout of that room:
 *   struct chook_call | uint64_t data | ints[nargs] | fps[nargs]
 * (8-byte slots; a float sits in the low 4 bytes of its slot, as in a vector
 * register for interception).
 * The point's arguments are copied in by class (the kinds CHOOK_POINT records
 * for each argument) before on_enter, and copied back after it.
 */
#include "call.h"
#include "point.h"

typedef union {
    uint64_t i;
    double d;
} slot;

typedef struct {
    chook_call call;
    uint64_t data;
    slot slots[]; /* ints[nargs], then fps[nargs] */
} generic_ctx;

_Static_assert(sizeof(generic_ctx) <= CHOOK_PT__GENERIC_BYTES(0),
               "chook_call outgrew the room chook_point.h reserves for it");
_Static_assert(_Alignof(generic_ctx) <= 16, "the room is only 16-byte aligned");

_Static_assert(sizeof(slot) == sizeof(uint64_t) && sizeof(slot) == sizeof(double),
               "integer and floating slots share one array");

static uint64_t *ctx_ints(generic_ctx *c)
{
    return &c->slots[0].i;
}

static double *ctx_fps(generic_ctx *c, unsigned nargs)
{
    return &c->slots[nargs].d;
}

static int is_double(const struct chook_point_type *t)
{
    return t->kind == CHOOK_POINT__KIND_FLOAT && t->size == sizeof(double);
}

static int is_float(const struct chook_point_type *t)
{
    return t->kind == CHOOK_POINT__KIND_FLOAT && t->size == sizeof(float);
}

static int is_int(const struct chook_point_type *t)
{
    return t->kind == CHOOK_POINT__KIND_INT && t->size <= sizeof(uint64_t);
}

/* Widens an integer-class value: signedness is not known here, so the value is
 * zero-extended; callbacks read it through a cast to the real type, which is
 * exact. Fixed-size copies compile to single moves (never to a libc call). */
static uint64_t load_int(const void *p, uint32_t size)
{
    switch (size) {
    case 1: return *(const uint8_t *)p;
    case 2: { uint16_t v; __builtin_memcpy(&v, p, 2); return v; }
    case 4: { uint32_t v; __builtin_memcpy(&v, p, 4); return v; }
    case 8: { uint64_t v; __builtin_memcpy(&v, p, 8); return v; }
    }
    uint64_t v = 0;
    chook__memcpy(&v, p, size);
    return v;
}

static void store_int(void *p, uint64_t v, uint32_t size)
{
    switch (size) {
    case 1: *(uint8_t *)p = (uint8_t)v; return;
    case 2: { uint16_t w = (uint16_t)v; __builtin_memcpy(p, &w, 2); return; }
    case 4: { uint32_t w = (uint32_t)v; __builtin_memcpy(p, &w, 4); return; }
    case 8: __builtin_memcpy(p, &v, 8); return;
    }
    chook__memcpy(p, &v, size);
}

static void copy_in(struct chook_point *p, generic_ctx *c, void *const *args,
                    unsigned *n_int, unsigned *n_fp)
{
    uint64_t *ints = ctx_ints(c);
    double *fps = ctx_fps(c, p->chook__nargs);
    unsigned ni = 0, nf = 0;
    for (unsigned i = 0; i < p->chook__nargs; i++) {
        const struct chook_point_type *t = &p->chook__types[i + 1];
        if (is_int(t)) {
            ints[ni++] = load_int(args[i], t->size);
        } else if (is_double(t)) {
            __builtin_memcpy(&fps[nf++], args[i], sizeof(double));
        } else if (is_float(t)) {
            /* As in a vector register: the float in the low 4 bytes. */
            slot v = { .i = 0 };
            __builtin_memcpy(&v, args[i], sizeof(float));
            fps[nf++] = v.d;
        }
    }
    *n_int = ni;
    *n_fp = nf;
}

static void copy_out(struct chook_point *p, generic_ctx *c, void *const *args)
{
    uint64_t *ints = ctx_ints(c);
    double *fps = ctx_fps(c, p->chook__nargs);
    unsigned ni = 0, nf = 0;
    for (unsigned i = 0; i < p->chook__nargs; i++) {
        const struct chook_point_type *t = &p->chook__types[i + 1];
        if (is_int(t)) {
            store_int(args[i], ints[ni++], t->size);
        } else if (is_double(t)) {
            __builtin_memcpy(args[i], &fps[nf++], sizeof(double));
        } else if (is_float(t)) {
            __builtin_memcpy(args[i], &fps[nf++], sizeof(float));
        }
    }
}

/* The return value into the context's return registers, and back: integers in
 * ret[0], a double in fret[0], a float in the low 4 bytes of fret[0]. */
static void ret_in(const struct chook_point_type *t, chook_call *call, const void *ret)
{
    if (!ret) return;
    if (is_int(t)) {
        call->ret[0] = load_int(ret, t->size);
    } else if (is_double(t) || is_float(t)) {
        call->fret[0] = 0;
        __builtin_memcpy(&call->fret[0], ret, t->size);
    }
}

static void ret_out(const struct chook_point_type *t, const chook_call *call, void *ret)
{
    if (!ret) return;
    if (is_int(t)) {
        store_int(ret, chook__call_ret(call, 0), t->size);
    } else if (is_double(t) || is_float(t)) {
        __builtin_memcpy(ret, &call->fret[0], t->size);
    }
}

/* A signature for chook_arg_at(): each argument by position, in the slot the
 * context gives its class; other types have no place (NULL). */
static void point_sig(const struct chook_point *p, struct chook__sig *sig)
{
    chook__memset(sig, 0, sizeof *sig);
    unsigned ni = 0, nf = 0;
    for (unsigned i = 0; i < p->chook__nargs && i < CHOOK__SIG_MAX_ARGS; i++) {
        const struct chook_point_type *t = &p->chook__types[i + 1];
        if (is_int(t)) {
            sig->arg[i].cls = CHOOK__SIG_INT;
            sig->arg[i].loc = CHOOK__LOC_GP;
            sig->arg[i].index = ni++;
            sig->arg[i].size = 8;
        } else if (is_double(t) || is_float(t)) {
            sig->arg[i].cls = is_float(t) ? CHOOK__SIG_FLOAT : CHOOK__SIG_DOUBLE;
            sig->arg[i].loc = CHOOK__LOC_FP;
            sig->arg[i].index = nf++;
            sig->arg[i].size = 8;
        } else {
            sig->arg[i].cls = CHOOK__SIG_MEM;
            sig->arg[i].size = t->size;
        }
    }
    const struct chook_point_type *r = &p->chook__types[0];
    sig->ret = r->kind == CHOOK_POINT__KIND_VOID ? CHOOK__SIG_VOID
               : is_int(r)                       ? CHOOK__SIG_INT
               : is_double(r)                    ? CHOOK__SIG_DOUBLE
               : is_float(r)                     ? CHOOK__SIG_FLOAT
                                                 : CHOOK__SIG_MEM;
    sig->n_args = (uint8_t)p->chook__nargs;
    sig->n_int = (uint8_t)ni;
    sig->n_flt = (uint8_t)nf;
}

/* A generic attachment and its signature, allocated and freed together. */
typedef struct {
    struct chook_point_attachment att;
    struct chook__sig sig;
} generic_block;

_Static_assert(offsetof(generic_block, att) == 0, "the attachment starts the block");

static const struct chook__sig *sig_of(const struct chook_point_attachment *att)
{
    return &((const generic_block *)att)->sig;
}

void chook__point_att_free(struct chook_point_attachment *att)
{
    if (att->kind == CHOOK_POINT_GENERIC)
        chook__free(att, sizeof(generic_block));
    else
        chook__free(att, sizeof *att);
}

static int bridge_enter(const struct chook_point_attachment *att,
                        struct chook_point_frame *f, void *ret, void *const *args)
{
    struct chook_point *p = att->point;
    /* A point built against a smaller room than this chook needs is left alone
     * rather than overrun (the ABI check makes this unreachable today). */
    if (!f->space || f->space_size < CHOOK_PT__GENERIC_BYTES(p->chook__nargs))
        return CHOOK_POINT_CONTINUE;
    generic_ctx *c = f->space;
    unsigned ni, nf;
    copy_in(p, c, args, &ni, &nf);
    chook__call_init_values(&c->call, ctx_ints(c), ni, ctx_fps(c, p->chook__nargs), nf, p);
    c->data = 0;
    chook__call_set_listener(&c->call, &c->data, sig_of(att));
    if (att->on_enter && att->on_enter(&c->call, att->data) == CHOOK_SKIP)
        c->call.flags |= CHOOK__CALL_SKIPPED;
    if (chook__call_skipped(&c->call)) {
        ret_out(&p->chook__types[0], &c->call, ret);
        if (att->on_leave) f->call = c;
        return CHOOK_POINT_ABORT;
    }
    copy_out(p, c, args);
    /* Without on_leave nothing is left to do when the function returns. */
    if (att->on_leave) f->call = c;
    return CHOOK_POINT_CONTINUE;
}

static void bridge_leave(const struct chook_point_attachment *att,
                         struct chook_point_frame *f, void *ret)
{
    struct chook_point *p = att->point;
    generic_ctx *c = f->call;
    f->call = NULL;
    /* NULL ret from a non-void point: the function returned without
     * CHOOK_RETURN, so there is no value to show; on_leave is not called. */
    if (!c || !att->on_leave || (!ret && !p->chook__void)) return;
    ret_in(&p->chook__types[0], &c->call, ret);
    chook__call_set_listener(&c->call, &c->data, sig_of(att));
    att->on_leave(&c->call, att->data);
    ret_out(&p->chook__types[0], &c->call, ret);
}

int chook_point_attach_generic(chook_point *point, chook_enter_fn on_enter,
                               chook_leave_fn on_leave, void *data)
{
    chook__clear_error();
    if (!on_enter && !on_leave)
        return chook__fail(CHOOK_EINVAL, "chook_point_attach_generic: both callbacks are "
                           "NULL (use chook_point_detach())");
    chook__module *m;
    CHOOK_CHECK(chook__point_check(point, "chook_point_attach_generic", &m));
    int status;
    generic_block *b = chook__alloc(sizeof *b);
    if (!b) {
        status = chook__fail(CHOOK_ENOMEM, "hook point '%s': out of memory", point->chook__name);
    } else {
        b->att.kind = CHOOK_POINT_GENERIC;
        b->att.data = data;
        b->att.enter = bridge_enter;
        b->att.leave = bridge_leave;
        b->att.on_enter = on_enter;
        b->att.on_leave = on_leave;
        b->att.point = point;
        point_sig(point, &b->sig);
        status = chook__point_publish(point, m, &b->att);
        if (status != CHOOK_OK) chook__point_att_free(&b->att);
    }
    chook__module_unref(m);
    return status;
}
