/*
 * Function-pointer slots: a field of a C ops struct, a C++ vtable slot (every
 * object of the class), or one object's own vtable (a private copy of its class's
 * vtable with the object's vptr switched to it).
 *
 * Every pointer is replaced with one atomic compare-and-swap (dataslot.c), so a
 * concurrent virtual call uses the old or the new function. Hooks on one slot
 * chain (the newest's original is the previous replacement) and are removed
 * newest first.
 *
 * C++ layout (Itanium ABI): an object starts with its vptr, which points at the
 * first virtual function slot of its class's vtable; the vtable symbol (_ZTV...)
 * begins before that with the offset-to-top and typeinfo words (and virtual base
 * offsets), which a private copy must keep so dynamic_cast and typeid still work.
 */
#include <elf.h>
#include <sys/mman.h>

#include "handle.h"
#include "internal.h"
#include "lockrank.h"
#include "stop.h"
#include "symbols.h"

#define VTABLE_SCAN_MAX 512      /* slots examined when the vtable's size is unknown */
#define VTABLE_INDEX_MAX 65536   /* no class has more virtual functions */

/* A slot of a private vtable that jumps through its class's slot. */
struct copystub {
    uintptr_t stub;         /* 16 bytes of code */
    void **class_slot;
};

/* A private vtable given to one object. Never freed: another thread may still be
 * in a virtual call that loaded the object's vptr before it was switched back. */
typedef struct objcopy {
    void **object;          /* where the object's vptr lives */
    void *orig_vptr;        /* the class's vptr */
    void **copy_vptr;       /* the object's vptr while hooked */
    void *mem;              /* the copy: chook__alloc'ed, `bytes` long */
    size_t bytes;
    int users;              /* live hooks using this copy */
    struct objcopy *next;
    struct copystub *stubs; /* code stubs made for the copy (see follow_class_hooks) */
    size_t nstubs, stubs_cap;
} objcopy;

struct chook_slot_hook {
    void **slot;
    void *replacement;
    void *saved;            /* what the slot held before */
    objcopy *copy;          /* for a per-object hook */
    struct chook_slot_hook *next; /* newest first */
    uintptr_t handle;       /* the user's handle (handle.h) */
};

static chook__mutex slots_lock;
static struct chook_slot_hook *hooks;
static objcopy *copies;

static int is_code(const void *p)
{
    chook__region r;
    return chook__maps_find((uintptr_t)p, &r) == CHOOK_OK && (r.prot & PROT_EXEC);
}

static int is_readable(uintptr_t a, size_t len)
{
    chook__region r;
    return chook__maps_find(a, &r) == CHOOK_OK && (r.prot & PROT_READ) && a + len <= r.end;
}

/* ---- the generic slot ------------------------------------------------------------- */

static int install_locked(void **slot, void *replacement, void **original, objcopy *copy,
                          chook_slot_hook **handle)
{
    for (struct chook_slot_hook *h = hooks; h; h = h->next)
        if (h->slot == slot && h->replacement == replacement)
            return chook__fail(CHOOK_EEXIST, "slot %p is already hooked by %p", (void *)slot,
                               replacement);
    void *cur = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (cur == replacement)
        return chook__fail(CHOOK_ESELF, "slot %p already holds the replacement %p",
                           (void *)slot, replacement);
    struct chook_slot_hook *h = chook__alloc(sizeof(*h));
    if (!h) return chook__fail(CHOOK_ENOMEM, "out of memory for a slot hook");
    h->handle = chook__handle_new(CHOOK__H_SLOT, h);
    if (!h->handle) {
        chook__free(h, sizeof(*h));
        return chook__fail(CHOOK_ENOMEM, "out of memory for a slot hook handle");
    }
    h->slot = slot;
    h->replacement = replacement;
    h->saved = cur;
    h->copy = copy;
    if (original) __atomic_store_n(original, cur, __ATOMIC_RELEASE);
    int status = chook__slot_swap(slot, cur, replacement);
    if (status != CHOOK_OK) {
        chook__handle_release(h->handle);
        chook__free(h, sizeof(*h));
        return status;
    }
    h->next = hooks;
    hooks = h;
    if (handle) *handle = (chook_slot_hook *)h->handle;
    return CHOOK_OK;
}

