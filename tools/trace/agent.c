/*
 * The chook-trace agent: a shared library that chook-trace preloads into the
 * traced program (LD_PRELOAD). Its constructor reads the options chook-trace
 * put in CHOOK_TRACE_OPTS, attaches listeners to the functions chosen by the
 * patterns (one transaction per pattern), and reports at exit, at _exit, on
 * SIGINT and on SIGUSR1. Built on chook's public API only.
 *
 * Summary mode: each thread records into its own tables (no lock, no system
 * call per call; timestamps from the TSC): per function calls, total and self
 * time, min, max, and a histogram of 256 log-linear buckets for the p99, so
 * memory is bounded by functions x threads whatever the number of calls.
 * Log mode: one line per call with time, thread, depth indentation, arguments
 * and return value formatted by a signature.
 *
 * The report is written with write(2) from formatting code of its own (no
 * malloc, no stdio), so it can run from a signal handler.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <chook.h>
#include <chook_point.h>

#include "trace_common.h"

#define MAX_DEPTH 512
#define NBUCKETS 256
#define MAX_ITEMS 16

/* ---- options ------------------------------------------------------------------ */

struct sig {
    char name[128];
    unsigned char args[MAX_ITEMS];
    unsigned nargs;
    unsigned char ret;
};

static struct {
    char *patterns[256];
    unsigned npatterns;
    char *excludes[256];
    unsigned nexcludes;
    char *points[64];
    unsigned npoints;
    struct sig sigs[256];
    unsigned nsigs;
    int log, json, per_thread, follow, all_symbols, quiet, list;
    int sort; /* SORT_* */
    int out_fd;
    int status_fd;
    char out_path[512];
} opt = { .out_fd = -1, .status_fd = -1 };

enum { SORT_TOTAL, SORT_SELF, SORT_CALLS, SORT_AVG, SORT_MAX, SORT_NAME };

/* ---- traced functions ----------------------------------------------------------- */

struct fn {
    char name[96];
    char module[64];
    const struct sig *sig;
    chook_listener *listener;
    chook_point *point;
};

static struct fn *fns;
static size_t nfns, capfns;

/* ---- per-thread state ------------------------------------------------------------ */

struct fstat {
    uint64_t calls, total, self, min, max;
    uint32_t hist[NBUCKETS];
};

struct tstate {
    int tid;
    uint32_t depth;
    struct tstate *next;
    struct fstat **st;        /* nfns pointers, each allocated at the first call */
    uint64_t start[MAX_DEPTH];
    uint64_t child[MAX_DEPTH];
    /* log mode: the enter line not written yet, waiting for its leave */
    char pending[512];
    size_t pending_len;
    uint32_t pending_depth;
};

static __thread struct tstate *tls __attribute__((tls_model("initial-exec")));
static struct tstate *threads;   /* every thread's state, pushed lock-free */
static volatile int tracing;     /* 0 before setup, after the report, in untraced children */
static volatile int reported;
static uint64_t tsc_start, ns_start;
static double ns_per_tick = 1.0;
static int self_pid;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct tstate *thread_state(void)
{
    struct tstate *t = tls;
    if (__builtin_expect(t != NULL, 1)) return t;
    t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->st = calloc(nfns ? nfns : 1, sizeof *t->st);
    if (!t->st) {
        free(t);
        return NULL;
    }
    t->tid = (int)syscall(SYS_gettid);
    t->next = __atomic_load_n(&threads, __ATOMIC_ACQUIRE);
    while (!__atomic_compare_exchange_n(&threads, &t->next, t, 1, __ATOMIC_RELEASE,
                                        __ATOMIC_ACQUIRE)) {
    }
    tls = t;
    return t;
}

static inline unsigned bucket_of(uint64_t v)
{
    if (v < 8) return (unsigned)v;
    unsigned b = 63u - (unsigned)__builtin_clzll(v); /* >= 3 */
    unsigned idx = (b - 1) * 4 + (unsigned)((v >> (b - 2)) & 3);
    return idx < NBUCKETS ? idx : NBUCKETS - 1;
}

/* Lowest value of bucket i (inverse of bucket_of). */
static uint64_t bucket_low(unsigned i)
{
    if (i < 8) return i;
    unsigned b = i / 4 + 1, sub = i % 4;
    return ((uint64_t)1 << b) | ((uint64_t)sub << (b - 2));
}

/* ---- summary mode callbacks ----------------------------------------------------- */

static int sum_enter(chook_call *call, void *data)
{
    (void)data;
    struct tstate *t = tls;
    if (__builtin_expect(!t, 0)) t = thread_state();
    if (__builtin_expect(!t || !tracing, 0)) return CHOOK_CONTINUE;
    uint32_t d = t->depth++;
    *chook_call_data(call) = d;
    if (d < MAX_DEPTH) {
        t->child[d] = 0;
        t->start[d] = __rdtsc();
    }
    return CHOOK_CONTINUE;
}

static void sum_leave(chook_call *call, void *data)
{
    uint64_t now = __rdtsc();
    struct tstate *t = tls;
    if (__builtin_expect(!t, 0)) return;
    uint32_t d = (uint32_t)*chook_call_data(call);
    t->depth = d; /* also after calls left by longjmp */
    size_t i = (size_t)(uintptr_t)data;
    struct fstat *s = t->st[i];
    if (__builtin_expect(!s, 0)) {
        s = calloc(1, sizeof *s);
        if (!s) return;
        s->min = UINT64_MAX;
        t->st[i] = s;
    }
    s->calls++;
    if (d >= MAX_DEPTH) return;
    uint64_t el = now - t->start[d];
    s->total += el;
    s->self += el - (t->child[d] < el ? t->child[d] : el);
    if (el < s->min) s->min = el;
    if (el > s->max) s->max = el;
    s->hist[bucket_of(el)]++;
    if (d) t->child[d - 1] += el;
}

