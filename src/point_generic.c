/*
 * Compiled-in hook points, generic path: callbacks that do not know the point's
 * signature see the call through a chook_call (call.h), the same context the
 * interception listeners get.
 *
 * The context lives in the room the instrumented function reserves in its frame
 * (struct chook_point_frame.space), so a generic call needs no allocation, no
 * thread-local storage and no lock. Layout of that room:
 *   struct chook_call | uint64_t data | uint64_t ints[nargs] | double fps[nargs]
 * The point's arguments are copied in by class (the kinds CHOOK_POINT records
 * for each argument) before on_enter, and copied back after it.
 */
#include "call.h"
#include "point.h"

typedef struct {
    chook_call call;
    uint64_t data;
    /* then ints[nargs], fps[nargs] */
} generic_ctx;

_Static_assert(sizeof(generic_ctx) + 0 <= CHOOK_PT__GENERIC_BYTES(0),
               "chook_call outgrew the room chook_point.h reserves for it");
_Static_assert(_Alignof(generic_ctx) <= 16, "the room is only 16-byte aligned");

static uint64_t *ctx_ints(generic_ctx *c)
{
    return (uint64_t *)(c + 1);
}

static double *ctx_fps(generic_ctx *c, unsigned nargs)
{
    return (double *)(ctx_ints(c) + nargs);
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

/* Widens an integer-class value as the ABI would pass it in a register: signed
 * types are not known here, so the value is zero-extended; callbacks read it
 * through a cast to the real type, which is exact. */
static uint64_t load_int(const void *p, uint32_t size)
{
    uint64_t v = 0;
    chook__memcpy(&v, p, size);
    return v;
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
            chook__memcpy(&fps[nf++], args[i], sizeof(double));
        } else if (is_float(t)) {
            float f;
            chook__memcpy(&f, args[i], sizeof f);
            fps[nf++] = f;
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
            chook__memcpy(args[i], &ints[ni++], t->size);
        } else if (is_double(t)) {
            chook__memcpy(args[i], &fps[nf++], sizeof(double));
        } else if (is_float(t)) {
            float f = (float)fps[nf++];
            chook__memcpy(args[i], &f, sizeof f);
        }
    }
}

/* The return value into the context's return registers, and back. */
static void ret_in(const struct chook_point_type *t, chook_call *call, const void *ret)
{
    if (!ret) return;
    if (is_int(t)) {
        call->ret[0] = load_int(ret, t->size);
    } else if (is_double(t) || is_float(t)) {
        double d;
        if (is_float(t)) {
            float f;
            chook__memcpy(&f, ret, sizeof f);
            d = f;
        } else {
            chook__memcpy(&d, ret, sizeof d);
        }
        chook__memcpy(&call->fret[0], &d, sizeof d);
    }
}

static void ret_out(const struct chook_point_type *t, const chook_call *call, void *ret)
{
    if (!ret) return;
    if (is_int(t)) {
        uint64_t v = chook__call_ret(call, 0);
        chook__memcpy(ret, &v, t->size);
    } else if (is_double(t)) {
        double d = chook__call_fret(call, 0);
        chook__memcpy(ret, &d, sizeof d);
    } else if (is_float(t)) {
        float f = (float)chook__call_fret(call, 0);
        chook__memcpy(ret, &f, sizeof f);
    }
}

static int bridge_enter(const struct chook_point_attachment *att,
                        struct chook_point_frame *f, void *ret, void *const *args)
{
    const struct chook_point_attachment *g = att;
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
    chook__call_set_listener(&c->call, &c->data, NULL);
    if (g->on_enter && g->on_enter(&c->call, g->data) == CHOOK_SKIP)
        c->call.flags |= CHOOK__CALL_SKIPPED;
    if (chook__call_skipped(&c->call)) {
        ret_out(&p->chook__types[0], &c->call, ret);
        if (g->on_leave) f->call = c;
        return CHOOK_POINT_ABORT;
    }
    copy_out(p, c, args);
    /* Without on_leave nothing is left to do when the function returns. */
    if (g->on_leave) f->call = c;
    return CHOOK_POINT_CONTINUE;
}

static void bridge_leave(const struct chook_point_attachment *att,
                         struct chook_point_frame *f, void *ret)
{
    const struct chook_point_attachment *g = att;
    struct chook_point *p = att->point;
    generic_ctx *c = f->call;
    f->call = NULL;
    /* NULL ret from a non-void point: the function returned without
     * CHOOK_RETURN, so there is no value to show; on_leave is not called. */
    if (!c || !g->on_leave || (!ret && !p->chook__void)) return;
    ret_in(&p->chook__types[0], &c->call, ret);
    chook__call_set_listener(&c->call, &c->data, NULL);
    g->on_leave(&c->call, g->data);
    ret_out(&p->chook__types[0], &c->call, ret);
}

int chook_point_attach_generic(chook_point *point, chook_enter_fn on_enter,
                               chook_leave_fn on_leave, void *data)
{
    if (!on_enter && !on_leave)
        return chook__fail(CHOOK_EINVAL, "chook_point_attach_generic: both callbacks are "
                           "NULL (use chook_point_detach())");
    chook__module *m;
    CHOOK_CHECK(chook__point_check(point, "chook_point_attach_generic", &m));
    int status;
    struct chook_point_attachment *att = chook__alloc(sizeof *att);
    if (!att) {
        status = chook__fail(CHOOK_ENOMEM, "hook point '%s': out of memory", point->chook__name);
    } else {
        att->kind = CHOOK_POINT_GENERIC;
        att->data = data;
        att->enter = bridge_enter;
        att->leave = bridge_leave;
        att->on_enter = on_enter;
        att->on_leave = on_leave;
        att->point = point;
        status = chook__point_publish(point, m, att);
        if (status != CHOOK_OK) chook__free(att, sizeof *att);
    }
    chook__module_unref(m);
    return status;
}
