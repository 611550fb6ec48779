/*
 * Step 4 of a commit (the protocol is at the top of hook.c): writing the
 * patches, with the other threads of the process stopped (stop.h), or
 * breakpoint first around those that cannot be (trap.h), or alone when this is
 * the only thread; then the slots.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "codepage.h"
#include "hook.h"
#include "stop.h"
#include "stop_impl.h"
#include "stop_unparked.h"
#include "trap.h"

/* What hook i of the new chain calls as its original. */
uintptr_t chook__chain_below(const struct site *s, size_t i)
{
    return i + 1 < s->next_count ? (uintptr_t)s->next_chain[i + 1]->replacement : s->tramp;
}

/* The bytes a site holds now, and those the commit wants there. */
const uint8_t *chook__site_old_bytes(const struct site *s)
{
    return s->patched ? s->patch : s->original;
}

static const uint8_t *new_bytes(const struct site *s)
{
    return s->next_count ? s->next_patch : s->original;
}

/* The patch for the new chain: straight to the newest replacement when a near
 * jump reaches it, else to the entry stub. */
void chook__site_plan_patch(struct site *s)
{
    uintptr_t head = (uintptr_t)s->next_chain[0]->replacement;
    size_t jl = 0;
    if (s->jump == CHOOK_ARCH_JUMP_NEAR)
        jl = chook_arch_write_jump(s->next_patch, s->patch_at, head, CHOOK_ARCH_JUMP_NEAR);
    if (!jl) jl = chook_arch_write_jump(s->next_patch, s->patch_at, s->entry, s->jump);
    chook_arch_fill_trap(s->next_patch + jl, s->plan.patch_len - jl);
}



/* Moves parked threads out of bytes about to be overwritten. */
static void fixup_threads(chook__world *w, struct commit *c)
{
    size_t n = chook__world_count(w);
    for (size_t t = 0; t < n; t++) {
        uintptr_t pc = chook__world_pc(w, t);
        for (size_t k = 0; k < c->ncode; k++) {
            struct site *s = c->code[k];
            if (s->patched) continue; /* a restore: the jump is one instruction */
            if (pc <= s->patch_at || pc >= s->patch_at + s->plan.patch_len) continue;
            for (unsigned i = 1; i < s->plan.n_insns; i++) {
                if (pc == s->patch_at + s->plan.insn_off[i]) {
                    chook__world_set_pc(w, t, s->tramp + s->tramp_off[i]);
                    break;
                }
            }
            break;
        }
    }
}

/* Writes the patches and restores, sites sharing a page in one write (only while
 * no other thread runs: the bytes between them are written back as read).
 * On failure, everything that may have been written is put back; *failed is the
 * site to name and *changed tells whether foreign bytes were found there. */
static int write_code(struct commit *c, size_t *failed, int *changed)
{
    size_t bad = 0;
    /* No messages here: threads are parked and formatting may call libc. */
    int st = chook__sites_write_patches(c->code, c->ncode, chook__site_old_bytes, new_bytes, &bad, changed);
    if (st != CHOOK_OK) {
        for (size_t i = 0; i < bad + !*changed && i < c->ncode; i++) {
            struct site *s = c->code[i];
            chook__code_write_raw(s->patch_at, chook__site_old_bytes(s), s->plan.patch_len);
        }
    }
    *failed = bad < c->ncode ? bad : 0;
    return st;
}

/* Unparked threads (stop_unparked.h): one of them sleeping inside bytes to be
 * overwritten cannot be moved, so the commit cannot go on. */
static int check_unparked(chook__world *w, struct commit *c, pid_t *tid)
{
    for (size_t t = 0; t < chook__world_unparked(w); t++) {
        uintptr_t pc = chook__world_unparked_pc(w, t);
        for (size_t k = 0; k < c->ncode; k++) {
            struct site *s = c->code[k];
            if (pc > s->patch_at && pc < s->patch_at + s->plan.patch_len) {
                *tid = chook__world_unparked_tid(w, t);
                return CHOOK_ETHREADS;
            }
        }
    }
    return CHOOK_OK;
}

/* The breakpoint-first protocol of trap.h, steps 1 to 4, for when some threads
 * are not parked. No libc: threads are parked. */