/* Functions that never return (exit) are counted on entry. */
static int count_enter_only(chook_call *call, void *data)
{
    (void)call;
    struct tstate *t = thread_state();
    if (!t || !tracing) return CHOOK_CONTINUE;
    size_t i = (size_t)(uintptr_t)data;
    struct fstat *s = t->st[i];
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) return CHOOK_CONTINUE;
        s->min = UINT64_MAX;
        t->st[i] = s;
    }
    s->calls++;
    return CHOOK_CONTINUE;
}

/* ---- output without stdio ------------------------------------------------------- */

struct out {
    char buf[8192];
    size_t n;
    int fd;
};

static void out_flush(struct out *o)
{
    size_t done = 0;
    while (done < o->n) {
        ssize_t w = write(o->fd, o->buf + done, o->n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        done += (size_t)w;
    }
    o->n = 0;
}

static void out_str(struct out *o, const char *s)
{
    while (*s) {
        if (o->n == sizeof o->buf) out_flush(o);
        o->buf[o->n++] = *s++;
    }
}

static void out_pad(struct out *o, const char *s, int width)
{
    int len = (int)strlen(s);
    for (int i = len; i < width; i++) out_str(o, " ");
    out_str(o, s);
}

static void out_padr(struct out *o, const char *s, int width)
{
    out_str(o, s);
    for (int i = (int)strlen(s); i < width; i++) out_str(o, " ");
}

static char *fmt_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do tmp[n++] = (char)('0' + v % 10), v /= 10;
    while (v);
    while (n) *p++ = tmp[--n];
    *p = 0;
    return p;
}

/* A duration in ns as "123 ns", "1.234 us", "12.345 ms", "1.234 s". */
static void fmt_dur(char *p, uint64_t ns)
{
    static const char *const unit[] = { "ns", "us", "ms", "s" };
    if (ns < 1000) {
        p = fmt_u64(p, ns);
        strcpy(p, " ns");
        return;
    }
    int u = 1;
    uint64_t div = 1000;
    while (u < 3 && ns >= div * 1000) div *= 1000, u++;
    p = fmt_u64(p, ns / div);
    *p++ = '.';
    uint64_t frac = (ns % div) * 1000 / div;
    *p++ = (char)('0' + frac / 100);
    *p++ = (char)('0' + frac / 10 % 10);
    *p++ = (char)('0' + frac % 10);
    *p++ = ' ';
    strcpy(p, unit[u]);
}

static void out_u64(struct out *o, uint64_t v)
{
    char b[24];
    fmt_u64(b, v);
    out_str(o, b);
}

static void out_json_str(struct out *o, const char *s)
{
    out_str(o, "\"");
    for (; *s; s++) {
        char c[7] = { *s, 0 };
        if (*s == '"' || *s == '\\') c[0] = '\\', c[1] = *s, c[2] = 0;
        else if ((unsigned char)*s < 0x20) strcpy(c, "?");
        out_str(o, c);
    }
    out_str(o, "\"");
}

/* ---- the report --------------------------------------------------------------------- */

struct row {
    size_t fn;
    int tid;
    struct fstat s;
};

static struct row *rows; /* preallocated: nfns * (1 + threads seen at report) at most */
static size_t rows_cap;

static uint64_t ticks_ns(uint64_t t)
{
    return (uint64_t)((double)t * ns_per_tick + 0.5);
}

static void merge(struct fstat *into, const struct fstat *s)
{
    into->calls += s->calls;
    into->total += s->total;
    into->self += s->self;
    if (s->min < into->min) into->min = s->min;
    if (s->max > into->max) into->max = s->max;
    for (unsigned b = 0; b < NBUCKETS; b++) into->hist[b] += s->hist[b];
}

static uint64_t p99_of(const struct fstat *s)
{
    uint64_t timed = 0;
    for (unsigned b = 0; b < NBUCKETS; b++) timed += s->hist[b];
    if (!timed) return 0;
    uint64_t want = timed - timed / 100, seen = 0;
    for (unsigned b = 0; b < NBUCKETS; b++) {
        seen += s->hist[b];
        if (seen >= want) {
            uint64_t v = bucket_low(b);
            return v > s->max ? s->max : (v < s->min ? s->min : v);
        }
    }
    return s->max;
}

static int row_before(const struct row *a, const struct row *b)
{
    uint64_t x = 0, y = 0;
    switch (opt.sort) {
    case SORT_NAME: {
        int c = strcmp(fns[a->fn].name, fns[b->fn].name);
        if (c) return c < 0;
        return a->tid < b->tid;
    }
    case SORT_CALLS: x = a->s.calls, y = b->s.calls; break;
    case SORT_SELF: x = a->s.self, y = b->s.self; break;
    case SORT_AVG:
        x = a->s.calls ? a->s.total / a->s.calls : 0;
        y = b->s.calls ? b->s.total / b->s.calls : 0;
        break;
    case SORT_MAX: x = a->s.max, y = b->s.max; break;
    default: x = a->s.total, y = b->s.total; break;
    }
    if (x != y) return x > y;
    if (a->s.calls != b->s.calls) return a->s.calls > b->s.calls;
    return strcmp(fns[a->fn].name, fns[b->fn].name) < 0;
}

