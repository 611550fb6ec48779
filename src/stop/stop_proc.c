/*
 * The threads of the process as /proc lists them, read with raw system calls
 * only: these run while other threads are parked, possibly holding libc's locks
 * (opendir would call malloc).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>

#include "internal.h"
#include "stop_impl.h"

/* The kernel's record for getdents64 (linux_dirent64); names are NUL-terminated. */
struct dirent64_rec {
    uint64_t ino;
    int64_t off;
    unsigned short reclen;
    unsigned char type;
    char name[];
};

/* Parses a decimal tid; 0 for anything else ("." and ".."). */
static pid_t parse_tid(const char *s)
{
    long v = 0;
    if (!*s) return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 0x3fffffff) return 0;
        v = v * 10 + (*s - '0');
    }
    return (pid_t)v;
}

long chook__tasks_each(int (*fn)(pid_t tid, void *ctx), void *ctx)
{
    long fd = chook__sys_open("/proc/self/task", O_RDONLY | O_DIRECTORY);
    if (fd < 0) return fd;
    /* 8-aligned: the kernel aligns every record to 8 bytes within the buffer. */
    uint64_t buf[256];
    long result = 0;
    for (;;) {
        long n = chook_arch_syscall(SYS_getdents64, fd, (long)buf, (long)sizeof buf,
                                    0, 0, 0);
        if (n <= 0) {
            result = n;
            break;
        }
        for (long off = 0; off < n;) {
            const struct dirent64_rec *d = (const void *)((const char *)buf + off);
            off += d->reclen;
            pid_t tid = parse_tid(d->name);
            if (tid <= 0) continue;
            int r = fn(tid, ctx);
            if (r) {
                chook__sys_close((int)fd);
                return r;
            }
        }
    }
    chook__sys_close((int)fd);
    return result;
}

/* Writes "/proc/self/task/<tid>/status" into path (at least 48 bytes). */
static void status_path(char *path, pid_t tid)
{
    static const char head[] = "/proc/self/task/";
    static const char tail[] = "/status";
    char digits[12];
    size_t n = 0, len = 0;
    unsigned long v = (unsigned long)tid;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < sizeof digits);
    chook__memcpy(path, head, sizeof head - 1);
    len = sizeof head - 1;
    while (n) path[len++] = digits[--n];
    chook__memcpy(path + len, tail, sizeof tail); /* with its NUL */
}

/* Reads the hexadecimal number after "Name:\t" on the line starting at p. */
static uint64_t parse_hex(const char *p, const char *end)
{
    uint64_t v = 0;
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    for (; p < end; p++) {
        int d;
        if (*p >= '0' && *p <= '9') d = *p - '0';
        else if (*p >= 'a' && *p <= 'f') d = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F') d = *p - 'A' + 10;
        else break;
        v = v << 4 | (uint64_t)d;
    }
    return v;
}

/* Does the line at p (up to end) start with key? */
static int starts_with(const char *p, const char *end, const char *key)
{
    size_t n = chook__strlen(key);
    return (size_t)(end - p) >= n && chook__memcmp(p, key, n) == 0;
}

long chook__thread_status_read(pid_t tid, chook__thread_status *st)
{
    char path[48];
    char text[4096];
    chook__memset(st, 0, sizeof *st);
    status_path(path, tid);
    long fd = chook__sys_open(path, O_RDONLY);
    if (fd == -ENOENT || fd == -ESRCH) return 0; /* gone: exists stays 0 */
    st->exists = 1;
    if (fd < 0) return fd;
    size_t len = 0;
    for (;;) {
        long n = chook__sys_read((int)fd, text + len, sizeof text - 1 - len);
        if (n <= 0) {
            /* ESRCH: the thread exited between open and read. */
            if (n == -ESRCH) st->exists = 0;
            break;
        }
        len += (size_t)n;
        if (len == sizeof text - 1) break;
    }
    chook__sys_close((int)fd);
    const char *end = text + len;
    for (const char *p = text; p < end;) {
        const char *eol = p;
        while (eol < end && *eol != '\n') eol++;
        if (starts_with(p, eol, "State:")) {
            const char *q = p + 6;
            while (q < eol && (*q == ' ' || *q == '\t')) q++;
            if (q < eol) st->state = *q;
        } else if (starts_with(p, eol, "SigPnd:")) {
            st->pending = parse_hex(p + 7, eol);
        } else if (starts_with(p, eol, "SigBlk:")) {
            st->blocked = parse_hex(p + 7, eol);
        }
        p = eol + 1;
    }
    return 0;
}

int chook__thread_alive(pid_t tid)
{
    chook__thread_status st;
    if (chook__thread_status_read(tid, &st) < 0) return 1; /* cannot tell: assume so */
    return st.exists && st.state != 'Z' && st.state != 'X';
}