static int write_code_breakpoint_first(chook__world *w, struct commit *c)
{
    uint8_t bp[8];
    size_t bl = chook_arch_write_breakpoint(bp);
    if (chook__trap_install_handler() != 0) return CHOOK_ENOSYS;
    for (size_t k = 0; k < c->ncode; k++) chook__trap_set(c->code[k]->patch_at, c->code[k]->entry);
    for (size_t k = 0; k < c->ncode; k++)
        if (chook__code_write_raw(c->code[k]->patch_at, bp, bl) != 0) goto undo_first;
    chook__sync_cores();
    if (!chook__world_unparked_quiet(w)) {
        /* A thread woke up: it may have been inside a range before the
         * breakpoints. Put the first bytes back; nothing else was written. */
        for (size_t k = 0; k < c->ncode; k++) {
            struct site *s = c->code[k];
            chook__code_write_raw(s->patch_at, chook__site_old_bytes(s), bl);
        }
        chook__sync_cores();
        return CHOOK_ETHREADS;
    }
    for (size_t k = 0; k < c->ncode; k++) {
        struct site *s = c->code[k];
        const uint8_t *bytes = new_bytes(s);
        if (chook__code_write_raw(s->patch_at + bl, bytes + bl, s->plan.patch_len - bl) != 0)
            goto undo_first;
    }
    chook__sync_cores();
    for (size_t k = 0; k < c->ncode; k++) {
        struct site *s = c->code[k];
        const uint8_t *bytes = new_bytes(s);
        if (chook__code_write_raw(s->patch_at, bytes, bl) != 0 || !chook__site_bytes_are(s, bytes))
            goto undo_first;
    }
    chook__sync_cores();
    return CHOOK_OK;
undo_first:
    /* /proc/self/mem refused a write (cannot happen to a mapped page short of the
     * kernel running out of memory): put every site back, breakpoint first. */
    for (size_t k = 0; k < c->ncode; k++) chook__code_write_raw(c->code[k]->patch_at, bp, bl);
    chook__sync_cores();
    for (size_t k = 0; k < c->ncode; k++) {
        struct site *s = c->code[k];
        const uint8_t *old = chook__site_old_bytes(s);
        chook__code_write_raw(s->patch_at + bl, old + bl, s->plan.patch_len - bl);
    }
    chook__sync_cores();
    for (size_t k = 0; k < c->ncode; k++) {
        struct site *s = c->code[k];
        chook__code_write_raw(s->patch_at, chook__site_old_bytes(s), bl);
    }
    chook__sync_cores();
    return CHOOK_EPATCH;
}

/* Step 4's slot updates: every hook's stub and every site's entry. */
void chook__commit_update_slots(struct commit *c)
{
    for (size_t k = 0; k < c->nsites; k++) {
        struct site *s = c->sites[k];
        for (size_t i = 0; i < s->next_count; i++) {
            struct chook_hook *h = s->next_chain[i];
            if (h->stub_slot && h->original == h->stub)
                __atomic_store_n(h->stub_slot, chook__chain_below(s, i), __ATOMIC_RELEASE);
        }
        uintptr_t head = s->next_count ? (uintptr_t)s->next_chain[0]->replacement : s->tramp;
        __atomic_store_n(s->entry_slot, head, __ATOMIC_RELEASE);
    }
}

/* 1 when this is the only thread of the process, so there is nobody to park.
 * procfs gives the /proc/self/task directory 2 + (number of threads) links;
 * statx on a descriptor kept open costs a fraction of listing the directory.
 * The descriptor is reopened in a forked child (an inherited one describes the
 * parent). Only threads make threads and this one is committing, so the answer
 * holds for the commit. Any doubt answers 0, and the world is stopped as usual. */
static int only_thread(void)
{
    static int fd = -1;
    static long fd_pid;
    long pid = chook__sys_getpid();
    if (fd < 0 || fd_pid != pid) {
        if (fd >= 0) chook__sys_close(fd);
        fd = (int)chook__sys_open("/proc/self/task", O_RDONLY | O_DIRECTORY);
        fd_pid = pid;
        if (fd < 0) return 0;
    }
    struct statx sx;
    sx.stx_mask = 0;
    if (chook_arch_syscall(SYS_statx, fd, (long)"", AT_EMPTY_PATH, STATX_NLINK, (long)&sx,
                           0) != 0 ||
        !(sx.stx_mask & STATX_NLINK))
        return 0;
    return sx.stx_nlink == 3;
}

