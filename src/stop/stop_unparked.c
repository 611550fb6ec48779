/*
 * Threads that block chook's signal while sleeping in the kernel (see
 * stop_unparked.h). Everything here uses raw system calls only: it runs while
 * other threads are parked.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <linux/membarrier.h>

#include "internal.h"
#include "stop_impl.h"
#include "stop_unparked.h"

struct unparked {
    pid_t tid;
    uintptr_t pc;
    uint64_t switches;
};

static struct unparked *list;
static size_t count, cap;

static long read_file(const char *path, char *buf, size_t len)
{
    long fd = chook__sys_open(path, O_RDONLY);
    if (fd < 0) return fd;
    long n = chook__sys_read((int)fd, buf, len - 1);
    chook__sys_close((int)fd);
    if (n < 0) return n;
    buf[n] = 0;
    return n;
}

static void task_path(char *out, pid_t tid, const char *leaf)
{
    static const char prefix[] = "/proc/self/task/";
    size_t n = 0;
    for (const char *p = prefix; *p; p++) out[n++] = *p;
    char digits[16];
    int d = 0;
    unsigned v = (unsigned)tid;
    do digits[d++] = (char)('0' + v % 10); while ((v /= 10) && d < 15);
    while (d) out[n++] = digits[--d];
    out[n++] = '/';
    for (const char *p = leaf; *p; p++) out[n++] = *p;
    out[n] = 0;
}

static uint64_t parse_u64(const char *p, int base)
{
    uint64_t v = 0;
    if (base == 16 && p[0] == '0' && p[1] == 'x') p += 2;
    for (;; p++) {
        unsigned d;
        if (*p >= '0' && *p <= '9') d = (unsigned)(*p - '0');
        else if (base == 16 && *p >= 'a' && *p <= 'f') d = (unsigned)(*p - 'a' + 10);
        else break;
        v = v * (unsigned)base + d;
    }
    return v;
}

/* Where the sleeping thread resumes in user space: the last field of
 * /proc/self/task/<tid>/syscall ("nr args... sp pc", or "-1 sp pc" when it sleeps
 * outside a system call). 0 when it is running or cannot be read. */
static uintptr_t sleeping_pc(pid_t tid)
{
    char path[64], buf[256];
    task_path(path, tid, "syscall");
    if (read_file(path, buf, sizeof buf) <= 0) return 0;
    if (buf[0] == 'r') return 0; /* "running" */
    const char *last = NULL;
    for (const char *p = buf; *p; p++)
        if (*p == ' ') last = p + 1;
    return last ? (uintptr_t)parse_u64(last, 16) : 0;
}

/* voluntary + nonvoluntary context switches: a thread that has not been switched
 * out since it was seen asleep has not run since. ~0 when unreadable. */
static uint64_t switches(pid_t tid)
{
    char path[64], buf[2048];
    task_path(path, tid, "status");
    if (read_file(path, buf, sizeof buf) <= 0) return ~(uint64_t)0;
    uint64_t total = 0;
    int found = 0;
    for (const char *p = buf; *p; p++) {
        if ((p == buf || p[-1] == '\n') &&
            (chook__memcmp(p, "voluntary_ctxt_switches:", 24) == 0 ||
             chook__memcmp(p, "nonvoluntary_ctxt_switches:", 27) == 0)) {
            const char *q = p;
            while (*q && *q != ':') q++;
            while (*q == ':' || *q == ' ' || *q == '\t') q++;
            total += parse_u64(q, 10);
            found++;
        }
    }
    return found == 2 ? total : ~(uint64_t)0;
}

int chook__unparked_reserve(size_t n)
{
    if (n <= cap) return CHOOK_OK;
    size_t ncap = cap ? cap : 16;
    while (ncap < n) ncap *= 2;
    struct unparked *l = chook__alloc(ncap * sizeof *l);
    if (!l) return CHOOK_ENOMEM;
    if (count) chook__memcpy(l, list, count * sizeof *l);
    chook__free(list, cap * sizeof *l);
    list = l;
    cap = ncap;
    return CHOOK_OK;
}

void chook__unparked_reset(void)
{
    count = 0;
}

int chook__unparked_accept(pid_t tid)
{
    if (count == cap) return 0;
    /* Order matters: counters, then the pc (asleep), then the counters again. If
     * both counts agree the thread did not run between them, so the pc is where
     * it really sleeps. */
    uint64_t before = switches(tid);
    uintptr_t pc = sleeping_pc(tid);
    uint64_t after = switches(tid);
    if (!pc || before == ~(uint64_t)0 || before != after) return 0;
    /* Breakpoint-first writes may make it trap; with SIGTRAP blocked the kernel
     * would kill the process instead of running chook's handler. */
    chook__thread_status st;
    if (chook__thread_status_read(tid, &st) < 0 || (st.blocked & CHOOK__SIGBIT(SIGTRAP)))
        return 0;
    list[count++] = (struct unparked){ tid, pc, before };
    return 1;
}

size_t chook__world_unparked(const chook__world *w)
{
    (void)w;
    return count;
}

uintptr_t chook__world_unparked_pc(const chook__world *w, size_t i)
{
    (void)w;
    return i < count ? list[i].pc : 0;
}

pid_t chook__world_unparked_tid(const chook__world *w, size_t i)
{
    (void)w;
    return i < count ? list[i].tid : 0;
}

int chook__world_unparked_quiet(chook__world *w)
{
    (void)w;
    for (size_t i = 0; i < count; i++) {
        /* Asleep now, and never switched out since it was examined: it has not
         * run in between (running ends in a switch before it can be asleep). */
        uint64_t before = switches(list[i].tid);
        uintptr_t pc = sleeping_pc(list[i].tid);
        uint64_t after = switches(list[i].tid);
        if (!pc || before != list[i].switches || after != list[i].switches) return 0;
    }
    return 1;
}

void chook__sync_cores(void)
{
    chook_arch_syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0, 0, 0, 0);
}
