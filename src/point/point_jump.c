/*
 * Compiled-in hook points, jump mode: each CHOOK_ENTER compiled with
 * CHOOK_POINT_MODE_jump is a no-op recorded in its module's chook_point_sites
 * table. While the point has an attachment, the no-op is a jump to the slow
 * path; chook rewrites it when the point goes from detached to attached and back.
 *
 * Protocol (after the core's commit protocol in stop.h):
 *   1. Take the commit lock; collect the point's sites; read each one and check
 *      it holds exactly what the other state leaves there (the no-op, or the jump
 *      to its own slow path); a site already in the wanted state is left alone.
 *   2. Park the other threads. A site is one instruction, so no parked thread can
 *      be inside one: threads stopped at a site run the new instruction.
 *   3. Write every site and read it back; on a failure, write back what was there.
 *   4. Resume (which serialises every core) and release the commit lock.
 * Points compiled in branch mode have no sites: nothing is written for them.
 */
#include "point.h"
#include "stop.h"

typedef struct {
    uintptr_t at;
    uint8_t now[8];   /* the bytes found there */
    uint8_t want[8];  /* the bytes to write */
    size_t len;
} site_write;

static uintptr_t field(const int32_t *f)
{
    return (uintptr_t)f + (uintptr_t)(intptr_t)*f;
}

/* Step 1 for one site: reads it and decides what to write, or fails. */
static int plan_site(const struct chook__point_site *e, uintptr_t at, int enable,
                     site_write *w)
{
    uint8_t jump[8];
    size_t jlen = chook_arch_write_jump(jump, at, field(&e->slow), CHOOK_ARCH_JUMP_NEAR);
    if (e->len == 0 || e->len > sizeof e->nop || jlen != e->len)
        return chook__fail(CHOOK_EPATCH, "jump-mode site 0x%lx: its %u-byte no-op cannot "
                           "hold a jump to its slow path 0x%lx", (unsigned long)at,
                           (unsigned)e->len, (unsigned long)field(&e->slow));
    w->at = at;
    w->len = e->len;
    long n = chook__code_read(at, w->now, w->len);
    if (n != (long)w->len)
        return n < 0 ? n : chook__fail(CHOOK_EPATCH, "jump-mode site 0x%lx: unreadable",
                                       (unsigned long)at);
    const uint8_t *want = enable ? jump : e->nop;
    const uint8_t *other = enable ? e->nop : jump;
    chook__memcpy(w->want, want, w->len);
    if (chook__memcmp(w->now, want, w->len) == 0) return 1; /* already so */
    if (chook__memcmp(w->now, other, w->len) != 0)
        return chook__fail(CHOOK_EPATCH, "jump-mode site 0x%lx: its code was changed by "
                           "someone else; nothing written", (unsigned long)at);
    return CHOOK_OK;
}

int chook__point_sites_set(struct chook_point *p, const chook__module *m, int enable)
{
    uintptr_t start, stop;
    if (!chook__point_section(m, CHOOK__NOTE_SITES, &start, &stop)) return CHOOK_OK;
    const size_t esize = sizeof(struct chook__point_site);
    if (start % 4 || (stop - start) % esize)
        return chook__fail(CHOOK_EPATCH, "%s: malformed table of jump-mode sites",
                           m->pub.path);

    size_t count = 0;
    for (uintptr_t a = start; a < stop; a += esize)
        if (field(&((const struct chook__point_site *)a)->point) == (uintptr_t)p) count++;
    if (!count) return CHOOK_OK;

    site_write *w = chook__alloc(count * sizeof *w);
    if (!w) return chook__fail(CHOOK_ENOMEM, "out of memory for %zu jump-mode sites", count);

    chook__commit_lock();
    int st = CHOOK_OK;
    size_t n = 0;
    for (uintptr_t a = start; st == CHOOK_OK && a < stop; a += esize) {
        const struct chook__point_site *e = (const struct chook__point_site *)a;
        if (field(&e->point) != (uintptr_t)p) continue;
        uintptr_t at = field(&e->site);
        if (at < m->lo || at >= m->hi) {
            st = chook__fail(CHOOK_EPATCH, "jump-mode site 0x%lx is outside its module %s",
                             (unsigned long)at, m->pub.path);
            break;
        }
        int r = plan_site(e, at, enable, &w[n]);
        if (r == CHOOK_OK) n++;
        else if (r < 0) st = r;
    }
    if (st == CHOOK_OK && n) {
        chook__world *world = NULL;
        st = chook__world_stop(&world);
        if (st == CHOOK_OK) {
            /* No messages until resumed: formatting may call libc. */
            size_t done = 0;
            for (; done < n; done++) {
                uint8_t back[8];
                if (chook__code_write_raw(w[done].at, w[done].want, w[done].len) != 0 ||
                    chook__code_read(w[done].at, back, w[done].len) != (long)w[done].len ||
                    chook__memcmp(back, w[done].want, w[done].len) != 0)
                    break;
            }
            if (done < n)
                for (size_t i = 0; i <= done && i < n; i++)
                    chook__code_write_raw(w[i].at, w[i].now, w[i].len);
            chook__world_resume(world);
            if (done < n)
                st = chook__fail(CHOOK_EPATCH, "jump-mode site 0x%lx: writing failed; "
                                 "nothing changed", (unsigned long)w[done].at);
        }
    }
    chook__commit_unlock();
    chook__free(w, count * sizeof *w);
    return st;
}