/* What chook__world_resume() does for a process with one thread: this thread
 * wrote the code through the kernel, whose return to user space orders the
 * write before this core's next fetch; with SYNC_CORE membarrier registered the
 * kernel serialises a core this thread migrates to. Without it, the core
 * serialises itself (cpuid, costly in virtual machines). */
static void solo_serialize(void)
{
    if (!chook__membarrier_ready()) chook_arch_serialize();
}

/* Step 4 with other threads: stop them, move them, write, update, resume. A
 * failure to stop is returned with its message (*stopped stays 0); the others
 * are for the caller to describe once the threads run again. */
static int write_stopped(struct commit *c, size_t *failed, int *changed, pid_t *tid,
                         int *stopped)
{
    chook__world *w = NULL;
    /* Room for breakpoint entries is made before anything is parked. */
    int st = chook__trap_prepare(c->ncode);
    if (st == CHOOK_OK) st = chook__world_stop(&w);
    if (st != CHOOK_OK) return st;
    *stopped = 1;
    fixup_threads(w, c);
    if (!chook__world_unparked(w))
        st = write_code(c, failed, changed);
    else if ((st = check_unparked(w, c, tid)) == CHOOK_OK)
        st = write_code_breakpoint_first(w, c);
    if (st == CHOOK_OK) chook__commit_update_slots(c);
    chook__world_resume(w);
    return st;
}

/* Step 4 of a commit with code to write (see hook.c): patches and slots, with
 * the other threads stopped (or none to stop), and the message of a failure
 * formatted once they run again. */
int chook__commit_code(struct commit *c)
{
    int st;
    /* Unreachable until patched: point new sites' entries at their heads now. */
    for (size_t k = 0; k < c->ncode; k++) {
        struct site *s = c->code[k];
        if (!s->patched)
            __atomic_store_n(s->entry_slot, (uintptr_t)s->next_chain[0]->replacement,
                             __ATOMIC_RELEASE);
    }
    pid_t tid = 0;
    size_t failed = 0;
    int changed = 0, stopped = 0;
    if (only_thread()) {
        /* Nobody to park or move: write as a stop would, and serialise. As
         * a stop would, give back a disposition kept for a stale signal of a
         * thread that has gone since. */
        chook__stopsig_sweep();
        stopped = 1;
        st = write_code(c, &failed, &changed);
        if (st == CHOOK_OK) chook__commit_update_slots(c);
        solo_serialize();
    } else {
        /* A thread that blocks chook's signal and wakes up during a
         * breakpoint-first write makes that try fail with nothing changed
         * (tid stays 0): try again a few times before giving up. */
        for (int attempt = 0; attempt < 3; attempt++) {
            tid = 0;
            stopped = 0;
            st = write_stopped(c, &failed, &changed, &tid, &stopped);
            if (!(st == CHOOK_ETHREADS && stopped && !tid)) break;
        }
    }
    /* Threads run again: messages may be formatted now. */
    if (st == CHOOK_OK || !stopped)
        ; /* done, or the stop failed and said why */
    else if (st == CHOOK_ETHREADS && tid)
        st = chook__fail(st, "thread %d blocks chook's signal and sleeps inside the "
                         "bytes to patch; nothing changed", (int)tid);
    else if (st == CHOOK_ETHREADS)
        st = chook__fail(st, "a thread that blocks chook's signal kept waking up during "
                         "the commit (3 tries); nothing changed, try again");
    else if (st == CHOOK_ENOSYS)
        st = chook__fail(st, "a thread blocks chook's signal and the kernel refused "
                         "chook's SIGTRAP handler, needed to patch around it; nothing "
                         "changed");
    else if (st == CHOOK_EPATCH && changed)
        st = chook__fail(st, "target 0x%lx: its code was changed by someone else while "
                         "chook was patching it; nothing changed",
                         (unsigned long)c->code[failed]->target);
    else
        st = chook__fail(CHOOK_EPATCH, "target 0x%lx: writing the patch failed; "
                         "nothing changed", (unsigned long)c->code[failed]->target);
    return st;
}