static void sort_rows(struct row *r, size_t n)
{
    /* Shell sort: no allocation, fine for a few thousand rows. */
    for (size_t gap = n / 2; gap > 0; gap /= 2)
        for (size_t i = gap; i < n; i++) {
            struct row tmp = r[i];
            size_t j = i;
            while (j >= gap && row_before(&tmp, &r[j - gap])) {
                r[j] = r[j - gap];
                j -= gap;
            }
            r[j] = tmp;
        }
}

static void calibrate(void)
{
    uint64_t t = __rdtsc(), n = now_ns();
    if (t > tsc_start + 1000 && n > ns_start) ns_per_tick = (double)(n - ns_start) / (double)(t - tsc_start);
}

static void report(const char *why)
{
    if (opt.log || !fns) return;
    calibrate();
    size_t nr = 0;
    for (struct tstate *t = threads; t; t = t->next) {
        for (size_t i = 0; i < nfns; i++) {
            struct fstat *s = t->st[i];
            if (!s || !s->calls) continue;
            size_t k = nr;
            if (!opt.per_thread)
                for (k = 0; k < nr && rows[k].fn != i; k++) {
                }
            if (k == nr) {
                if (nr == rows_cap) continue;
                rows[nr].fn = i;
                rows[nr].tid = t->tid;
                memset(&rows[nr].s, 0, sizeof rows[nr].s);
                rows[nr].s.min = UINT64_MAX;
                nr++;
            }
            merge(&rows[k].s, s);
        }
    }
    sort_rows(rows, nr);
    struct out o = { .fd = opt.out_fd };
    char b[64];
    if (opt.json) {
        out_str(&o, "{\"pid\":");
        out_u64(&o, (uint64_t)self_pid);
        out_str(&o, ",\"reason\":");
        out_json_str(&o, why);
        out_str(&o, ",\"functions\":[");
        for (size_t k = 0; k < nr; k++) {
            const struct row *r = &rows[k];
            const struct fn *f = &fns[r->fn];
            int timed = r->s.min != UINT64_MAX;
            out_str(&o, k ? ",\n {" : "\n {");
            out_str(&o, "\"name\":");
            out_json_str(&o, f->name);
            out_str(&o, ",\"module\":");
            out_json_str(&o, f->module);
            if (opt.per_thread) {
                out_str(&o, ",\"tid\":");
                out_u64(&o, (uint64_t)r->tid);
            }
            out_str(&o, ",\"calls\":");
            out_u64(&o, r->s.calls);
            out_str(&o, ",\"total_ns\":");
            out_u64(&o, ticks_ns(r->s.total));
            out_str(&o, ",\"self_ns\":");
            out_u64(&o, ticks_ns(r->s.self));
            out_str(&o, ",\"min_ns\":");
            out_u64(&o, timed ? ticks_ns(r->s.min) : 0);
            out_str(&o, ",\"avg_ns\":");
            out_u64(&o, r->s.calls ? ticks_ns(r->s.total / r->s.calls) : 0);
            out_str(&o, ",\"max_ns\":");
            out_u64(&o, ticks_ns(r->s.max));
            out_str(&o, ",\"p99_ns\":");
            out_u64(&o, ticks_ns(p99_of(&r->s)));
            out_str(&o, "}");
        }
        out_str(&o, "\n]}\n");
        out_flush(&o);
        return;
    }
    out_str(&o, "chook-trace: summary of pid ");
    out_u64(&o, (uint64_t)self_pid);
    out_str(&o, " (");
    out_str(&o, why);
    out_str(&o, ")\n");
    if (opt.per_thread) out_pad(&o, "TID", 8);
    out_pad(&o, "CALLS", 10);
    out_pad(&o, "TOTAL", 13);
    out_pad(&o, "SELF", 13);
    out_pad(&o, "MIN", 12);
    out_pad(&o, "AVG", 12);
    out_pad(&o, "MAX", 12);
    out_pad(&o, "P99", 12);
    out_str(&o, "  FUNCTION\n");
    for (size_t k = 0; k < nr; k++) {
        const struct row *r = &rows[k];
        const struct fn *f = &fns[r->fn];
        int timed = r->s.min != UINT64_MAX;
        if (opt.per_thread) {
            fmt_u64(b, (uint64_t)r->tid);
            out_pad(&o, b, 8);
        }
        fmt_u64(b, r->s.calls);
        out_pad(&o, b, 10);
        uint64_t v[6] = { r->s.total, r->s.self, timed ? r->s.min : 0,
                          r->s.calls ? r->s.total / r->s.calls : 0, r->s.max, p99_of(&r->s) };
        for (int j = 0; j < 6; j++) {
            if (timed) fmt_dur(b, ticks_ns(v[j]));
            else strcpy(b, "-");
            out_pad(&o, b, j < 2 ? 13 : 12);
        }
        out_str(&o, "  ");
        out_padr(&o, f->name, 0);
        if (f->module[0]) {
            out_str(&o, " [");
            out_str(&o, f->module);
            out_str(&o, "]");
        }
        out_str(&o, "\n");
    }
    if (!nr) out_str(&o, "  (no traced function was called)\n");
    out_flush(&o);
}

