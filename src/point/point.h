/*
 * Compiled-in hook points, chook's side (point.c, point_attach.c,
 * point_generic.c, point_jump.c). The definition-site half lives entirely in
 * include/chook_point.h (and chook_point_impl.h) so that instrumented code
 * never links chook.
 *
 * How points are found: each module that defines points carries, in a PT_NOTE
 * segment, a note named "chook" whose descriptor gives the bounds of one of its
 * sections as two 32-bit offsets, each relative to its own field:
 *   type 1  section chook_points: pointers to the module's struct chook_point
 *   type 2  section chook_point_sites: jump-mode sites (struct below)
 * Every translation unit with points emits its own copy of the note; the copies
 * of one module are identical, so the first one found is used.
 */
#ifndef CHOOK_POINT_INTERNAL_H
#define CHOOK_POINT_INTERNAL_H

#include <stdint.h>

#include "chook_point.h"
#include "internal.h"
#include "symbols.h"

#define CHOOK__NOTE_POINTS 1u
#define CHOOK__NOTE_SITES 2u

/* One jump-mode site, as CHOOK__JUMP_FN emits it: every field is the offset of
 * its target from the field itself. */
struct chook__point_site {
    int32_t site;   /* the 5-byte no-op */
    int32_t slow;   /* the slow path it jumps to while attached */
    int32_t point;  /* the struct chook_point */
    uint8_t len;    /* bytes of the no-op */
    uint8_t nop[7]; /* the no-op itself, written back when the point is detached */
};

/* Finds the section that module m's note of `type` describes. Returns 1 and its
 * bounds, 0 when the module has no such note (or a malformed one). */
int chook__point_section(const chook__module *m, uint32_t type,
                         uintptr_t *start, uintptr_t *stop);

/* Checks that p is a point of a loaded module (never dereferencing it before it
 * is found in a module's table). Returns CHOOK_OK with *module referenced (drop
 * it with chook__module_unref) or CHOOK_EINVAL with a message naming `what`. */
int chook__point_check(const struct chook_point *p, const char *what,
                       chook__module **module);

/* Fills info for a checked point of module m. */
void chook__point_describe(struct chook_point *p, const chook__module *m,
                           chook_point_info *info);

/* Publishes att (NULL detaches) on a checked point of module m: patches the
 * jump-mode sites when the point goes from detached to attached or back, then
 * swaps the attachment and retires the old one. On failure nothing changed and
 * the caller still owns att. */
int chook__point_publish(struct chook_point *p, const chook__module *m,
                         struct chook_point_attachment *att);

/* Frees an attachment of either kind (point_generic.c). */
void chook__point_att_free(struct chook_point_attachment *att);

/* Jump mode (point_jump.c): rewrites every site of p in module m into a jump to
 * its slow path (enable = 1) or back into the no-op (enable = 0), all at once with
 * the other threads parked. Returns CHOOK_OK (also when p has no sites), or
 * CHOOK_EPATCH / CHOOK_ETHREADS / CHOOK_ENOMEM with nothing changed. */
int chook__point_sites_set(struct chook_point *p, const chook__module *m, int enable);

#endif /* CHOOK_POINT_INTERNAL_H */
