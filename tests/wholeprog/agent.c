/*
 * The whole-program agent: preloaded into a real program (LD_PRELOAD), it
 * attaches an empty on_enter and on_leave listener to every function of one
 * module, counts the calls and writes what it saw when the process exits.
 * Built only with the tests; uses the public API of chook only.
 *
 * Environment:
 *   CHOOK_WP_MODULE   which module: a library name as for chook_module_find()
 *                     ("libc.so.6", "libstdc++.so.6": its exported functions),
 *                     or "" for the main program (every function it has, static
 *                     ones included). Unset: the agent does nothing.
 *   CHOOK_WP_OUT      the report goes to CHOOK_WP_OUT.<pid>, one per process
 *                     that exits through exit() (forked children and exec'd
 *                     programs write their own; a forked child's counts start
 *                     from its parent's at the fork).
 *   CHOOK_WP_EXCLUDE  comma-separated function names or fnmatch(3) patterns not
 *                     to attach (the driver's list of cases waiting for a fix);
 *                     a function is excluded when any of its names matches.
 *   CHOOK_WP_ONLY     the same form: attach only the functions that match (to
 *                     find which function breaks a program).
 *   CHOOK_WP_EXE      when set and not empty, only a process whose executable has
 *                     this file name attaches (the others run unobserved).
 *   CHOOK_WP_TRACE    1: name each function on stderr before attaching it.
 *   CHOOK_WP_API      "pattern": attach with one chook_attach_pattern() call (one
 *                     transaction, aliases and cold parts left out by chook)
 *                     instead of one chook_attach() per function.
 *
 * Accounting. Every thread keeps its own counters (enters, leaves per
 * function) and a shadow stack of the calls it entered, each tagged with the
 * call's stack position (the address of its first stack argument, which is the
 * caller's stack pointer at the call plus 8: a nested call always has a lower
 * one). No locks: a thread only writes its own record; the exit report reads
 * them all. A call whose leave never comes was either abandoned (a longjmp or
 * an exception went past it: a later call of the same thread starts at or above
 * its stack position, or a call below it in the shadow stack leaves) or is
 * still open when the process exits (exit, exec, __libc_start_main). A leave
 * that matches no entered call, or whose per-call data changed, is a mismatch:
 * that is chook's fault, never the program's. The driver checks that only
 * functions known to unwind or never return have abandoned or open calls.
 *
 * The listeners use no stdio and no locks; their first call on a thread maps
 * that thread's record (mmap, which runs unobserved inside a callback).
 */
#define _GNU_SOURCE
#include <chook.h>

#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 4096
#define MAX_DEPTH 4096
/* Two stack positions further apart than this are on different stacks (a
 * signal's alternate stack, a posix_spawn child's stack): neither is abandoned
 * by the other. */
#define SAME_STACK (64u << 20)
#define DATA_MAGIC 0x5eed000000000000ull

struct count {
    uint64_t enters, leaves, abandoned, mismatch;
};

struct frame {
    uintptr_t sp;
    uint32_t fid;
};

struct thread_rec {
    int tid;
    int stale;        /* a thread of the parent, before fork: not running here */
    uint32_t depth;
    uint64_t overflow; /* calls not pushed: the shadow stack was full */
    struct frame stack[MAX_DEPTH];
    struct count cnt[]; /* one per function */
};

struct func {
    void *addr;
    const char *name; /* first name at this address */
    unsigned names;   /* how many names share it */
    int status;       /* of chook_attach; 1 = excluded */
    char *message;
};

static struct func *funcs;
static size_t n_funcs, n_names;
static size_t rec_size;
static struct thread_rec *recs[MAX_THREADS];
static unsigned n_recs;
static uint64_t lost_threads;
static const char *module_name;
static char out_prefix[512];
static uint64_t attach_ns;
static int attach_pid; /* a forked child inherits the attachments: it spent no time */
static int pattern_status = 1;  /* of chook_attach_pattern(); 1: not used */
static size_t pattern_attached; /* its count of attached listeners */
static int active;

static __thread struct thread_rec *my_rec __attribute__((tls_model("initial-exec")));

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Only the owning thread writes a counter; the report may read it from another
 * thread, so both sides use atomic accesses (no read-modify-write, no lock). */