static void detach_all(void)
{
    chook_ignore_thread(1);
    chook_transaction_begin();
    for (size_t i = 0; i < nfns; i++)
        if (fns[i].listener) chook_detach(fns[i].listener);
    chook_transaction_commit();
    chook_detach_wait(200);
    for (size_t i = 0; i < nfns; i++)
        if (fns[i].point) chook_point_detach(fns[i].point);
}

static void final_report(const char *why)
{
    if (__atomic_exchange_n(&reported, 1, __ATOMIC_SEQ_CST)) return;
    if (!tracing) return;
    detach_all();
    tracing = 0;
    report(why);
}

static void at_exit(void)
{
    final_report("exit");
}

static int on_underscore_exit(chook_call *call, void *data)
{
    (void)call;
    (void)data;
    final_report("_exit");
    return CHOOK_CONTINUE;
}

static void on_signal(int sig)
{
    int saved = errno;
    if (sig == SIGUSR1) {
        if (tracing) report("SIGUSR1");
    } else {
        if (!__atomic_exchange_n(&reported, 1, __ATOMIC_SEQ_CST) && tracing) {
            tracing = 0;
            report("SIGINT");
        }
        signal(sig, SIG_DFL);
        raise(sig);
    }
    errno = saved;
}

/* ---- log mode ----------------------------------------------------------------------- */