int chook_slot_install(void **slot, void *replacement, void **original,
                       chook_slot_hook **handle)
{
    chook__clear_error();
    if (!slot || !replacement)
        return chook__fail(CHOOK_EINVAL, "chook_slot_install: %s is NULL",
                           !slot ? "slot" : "replacement");
    CHOOK_CHECK(chook__slot_check(slot));
    chook__mutex_lock(&slots_lock);
    int status = install_locked(slot, replacement, original, NULL, handle);
    chook__mutex_unlock(&slots_lock);
    return status;
}

/* ---- C++ vtables -------------------------------------------------------------------- */

/* The vtable symbol (_ZTV...) that holds vptr: [*start, *end). */
static int vtable_symbol(uintptr_t vptr, uintptr_t *start, uintptr_t *end)
{
    chook__module *m = chook__module_at(vptr);
    int found = 0;
    if (m && chook__module_parse(m) == CHOOK_OK) {
        uint64_t v = vptr - m->base;
        for (size_t i = 0; i < m->tab.n && !found; i++) {
            const chook__sym *s = &m->tab.syms[i];
            if (s->type == STT_OBJECT && s->value < v && v < s->value + s->size) {
                *start = m->base + s->value;
                *end = *start + s->size;
                found = 1;
            }
        }
    }
    chook__module_unref(m);
    return found;
}

/* Checks object and index and gives the object's vptr. */
static int check_vtable(void *object, size_t index, void ***vptr_out, uintptr_t *vt_start,
                        uintptr_t *vt_end)
{
    if (!object) return chook__fail(CHOOK_EINVAL, "object is NULL");
    if (index >= VTABLE_INDEX_MAX)
        return chook__fail(CHOOK_EINVAL, "slot %zu is not a plausible vtable index", index);
    if (!is_readable((uintptr_t)object, sizeof(void *)))
        return chook__fail(CHOOK_EUNMAPPED, "object %p is not readable memory", object);
    void **vptr = __atomic_load_n((void ***)object, __ATOMIC_ACQUIRE);
    if ((uintptr_t)vptr % sizeof(void *) != 0 || !is_readable((uintptr_t)vptr, sizeof(void *)))
        return chook__fail(CHOOK_EINVAL, "object %p has no vtable: its first word %p does not "
                           "point at readable slots", object, (void *)vptr);
    *vt_start = *vt_end = 0;
    if (vtable_symbol((uintptr_t)vptr, vt_start, vt_end) &&
        (uintptr_t)(vptr + index + 1) > *vt_end)
        return chook__fail(CHOOK_EINVAL, "slot %zu is past the end of the vtable of object %p "
                           "(%zu slots)", index, object,
                           (size_t)((*vt_end - (uintptr_t)vptr) / sizeof(void *)));
    if (!is_readable((uintptr_t)vptr, (index + 1) * sizeof(void *)))
        return chook__fail(CHOOK_EINVAL, "slot %zu is out of range: the vtable of object %p at "
                           "%p is not followed by %zu readable slots", index, object,
                           (void *)vptr, index + 1);
    if (!is_code(vptr[index]))
        return chook__fail(CHOOK_EINVAL, "slot %zu of the vtable of object %p holds %p, which "
                           "is not code", index, object, vptr[index]);
    *vptr_out = vptr;
    return CHOOK_OK;
}

int chook_vtable_install(void *object, size_t index, void *replacement, void **original,
                         chook_slot_hook **handle)
{
    chook__clear_error();
    if (!replacement) return chook__fail(CHOOK_EINVAL, "chook_vtable_install: replacement is NULL");
    void **vptr;
    uintptr_t s, e;
    CHOOK_CHECK(check_vtable(object, index, &vptr, &s, &e));
    chook__mutex_lock(&slots_lock);
    /* An object with a private vtable: the class's slot is in the original. */
    for (objcopy *c = copies; c; c = c->next)
        if (c->copy_vptr == vptr) vptr = c->orig_vptr;
    int status = install_locked(&vptr[index], replacement, original, NULL, handle);
    chook__mutex_unlock(&slots_lock);
    return status;
}