static inline void bump(uint64_t *c)
{
    __atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

static struct thread_rec *rec(void)
{
    struct thread_rec *r = my_rec;
    if (r) return r;
    void *mem = mmap(NULL, rec_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return NULL;
    r = mem;
    r->tid = (int)syscall(SYS_gettid);
    unsigned slot = __atomic_fetch_add(&n_recs, 1, __ATOMIC_RELAXED);
    if (slot < MAX_THREADS)
        __atomic_store_n(&recs[slot], r, __ATOMIC_RELEASE);
    else
        __atomic_fetch_add(&lost_threads, 1, __ATOMIC_RELAXED);
    my_rec = r;
    return r;
}

static inline uintptr_t stack_pos(chook_call *call)
{
    /* Without a signature, integer argument 6 is the first stack slot. */
    return (uintptr_t)chook_arg(call, 6);
}

static inline int same_stack(uintptr_t a, uintptr_t b)
{
    return (a > b ? a - b : b - a) < SAME_STACK;
}

static int on_enter(chook_call *call, void *data)
{
    uint32_t fid = (uint32_t)(uintptr_t)data;
    struct thread_rec *r = rec();
    if (!r) return CHOOK_CONTINUE;
    uintptr_t sp = stack_pos(call);
    /* Calls of this stack at or above this one have been left without a leave. */
    uint32_t d = r->depth;
    while (d > 0 && r->stack[d - 1].sp <= sp && same_stack(r->stack[d - 1].sp, sp)) {
        bump(&r->cnt[r->stack[d - 1].fid].abandoned);
        d--;
    }
    bump(&r->cnt[fid].enters);
    if (d < MAX_DEPTH) {
        r->stack[d].sp = sp;
        r->stack[d].fid = fid;
        d++;
    } else {
        bump(&r->overflow);
    }
    __atomic_store_n(&r->depth, d, __ATOMIC_RELAXED);
    *chook_call_data(call) = DATA_MAGIC | fid;
    return CHOOK_CONTINUE;
}

static void on_leave(chook_call *call, void *data)
{
    uint32_t fid = (uint32_t)(uintptr_t)data;
    struct thread_rec *r = rec();
    if (!r) return;
    uintptr_t sp = stack_pos(call);
    if (*chook_call_data(call) != (DATA_MAGIC | fid)) bump(&r->cnt[fid].mismatch);
    uint32_t d = r->depth, i = d;
    while (i > 0 && !(r->stack[i - 1].sp == sp && r->stack[i - 1].fid == fid)) i--;
    if (i == 0) {
        /* No entered call of this function at this stack position. */
        bump(&r->cnt[fid].mismatch);
        return;
    }
    for (uint32_t k = i; k < d; k++) bump(&r->cnt[r->stack[k].fid].abandoned);
    bump(&r->cnt[fid].leaves);
    __atomic_store_n(&r->depth, i - 1, __ATOMIC_RELAXED);
}

/* ---- the report ------------------------------------------------------------ */

struct out {
    int fd;
    char buf[8192];
    size_t len;
};

static void flush_out(struct out *o)
{
    size_t done = 0;
    while (done < o->len) {
        ssize_t n = write(o->fd, o->buf + done, o->len - done);
        if (n <= 0) break;
        done += (size_t)n;
    }
    o->len = 0;
}

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    if (o->len + len > sizeof o->buf) flush_out(o);
    memcpy(o->buf + o->len, line, len);
    o->len += len;
}

/* Status names without their explanation ("CHOOK_EBRANCHIN"). */
static void status_name(int status, char *name, size_t size)
{
    const char *s = chook_strerror(status);
    size_t n = strcspn(s, ":");
    if (n >= size) n = size - 1;
    memcpy(name, s, n);
    name[n] = 0;
}

static void one_line(char *s)
{
    for (; *s; s++)
        if (*s == '\n' || *s == '\t') *s = ' ';
}

__attribute__((destructor)) static void report(void)
{
    if (!active) return;
    chook_ignore_thread(1);
    const char *only = getenv("CHOOK_WP_ONLY");
    char path[600];
    snprintf(path, sizeof path, "%s.%d", out_prefix, (int)getpid());
    struct out *o = mmap(NULL, sizeof *o, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                         -1, 0);
    if (o == MAP_FAILED) return;
    o->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (o->fd < 0) return;
    o->len = 0;

    char exe[512];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    size_t attached = 0, refused = 0, excluded = 0;
    for (size_t f = 0; f < n_funcs; f++) {
        if (funcs[f].status == CHOOK_OK) attached++;
        else if (funcs[f].status == 1) excluded++;
        else refused++;
    }
    unsigned nr = __atomic_load_n(&n_recs, __ATOMIC_ACQUIRE);
    if (nr > MAX_THREADS) nr = MAX_THREADS;
    struct count *sum = mmap(NULL, n_funcs * sizeof *sum + 1, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint64_t *open_calls = mmap(NULL, n_funcs * sizeof *open_calls + 1, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (sum == MAP_FAILED || open_calls == MAP_FAILED) return;
    uint64_t overflow = 0;
    for (unsigned t = 0; t < nr; t++) {
        struct thread_rec *r = __atomic_load_n(&recs[t], __ATOMIC_ACQUIRE);
        if (!r) continue;
        for (size_t f = 0; f < n_funcs; f++) {
            sum[f].enters += __atomic_load_n(&r->cnt[f].enters, __ATOMIC_RELAXED);
            sum[f].leaves += __atomic_load_n(&r->cnt[f].leaves, __ATOMIC_RELAXED);
            sum[f].abandoned += __atomic_load_n(&r->cnt[f].abandoned, __ATOMIC_RELAXED);
            sum[f].mismatch += __atomic_load_n(&r->cnt[f].mismatch, __ATOMIC_RELAXED);
        }
        overflow += __atomic_load_n(&r->overflow, __ATOMIC_RELAXED);
        if (r->stale) continue;
        uint32_t d = __atomic_load_n(&r->depth, __ATOMIC_RELAXED);
        for (uint32_t k = 0; k < d && k < MAX_DEPTH; k++) open_calls[r->stack[k].fid]++;
    }
    uint64_t enters = 0, leaves = 0, abandoned = 0, mismatch = 0, opened = 0;
    for (size_t f = 0; f < n_funcs; f++) {
        enters += sum[f].enters;
        leaves += sum[f].leaves;
        abandoned += sum[f].abandoned;
        mismatch += sum[f].mismatch;
        opened += open_calls[f];
    }
    put(o, "pid %d\nexe %s\nmodule %s\n", (int)getpid(), exe, module_name[0] ? module_name : "main");
    put(o, "functions %zu\nnames %zu\nattached %zu\nrefused %zu\nexcluded %zu\n", n_funcs,
        n_names, attached, refused, excluded);
    int forked = attach_pid != (int)getpid();
    put(o, "forked %d\nattach_ms %.1f\nthreads %u\nlost_threads %llu\n", forked,
        forked ? 0.0 : (double)attach_ns / 1e6, nr, (unsigned long long)lost_threads);
    if (pattern_status != 1)
        put(o, "pattern_status %d\npattern_attached %zu\n", pattern_status, pattern_attached);
    put(o, "enters %llu\nleaves %llu\nabandoned %llu\nopen %llu\nmismatch %llu\noverflow %llu\n",
        (unsigned long long)enters, (unsigned long long)leaves, (unsigned long long)abandoned,
        (unsigned long long)opened, (unsigned long long)mismatch, (unsigned long long)overflow);
    for (size_t f = 0; f < n_funcs; f++) {
        const struct func *fn = &funcs[f];
        if (fn->status == 1) {
            if (!(only && only[0])) put(o, "exclude %s\n", fn->name);
        } else if (fn->status != CHOOK_OK) {
            char sname[64];
            status_name(fn->status, sname, sizeof sname);
            put(o, "refuse %s %s %s\n", fn->name, sname, fn->message ? fn->message : "");
        }
        if (sum[f].abandoned || open_calls[f] || sum[f].mismatch)
            put(o, "fn %s enters %llu leaves %llu abandoned %llu open %llu mismatch %llu\n",
                fn->name, (unsigned long long)sum[f].enters, (unsigned long long)sum[f].leaves,
                (unsigned long long)sum[f].abandoned, (unsigned long long)open_calls[f],
                (unsigned long long)sum[f].mismatch);
    }
    put(o, "end\n");
    flush_out(o);
    close(o->fd);
}

/* ---- attaching ------------------------------------------------------------- */

struct collect {
    struct func *v;
    size_t n, cap;
    int exported_only;
};

static int collect_one(const chook_symbol *s, void *data)
{
    struct collect *c = data;
    if (!(s->flags & CHOOK_SYMBOL_FUNCTION) || !s->address) return 0;
    if (c->exported_only && !(s->flags & CHOOK_SYMBOL_EXPORTED)) return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024;
        struct func *v = realloc(c->v, cap * sizeof *v);
        if (!v) return 1;
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n++] = (struct func){.addr = s->address, .name = strdup(s->name), .names = 1};
    return 0;
}

static int by_address(const void *a, const void *b)
{
    const struct func *x = a, *y = b;
    if (x->addr != y->addr) return x->addr < y->addr ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int in_list(const char *list, const char *name)
{
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char pattern[256];
        if (n < sizeof pattern) {
            memcpy(pattern, p, n);
            pattern[n] = 0;
            if (fnmatch(pattern, name, 0) == 0) return 1;
        }
        p = end ? end + 1 : NULL;
    }
    return 0;
}

static void mark_stale(void)
{
    unsigned nr = __atomic_load_n(&n_recs, __ATOMIC_ACQUIRE);
    for (unsigned t = 0; t < nr && t < MAX_THREADS; t++)
        if (recs[t] && recs[t] != my_rec) recs[t]->stale = 1;
}

static struct func *func_at(void *addr)
{
    size_t lo = 0, hi = n_funcs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (funcs[mid].addr == addr) return &funcs[mid];
        if ((uintptr_t)funcs[mid].addr < (uintptr_t)addr) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* chook_attach_pattern(): attach what the agent selected, each with its index. */
static int pattern_select(chook_pattern_match *m, void *arg)
{
    (void)arg;
    struct func *f = func_at(m->symbol->address);
    if (!f || f->status == 1 || f->status == 3) return 0;
    f->status = 3; /* taken: its aliases are not offered again */
    m->data = (void *)(uintptr_t)(f - funcs);
    return 1;
}

static int pattern_report(chook_pattern_match *m, void *arg)
{
    (void)arg;
    struct func *f = func_at(m->symbol->address);
    if (!f) return 0;
    f->status = m->status;
    if (m->status != CHOOK_OK) f->message = strdup(m->reason);
    return 0;
}

__attribute__((constructor)) static void agent_init(void)
{
    const char *module = getenv("CHOOK_WP_MODULE");
    const char *out = getenv("CHOOK_WP_OUT");
    const char *exclude = getenv("CHOOK_WP_EXCLUDE");
    const char *only = getenv("CHOOK_WP_ONLY");
    const char *only_exe = getenv("CHOOK_WP_EXE");
    if (!module || !out) return;
    if (only_exe && only_exe[0]) {
        char exe[512];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) return;
        exe[n] = 0;
        const char *base = strrchr(exe, '/');
        if (strcmp(base ? base + 1 : exe, only_exe) != 0) return;
    }
    module_name = strdup(module);
    snprintf(out_prefix, sizeof out_prefix, "%s", out);

    char pattern[300];
    snprintf(pattern, sizeof pattern, "%s:*", module);
    struct collect c = {.exported_only = module[0] != 0};
    if (chook_symbol_each(pattern, collect_one, &c) != CHOOK_OK || c.n == 0) return;
    n_names = c.n;
    qsort(c.v, c.n, sizeof *c.v, by_address);
    /* One function per address: aliases (memcpy@@, __memcpy_chk ...) share it.
     * status 1: excluded; 2: not selected by CHOOK_WP_ONLY (yet). */
    size_t n = 0;
    for (size_t i = 0; i < c.n; i++) {
        if (!n || c.v[n - 1].addr != c.v[i].addr) {
            c.v[n++] = c.v[i];
            if (only && only[0]) c.v[n - 1].status = 2;
        } else {
            c.v[n - 1].names++;
        }
        if (exclude && in_list(exclude, c.v[i].name)) c.v[n - 1].status = 1;
        if (only && only[0] && c.v[n - 1].status == 2 && in_list(only, c.v[i].name))
            c.v[n - 1].status = 0;
    }
    for (size_t f = 0; f < n; f++)
        if (c.v[f].status == 2) c.v[f].status = 1;
    funcs = c.v;
    n_funcs = n;
    rec_size = sizeof(struct thread_rec) + n_funcs * sizeof(struct count);
    if (pthread_atfork(NULL, NULL, mark_stale) != 0) return;
    active = 1;

    /* CHOOK_WP_TRACE=1 names each function on stderr before attaching it, to find
     * the one whose attach breaks the process. */
    const char *trace = getenv("CHOOK_WP_TRACE");
    const char *api = getenv("CHOOK_WP_API");
    uint64_t t0 = now_ns();
    if (api && strcmp(api, "pattern") == 0) {
        int st = chook_attach_pattern(pattern, module[0] ? CHOOK_EACH_EXPORTED : 0, on_enter,
                                      on_leave, NULL, NULL, pattern_select, pattern_report,
                                      NULL, &pattern_attached);
        pattern_status = st;
        for (size_t f = 0; f < n_funcs; f++) {
            if (funcs[f].status == 3) funcs[f].status = st != CHOOK_OK ? st : CHOOK_ENOTHOOKED;
            if (funcs[f].status != CHOOK_OK && funcs[f].status != 1 && !funcs[f].message)
                funcs[f].message = strdup(st != CHOOK_OK ? chook_last_error() : "not reported");
        }
        attach_ns = now_ns() - t0;
        attach_pid = (int)getpid();
        return;
    }
    for (size_t f = 0; f < n_funcs; f++) {
        if (funcs[f].status == 1) continue;
        if (trace && trace[0] == '1') {
            char line[300];
            int len = snprintf(line, sizeof line, "attach %s\n", funcs[f].name);
            if (len > 0 && write(2, line, (size_t)len) < 0) trace = NULL;
        }
        chook_listener *l;
        int st = chook_attach(funcs[f].addr, on_enter, on_leave, (void *)(uintptr_t)f, &l);
        funcs[f].status = st;
        if (st != CHOOK_OK) {
            funcs[f].message = strdup(chook_last_error());
            if (funcs[f].message) one_line(funcs[f].message);
        }
    }
    attach_ns = now_ns() - t0;
    attach_pid = (int)getpid();
}