static void log_write(const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(opt.out_fd, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

static const struct {
    int bit;
    const char *name;
} open_flags[] = {
    { O_WRONLY, "O_WRONLY" }, { O_RDWR, "O_RDWR" }, { O_CREAT, "O_CREAT" },
    { O_EXCL, "O_EXCL" }, { O_NOCTTY, "O_NOCTTY" }, { O_TRUNC, "O_TRUNC" },
    { O_APPEND, "O_APPEND" }, { O_NONBLOCK, "O_NONBLOCK" }, { O_DIRECTORY, "O_DIRECTORY" },
    { O_NOFOLLOW, "O_NOFOLLOW" }, { O_CLOEXEC, "O_CLOEXEC" }, { O_PATH, "O_PATH" },
    { O_TMPFILE & ~O_DIRECTORY, "O_TMPFILE" }, { O_SYNC, "O_SYNC" },
};

static size_t fmt_value(char *p, size_t cap, int type, uintptr_t v, double fv)
{
    int n = 0;
    switch (type) {
    case T_INT: n = snprintf(p, cap, "%d", (int)v); break;
    case T_LONG: n = snprintf(p, cap, "%ld", (long)v); break;
    case T_UINT: n = snprintf(p, cap, "%u", (unsigned)v); break;
    case T_SIZE: n = snprintf(p, cap, "%zu", (size_t)v); break;
    case T_SSIZE: n = snprintf(p, cap, "%zd", (ssize_t)v); break;
    case T_HEX: n = snprintf(p, cap, "0x%lx", (unsigned long)v); break;
    case T_CHAR:
        n = (int)v >= 32 && (int)v < 127 ? snprintf(p, cap, "'%c'", (int)v)
                                          : snprintf(p, cap, "%d", (int)v);
        break;
    case T_DBL: n = snprintf(p, cap, "%g", fv); break;
    case T_FD: n = snprintf(p, cap, "%d", (int)v); break;
    case T_MODE: n = snprintf(p, cap, "0%o", (unsigned)v); break;
    case T_PTR:
        n = v ? snprintf(p, cap, "%p", (void *)v) : snprintf(p, cap, "NULL");
        break;
    case T_STR: {
        const char *s = (const char *)v;
        if (!s) {
            n = snprintf(p, cap, "NULL");
            break;
        }
        size_t k = 0;
        if (cap > 1) p[k++] = '"';
        for (unsigned i = 0; s[i] && k + 6 < cap; i++) {
            if (i == 48) {
                k += (size_t)snprintf(p + k, cap - k, "...");
                break;
            }
            unsigned char c = (unsigned char)s[i];
            if (c == '\n') p[k++] = '\\', p[k++] = 'n';
            else if (c == '\t') p[k++] = '\\', p[k++] = 't';
            else if (c == '"' || c == '\\') p[k++] = '\\', p[k++] = (char)c;
            else if (c < 32 || c >= 127) k += (size_t)snprintf(p + k, cap - k, "\\x%02x", c);
            else p[k++] = (char)c;
        }
        if (k + 1 < cap) p[k++] = '"';
        p[k < cap ? k : cap - 1] = 0;
        return k;
    }
    case T_FLAGS: {
        int f = (int)v;
        size_t k = (size_t)snprintf(p, cap, "%s", (f & O_ACCMODE) == O_RDONLY ? "O_RDONLY" : "");
        int first = k == 0;
        for (size_t i = 0; i < sizeof open_flags / sizeof open_flags[0]; i++) {
            int bit = open_flags[i].bit;
            if (bit == O_WRONLY || bit == O_RDWR ? (f & O_ACCMODE) == bit : (f & bit) == bit) {
                k += (size_t)snprintf(p + k, k < cap ? cap - k : 0, "%s%s", first ? "" : "|",
                                      open_flags[i].name);
                first = 0;
                if (bit != O_WRONLY && bit != O_RDWR) f &= ~bit;
            }
        }
        return k < cap ? k : cap - 1;
    }
    default: n = snprintf(p, cap, "0x%lx", (unsigned long)v); break;
    }
    return n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap - 1);
}

static size_t log_prefix(char *p, size_t cap, struct tstate *t, uint32_t depth)
{
    uint64_t ns = now_ns() - ns_start;
    int n = snprintf(p, cap, "%4lu.%06lu %6d  ", (unsigned long)(ns / 1000000000u),
                     (unsigned long)(ns / 1000 % 1000000), t->tid);
    size_t k = n > 0 ? (size_t)n : 0;
    for (uint32_t i = 0; i < depth && i < 40 && k + 2 < cap; i++) p[k++] = ' ', p[k++] = ' ';
    p[k] = 0;
    return k;
}

static void log_flush_pending(struct tstate *t)
{
    if (!t->pending_len) return;
    t->pending[t->pending_len++] = ' ';
    t->pending[t->pending_len++] = '{';
    t->pending[t->pending_len++] = '\n';
    log_write(t->pending, t->pending_len);
    t->pending_len = 0;
}

static int log_enter(chook_call *call, void *data)
{
    struct tstate *t = thread_state();
    if (!t || !tracing) return CHOOK_CONTINUE;
    const struct fn *f = &fns[(size_t)(uintptr_t)data];
    log_flush_pending(t);
    uint32_t d = t->depth++;
    *chook_call_data(call) = ((uint64_t)d << 48) | ((now_ns() - ns_start) & 0xffffffffffffull);
    char *p = t->pending;
    size_t cap = sizeof t->pending - 8, k = log_prefix(p, cap, t, d);
    k += (size_t)snprintf(p + k, cap - k, "%s(", f->name);
    if (f->sig) {
        unsigned gi = 0, fi = 0;
        uintptr_t last = 0;
        for (unsigned a = 0; a < f->sig->nargs && k + 8 < cap; a++) {
            int ty = f->sig->args[a];
            uintptr_t v = 0;
            double fv = 0;
            if (ty == T_DBL) {
                double *x = chook_arg_fp(call, fi++);
                fv = x ? *x : 0;
            } else {
                uintptr_t *x = chook_arg(call, gi++);
                v = x ? *x : 0;
            }
            /* open's mode is only passed with O_CREAT or O_TMPFILE. */
            if (ty == T_MODE && a && f->sig->args[a - 1] == T_FLAGS && !(last & O_CREAT) &&
                (last & O_TMPFILE) != O_TMPFILE)
                break;
            last = v;
            if (a) k += (size_t)snprintf(p + k, cap - k, ", ");
            k += fmt_value(p + k, cap - k, ty, v, fv);
        }
    }
    if (k + 2 < cap) p[k++] = ')';
    t->pending_len = k;
    t->pending_depth = d;
    return CHOOK_CONTINUE;
}

static void log_leave(chook_call *call, void *data)
{
    struct tstate *t = tls;
    if (!t) return;
    const struct fn *f = &fns[(size_t)(uintptr_t)data];
    uint64_t cd = *chook_call_data(call);
    uint32_t d = (uint32_t)(cd >> 48);
    uint64_t dur = ((now_ns() - ns_start) & 0xffffffffffffull) - (cd & 0xffffffffffffull);
    t->depth = d;
    if (!tracing) return;
    char line[640];
    size_t k;
    if (t->pending_len && t->pending_depth == d) {
        memcpy(line, t->pending, t->pending_len);
        k = t->pending_len;
        t->pending_len = 0;
    } else {
        log_flush_pending(t);
        k = log_prefix(line, sizeof line, t, d);
        k += (size_t)snprintf(line + k, sizeof line - k, "} /* %s */", f->name);
    }
    size_t cap = sizeof line - 2;
    int rt = f->sig ? f->sig->ret : T_HEX;
    if (rt != T_VOID && k < cap) {
        k += (size_t)snprintf(line + k, cap - k, " = ");
        if (k < cap)
            k += fmt_value(line + k, cap - k, rt, *chook_retval(call), *chook_retval_fp(call));
    }
    char durs[32];
    fmt_dur(durs, dur);
    if (k < cap) k += (size_t)snprintf(line + k, cap - k, "  <%s>", durs);
    if (k > cap) k = cap;
    line[k++] = '\n';
    log_write(line, k);
}

/* ---- setup ---------------------------------------------------------------------------- */

static void status_report(int code)
{
    if (opt.status_fd < 0) return;
    char b[16];
    int n = snprintf(b, sizeof b, "%d\n", code);
    if (write(opt.status_fd, b, (size_t)n) != n) {
        /* chook-trace went away: nothing to tell */
    }
    close(opt.status_fd);
    opt.status_fd = -1;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char b[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b, sizeof b - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n > sizeof b - 2) n = (int)sizeof b - 2;
    b[n++] = '\n';
    if (write(2, b, (size_t)n) != n) {
        /* stderr closed */
    }
}

static void fatal(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void fatal(int code, const char *fmt, ...)
{
    char b[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    say("chook-trace: %s", b);
    status_report(code);
    _exit(TRACE_EXIT_ERROR);
}

static int add_fn(const char *name, const char *module, size_t *index)
{
    if (nfns == capfns) {
        size_t cap = capfns ? capfns * 2 : 256;
        struct fn *v = realloc(fns, cap * sizeof *v);
        if (!v) return -1;
        fns = v;
        capfns = cap;
    }
    struct fn *f = &fns[nfns];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    snprintf(f->module, sizeof f->module, "%s", module);
    for (unsigned i = 0; i < opt.nsigs; i++)
        if (!strcmp(opt.sigs[i].name, name)) f->sig = &opt.sigs[i];
    *index = nfns++;
    return 0;
}

/* Entries of functions that must not be intercepted with an on_leave: they
 * inspect or replace their own frame, or run before chook can. */
static const char *const never_traced[] = {
    "_setjmp", "setjmp", "__sigsetjmp", "sigsetjmp", "_longjmp", "longjmp", "siglongjmp",
    "__longjmp_chk", "vfork", "__vfork", "getcontext", "setcontext", "swapcontext",
    "makecontext", "clone", "__clone", "clone3", "__libc_start_main", "__libc_start_call_main",
    "_start", "__restore_rt", "__tls_get_addr", "_dl_*", "__cxa_*", "_Unwind_*", "__gcc_personality_v0",
    "__errno_location", "__stack_chk_fail", "_init", "_fini", "__libc_csu_*", "fork", "_Fork",
    "__fork", "syscall", "pthread_exit", "__pthread_*", "start_thread", "__GI_*",
};

/* Functions that never return: only their entry is counted. */
static int never_returns(const char *name)
{
    return !strcmp(name, "exit") || !strcmp(name, "_exit") || !strcmp(name, "_Exit") ||
           !strcmp(name, "abort") || !strcmp(name, "quick_exit") || !strcmp(name, "__assert_fail") ||
           !strcmp(name, "err") || !strcmp(name, "errx") || !strcmp(name, "verr") ||
           !strcmp(name, "verrx") || !strcmp(name, "__stack_chk_fail");
}

static Dl_info self_info;

struct pat_ctx {
    const char *pattern;
    int glob;          /* the symbol part has wildcards */
    int main_only_ok;  /* local functions of the main program are welcome */
    unsigned selected, attached, failed, clones;
    int ipa_ra; /* a program's or a local function was attached */
    char first_failure[256];
};

static int excluded(const char *name)
{
    for (unsigned i = 0; i < opt.nexcludes; i++) {
        const char *x = opt.excludes[i], *c = strchr(x, ':');
        if (fnmatch(c ? c + 1 : x, name, 0) == 0) return 1;
    }
    return 0;
}

/* Functions whose first bytes other functions jump into: hooking them breaks
 * those (glibc's mempcpy enters memmove's body 3 bytes after its entry, and
 * memcpy is memmove). Left out with a message. */
static const char *unsafe_reason(const chook_symbol *s)
{
    if (strncmp(s->module->name, "libc.so", 7) != 0) return NULL;
    static const char *const names[] = { "memcpy", "memmove", "__memcpy_chk", "__memmove_chk" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(s->name, names[i]))
            return "glibc's mempcpy jumps into its first bytes, which a hook overwrites";
    return NULL;
}

static int select_fn(chook_pattern_match *m, void *arg)
{
    struct pat_ctx *c = arg;
    const chook_symbol *s = m->symbol;
    const char *unsafe = unsafe_reason(s);
    if (unsafe) {
        if (!c->glob || !opt.quiet)
            say("chook-trace: %s: cannot trace %s [%s]: %s", c->pattern, s->name, s->module->name,
                unsafe);
        if (!c->glob && !c->first_failure[0])
            snprintf(c->first_failure, sizeof c->first_failure, "%s: %s", s->name, unsafe);
        return 0;
    }
    if (s->module->base == self_info.dli_fbase) return 0; /* ourselves */
    if (strstr(s->module->name, "libchook") == s->module->name) return 0;
    if (!s->module->is_main && !(s->flags & CHOOK_SYMBOL_EXPORTED) && !opt.all_symbols) return 0;
    char base[96];
    snprintf(base, sizeof base, "%.*s", (int)m->base_len, s->name);
    if (excluded(s->name) || (m->base_len != strlen(s->name) && excluded(base))) return 0;
    if (c->glob) {
        for (size_t i = 0; i < sizeof never_traced / sizeof never_traced[0]; i++)
            if (fnmatch(never_traced[i], base, 0) == 0) return 0;
    }
    size_t idx;
    if (add_fn(s->name, s->module->name, &idx) != 0) return 0;
    m->data = (void *)(uintptr_t)idx;
    c->selected++;
    return 1;
}

static int report_fn(chook_pattern_match *m, void *arg)
{
    struct pat_ctx *c = arg;
    size_t idx = (size_t)(uintptr_t)m->data;
    int clone = m->base_len != strlen(m->symbol->name);
    if (m->status == CHOOK_OK) {
        fns[idx].listener = m->listener;
        c->attached++;
        if (m->symbol->module->is_main || !(m->symbol->flags & CHOOK_SYMBOL_EXPORTED))
            c->ipa_ra = 1;
        if (clone) {
            c->clones++;
            if (!opt.quiet)
                say("chook-trace: %s: tracing compiler clone %s of %.*s%s", c->pattern,
                    m->symbol->name, (int)m->base_len, m->symbol->name,
                    strstr(m->symbol->name, ".part.")
                        ? " (only part of the function: callers reach the rest unobserved)"
                        : " (it may take other parameters; callers of an inlined copy are not seen)");
        }
        return 0;
    }
    if (m->status == CHOOK_EEXIST) return 0; /* an alias: traced under its first name */
    c->failed++;
    if (!c->first_failure[0])
        snprintf(c->first_failure, sizeof c->first_failure, "%s: %s", m->symbol->name, m->reason);
    if (!opt.quiet || !c->glob)
        say("chook-trace: %s: cannot trace %s [%s]: %s", c->pattern, m->symbol->name,
            m->symbol->module->name, m->reason);
    return 0;
}

static void attach_pattern(const char *pattern)
{
    struct pat_ctx c = { .pattern = pattern };
    const char *colon = strchr(pattern, ':');
    const char *sym = colon ? colon + 1 : pattern;
    c.glob = strpbrk(sym, "*?[") != NULL;
    unsigned flags = CHOOK_EACH_CLONES;
    /* Libraries: exported functions only (unless --all-symbols); the program's
     * own local functions are welcome (select_fn sorts them out). */
    if (colon && colon != pattern && !opt.all_symbols) {
        const chook_module *main_mod = NULL;
        char modpat[256];
        snprintf(modpat, sizeof modpat, "%.*s", (int)(colon - pattern), pattern);
        if (chook_module_find("", &main_mod) == CHOOK_OK &&
            fnmatch(modpat, main_mod->name, 0) != 0 && fnmatch(modpat, main_mod->path, 0) != 0)
            flags |= CHOOK_EACH_EXPORTED;
    }
    size_t n = 0;
    void (*leave)(chook_call *, void *) = opt.log ? log_leave : sum_leave;
    int (*enter)(chook_call *, void *) = opt.log ? log_enter : sum_enter;
    int st;
    if (!c.glob && never_returns(sym)) {
        /* Counted at entry: no leave step that never comes. */
        st = chook_attach_pattern(pattern, flags, opt.log ? log_enter : count_enter_only, NULL,
                                  NULL, NULL, select_fn, report_fn, &c, &n);
    } else {
        st = chook_attach_pattern(pattern, flags, enter, leave, NULL, NULL, select_fn, report_fn,
                                  &c, &n);
    }
    if (st == CHOOK_ENOSYM) fatal(TRACE_ST_NOMATCH, "%s: no function matches", pattern);
    if (st == CHOOK_ENOMODULE)
        fatal(TRACE_ST_NOMATCH, "%s: no loaded module matches (libraries loaded later with "
              "dlopen are not traced)", pattern);
    if (st != CHOOK_OK) fatal(TRACE_ST_HOOK, "%s: %s", pattern, chook_last_error());
    if (!c.selected && c.first_failure[0])
        fatal(TRACE_ST_HOOK, "%s: nothing can be traced (%s)", pattern, c.first_failure);
    if (!c.selected) fatal(TRACE_ST_NOMATCH, "%s: every match is excluded", pattern);
    if (!c.attached)
        fatal(TRACE_ST_HOOK, "%s: nothing can be traced (%s)", pattern, c.first_failure);
    static int warned;
    if (c.ipa_ra && !opt.quiet && !warned++)
        say("chook-trace: warning: %s: functions of the program itself (or local ones) are "
            "traced; GCC -O2 lets their callers in the same program skip parts of the calling "
            "convention (-fipa-ra, -fipa-stack-alignment), which chook's listeners do not "
            "tolerate: if the program misbehaves, rebuild it with -fno-ipa-ra "
            "-fno-ipa-stack-alignment", pattern);
    if (opt.list)
        for (size_t i = nfns - c.selected; i < nfns; i++)
            if (fns[i].listener) say("%s [%s]", fns[i].name, fns[i].module);
}

static int point_enter(chook_call *call, void *data)
{
    return opt.log ? log_enter(call, data) : sum_enter(call, data);
}

static void point_leave(chook_call *call, void *data)
{
    if (opt.log) log_leave(call, data);
    else sum_leave(call, data);
}

static void attach_point(const char *name)
{
    chook_point *p;
    int st = chook_point_find(name, &p);
    if (st != CHOOK_OK) fatal(TRACE_ST_NOMATCH, "hook point %s: %s", name, chook_last_error());
    chook_point_info info = { .size = sizeof info };
    if (chook_point_get_info(p, &info) != CHOOK_OK) fatal(TRACE_ST_HOOK, "hook point %s: %s", name,
                                                           chook_last_error());
    const char *mod = strrchr(info.module, '/');
    size_t idx;
    if (add_fn(name, mod ? mod + 1 : info.module, &idx) != 0) fatal(TRACE_ST_HOOK, "out of memory");
    st = chook_point_attach_generic(p, point_enter, point_leave, (void *)(uintptr_t)idx);
    if (st != CHOOK_OK) fatal(TRACE_ST_HOOK, "hook point %s: %s", name, chook_last_error());
    fns[idx].point = p;
}

static int parse_sig_opt(const char *text)
{
    if (opt.nsigs >= sizeof opt.sigs / sizeof opt.sigs[0]) return 0;
    struct sig *s = &opt.sigs[opt.nsigs];
    char err[160];
    if (trace_parse_signature(text, s->name, sizeof s->name, s->args, &s->nargs, MAX_ITEMS,
                              &s->ret, err, sizeof err) != 0)
        fatal(TRACE_ST_USAGE, "signature '%s': %s", text, err);
    opt.nsigs++;
    return 1;
}

static void read_options(const char *env)
{
    char *copy = strdup(env);
    if (!copy) fatal(TRACE_ST_HOOK, "out of memory");
    /* Built-in signatures first: -s given later replace them (the last wins). */
    for (size_t i = 0; trace_builtin_signatures[i]; i++) parse_sig_opt(trace_builtin_signatures[i]);
    for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
        char *v = strchr(line, '=');
        if (!v) continue;
        *v++ = 0;
        if (!strcmp(line, "f") && opt.npatterns < 256) opt.patterns[opt.npatterns++] = v;
        else if (!strcmp(line, "x") && opt.nexcludes < 256) opt.excludes[opt.nexcludes++] = v;
        else if (!strcmp(line, "P") && opt.npoints < 64) opt.points[opt.npoints++] = v;
        else if (!strcmp(line, "s")) parse_sig_opt(v);
        else if (!strcmp(line, "log")) opt.log = 1;
        else if (!strcmp(line, "json")) opt.json = 1;
        else if (!strcmp(line, "per-thread")) opt.per_thread = 1;
        else if (!strcmp(line, "follow")) opt.follow = 1;
        else if (!strcmp(line, "all")) opt.all_symbols = 1;
        else if (!strcmp(line, "quiet")) opt.quiet = 1;
        else if (!strcmp(line, "list")) opt.list = 1;
        else if (!strcmp(line, "status-fd")) opt.status_fd = atoi(v);
        else if (!strcmp(line, "out")) snprintf(opt.out_path, sizeof opt.out_path, "%s", v);
        else if (!strcmp(line, "sort")) {
            static const char *const keys[] = { "total", "self", "calls", "avg", "max", "name" };
            for (int k = 0; k < 6; k++)
                if (!strcmp(v, keys[k])) opt.sort = k;
        }
    }
}

/* Takes the agent out of what exec'd children inherit (unless --follow-fork). */
static void forget_environment(void)
{
    unsetenv(TRACE_ENV_STATUS);
    if (opt.follow) return;
    unsetenv(TRACE_ENV_OPTS);
    const char *pre = getenv("LD_PRELOAD");
    if (!pre || !self_info.dli_fname) return;
    char kept[4096] = "";
    const char *me = strrchr(self_info.dli_fname, '/');
    me = me ? me + 1 : self_info.dli_fname;
    char *copy = strdup(pre);
    if (!copy) return;
    for (char *tok = strtok(copy, ": "); tok; tok = strtok(NULL, ": ")) {
        const char *b = strrchr(tok, '/');
        if (!strcmp(b ? b + 1 : tok, me)) continue;
        if (kept[0]) strncat(kept, ":", sizeof kept - strlen(kept) - 1);
        strncat(kept, tok, sizeof kept - strlen(kept) - 1);
    }
    free(copy);
    if (kept[0]) setenv("LD_PRELOAD", kept, 1);
    else unsetenv("LD_PRELOAD");
}

static void after_fork_child(void)
{
    if (!opt.follow) {
        tracing = 0; /* the parent reports; this child runs untraced by the report */
        reported = 1;
        return;
    }
    /* A new process: its own tables, its own report. */
    self_pid = getpid();
    struct tstate *me = tls;
    threads = NULL;
    if (me) {
        me->tid = (int)syscall(SYS_gettid);
        me->next = NULL;
        for (size_t i = 0; i < nfns; i++)
            if (me->st[i]) {
                memset(me->st[i], 0, sizeof *me->st[i]);
                me->st[i]->min = UINT64_MAX;
            }
        threads = me;
    }
    tsc_start = __rdtsc();
    ns_start = now_ns();
}

__attribute__((constructor)) static void agent_init(void)
{
    const char *env = getenv(TRACE_ENV_OPTS);
    if (!env) return;
    dladdr((void *)agent_init, &self_info);
    self_pid = getpid();
    const char *sfd = getenv(TRACE_ENV_STATUS);
    read_options(env);
    if (sfd) opt.status_fd = atoi(sfd);
    if (opt.out_path[0]) {
        opt.out_fd = open(opt.out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (opt.out_fd < 0) fatal(TRACE_ST_USAGE, "%s: %s", opt.out_path, strerror(errno));
    } else {
        opt.out_fd = fcntl(2, F_DUPFD_CLOEXEC, 10); /* the program may close stderr */
        if (opt.out_fd < 0) opt.out_fd = 2;
    }
    forget_environment();
    tsc_start = __rdtsc();
    ns_start = now_ns();

    chook_ignore_thread(1); /* what the agent calls while setting up is not traced */
    for (unsigned i = 0; i < opt.npatterns; i++) attach_pattern(opt.patterns[i]);
    for (unsigned i = 0; i < opt.npoints; i++) attach_point(opt.points[i]);
    if (!nfns) fatal(TRACE_ST_NOMATCH, "nothing to trace");
    if (opt.list) {
        detach_all();
        status_report(TRACE_ST_LISTED);
        _exit(0);
    }
    rows_cap = nfns * (opt.per_thread ? 64 : 1);
    rows = calloc(rows_cap, sizeof *rows);
    if (!rows) fatal(TRACE_ST_HOOK, "out of memory");
    /* The report at _exit too (children after fork, programs that skip atexit). */
    chook_listener *l;
    if (!opt.log) {
        chook_attach_name("libc.so.6", "_exit", on_underscore_exit, NULL, NULL, NULL, &l);
        chook_attach_name("libc.so.6", "_Exit", on_underscore_exit, NULL, NULL, NULL, &l);
    }
    atexit(at_exit);
    pthread_atfork(NULL, NULL, after_fork_child);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, NULL, &old) == 0 && old.sa_handler == SIG_DFL) sigaction(SIGINT, &sa, NULL);
    if (sigaction(SIGUSR1, NULL, &old) == 0 && old.sa_handler == SIG_DFL) sigaction(SIGUSR1, &sa, NULL);
    thread_state();
    status_report(TRACE_ST_OK);
    tracing = 1;
    chook_ignore_thread(0);
}