/* The extent of the vtable to copy when its symbol is unknown: the two words
 * before the vptr and every consecutive slot that points at code. */
static void guess_extent(void **vptr, size_t index, uintptr_t *start, uintptr_t *end)
{
    size_t n = 0;
    while (n < VTABLE_SCAN_MAX && is_readable((uintptr_t)(vptr + n), sizeof(void *)) &&
           is_code(vptr[n]))
        n++;
    if (n < index + 1) n = index + 1;
    *start = (uintptr_t)(vptr - 2);
    *end = (uintptr_t)(vptr + n);
}

/* Frees a copy no object was ever switched to (nothing can run its stubs). */
static void drop_copy(objcopy *c)
{
    for (size_t i = 0; i < c->nstubs; i++) chook__code_free(c->stubs[i].stub, 16);
    chook__free(c->stubs, c->stubs_cap * sizeof(*c->stubs));
    chook__free(c->mem, c->bytes);
    chook__free(c, sizeof(*c));
}

/*
 * A slot of the class's vtable that a class-wide hook replaces is not copied as
 * the replacement it holds now: the copy gets a stub that jumps through the
 * class's slot. So the object keeps following that slot of its class: removing
 * the class-wide hook (or hooking the slot again) reaches it too, and a hook on
 * the object's own copy of the slot calls, as its original, whatever the class
 * slot holds at the time. Under slots_lock.
 */
static int follow_class_hooks(objcopy *c, uintptr_t start, uintptr_t end)
{
    void **vptr = c->orig_vptr;
    for (struct chook_slot_hook *h = hooks; h; h = h->next) {
        if (h->copy || (uintptr_t)h->slot < (uintptr_t)vptr || (uintptr_t)h->slot < start ||
            (uintptr_t)h->slot + sizeof(void *) > end)
            continue;
        size_t i = (size_t)(h->slot - vptr);
        int done = 0; /* several hooks chained on one slot: one stub */
        for (size_t k = 0; k < c->nstubs && !done; k++)
            done = c->stubs[k].class_slot == h->slot;
        if (done) continue;
        if (c->nstubs == c->stubs_cap) {
            size_t cap = c->stubs_cap ? c->stubs_cap * 2 : 4;
            struct copystub *v = chook__alloc(cap * sizeof(*v));
            if (!v) return chook__fail(CHOOK_ENOMEM, "out of memory for a private vtable");
            if (c->nstubs) chook__memcpy(v, c->stubs, c->nstubs * sizeof(*v));
            chook__free(c->stubs, c->stubs_cap * sizeof(*v));
            c->stubs = v;
            c->stubs_cap = cap;
        }
        uintptr_t stub = chook__code_alloc((uintptr_t)h->slot, 16);
        uint8_t buf[16];
        chook_arch_fill_trap(buf, sizeof buf);
        if (!stub || !chook_arch_write_slot_jump(buf, stub, (uintptr_t)h->slot)) {
            if (stub) chook__code_free(stub, 16);
            return chook__fail(CHOOK_ENOMEM, "no code memory within reach of vtable slot %p "
                               "for the object's private vtable", (void *)h->slot);
        }
        c->stubs[c->nstubs++] = (struct copystub){ stub, h->slot };
        CHOOK_CHECK(chook__code_write(stub, buf, sizeof buf));
        c->copy_vptr[i] = (void *)stub;
    }
    return CHOOK_OK;
}

static int make_copy(void **object, void **vptr, uintptr_t start, uintptr_t end, objcopy **out)
{
    size_t bytes = end - start;
    objcopy *c = chook__alloc(sizeof(*c));
    void **mem = chook__alloc(bytes);
    if (!c || !mem) {
        chook__free(c, sizeof(*c));
        chook__free(mem, bytes);
        return chook__fail(CHOOK_ENOMEM, "out of memory for a private vtable");
    }
    chook__memcpy(mem, (const void *)start, bytes);
    c->mem = mem;
    c->bytes = bytes;
    c->object = object;
    c->orig_vptr = vptr;
    c->copy_vptr = (void **)((uintptr_t)mem + ((uintptr_t)vptr - start));
    int st = follow_class_hooks(c, start, end);
    if (st != CHOOK_OK) {
        drop_copy(c);
        return st;
    }
    *out = c;
    return CHOOK_OK;
}

int chook_object_install(void *object, size_t index, void *replacement, void **original,
                         chook_slot_hook **handle)
{
    chook__clear_error();
    if (!replacement) return chook__fail(CHOOK_EINVAL, "chook_object_install: replacement is NULL");
    void **vptr;
    uintptr_t s, e;
    CHOOK_CHECK(check_vtable(object, index, &vptr, &s, &e));
    chook__mutex_lock(&slots_lock);
    objcopy *c = NULL;
    for (objcopy *i = copies; i; i = i->next)
        if (i->object == (void **)object && i->copy_vptr == vptr && i->users > 0) c = i;
    int status = CHOOK_OK, fresh = 0;
    if (!c) {
        if (!s) guess_extent(vptr, index, &s, &e);
        status = make_copy((void **)object, vptr, s, e, &c);
        fresh = status == CHOOK_OK;
    }
    if (status == CHOOK_OK)
        status = install_locked(&c->copy_vptr[index], replacement, original, c, handle);
    if (status == CHOOK_OK && fresh) {
        /* Switch the object last: its private vtable is complete by now. */
        status = chook__slot_swap((void **)object, vptr, c->copy_vptr);
        if (status == CHOOK_OK) {
            c->next = copies;
            copies = c;
        } else {
            struct chook_slot_hook *h = hooks;
            hooks = h->next;
            chook__handle_release(h->handle);
            chook__free(h, sizeof(*h));
            if (handle) *handle = NULL;
        }
    }
    if (status != CHOOK_OK && fresh && c) {
        /* Never reachable: the object was not switched to it. */
        drop_copy(c);
    }
    if (status == CHOOK_OK) c->users++;
    chook__mutex_unlock(&slots_lock);
    return status;
}

int chook_slot_remove(chook_slot_hook *handle)
{
    chook__clear_error();
    struct chook_slot_hook *h;
    chook__mutex_lock(&slots_lock);
    /* Garbage is refused without a dereference, a stale handle by its generation. */
    int hst = chook__handle_get((uintptr_t)handle, CHOOK__H_SLOT, "slot hook", (void **)&h);
    struct chook_slot_hook **pp = &hooks;
    while (hst == CHOOK_OK && *pp && *pp != h) pp = &(*pp)->next;
    if (hst == CHOOK_OK && !*pp)
        hst = chook__fail(CHOOK_ENOTHOOKED, "slot hook %p is not installed", (void *)handle);
    if (hst != CHOOK_OK) {
        chook__mutex_unlock(&slots_lock);
        return hst;
    }
    int status = CHOOK_OK;
    for (struct chook_slot_hook *n = hooks; n != h && status == CHOOK_OK; n = n->next)
        if (n->slot == h->slot)
            status = chook__fail(CHOOK_EBUSY, "a newer hook (to %p) is installed on slot %p; "
                                 "remove it first", n->replacement, (void *)h->slot);
    objcopy *c = h->copy;
    if (status == CHOOK_OK && c && c->users == 1 &&
        __atomic_load_n(c->object, __ATOMIC_ACQUIRE) != c->copy_vptr)
        status = chook__fail(CHOOK_EPATCH, "the vptr of object %p no longer points at its "
                             "private vtable (was the object destroyed?)", (void *)c->object);
    if (status == CHOOK_OK) status = chook__slot_swap(h->slot, h->replacement, h->saved);
    if (status == CHOOK_OK && c && c->users == 1) {
        status = chook__slot_swap(c->object, c->copy_vptr, c->orig_vptr);
        if (status != CHOOK_OK) chook__slot_swap(h->slot, h->saved, h->replacement);
    }
    if (status == CHOOK_OK && c) c->users--;
    if (status == CHOOK_OK) {
        *pp = h->next;
        chook__handle_release(h->handle);
        chook__free(h, sizeof(*h));
    }
    chook__mutex_unlock(&slots_lock);
    return status;
}

/* fork() must not split this lock (see chook__fork_guard). */
__attribute__((constructor)) static void vtable_fork_guard(void)
{
    chook__fork_guard(&slots_lock, CHOOK_RANK_VTABLES);
}
