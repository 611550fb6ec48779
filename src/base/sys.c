/*
 * Raw system calls and byte helpers that never go through libc: the user may have
 * hooked libc's wrappers and string functions, and while other threads are parked
 * they may hold libc's locks.
 */
#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <linux/futex.h>

#include "internal.h"

#define SYS(nr, a, b, c, d, e, f) \
    chook_arch_syscall((nr), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

/* The kernel's page size, read once from the auxiliary vector (getauxval reads a
 * copy libc keeps in its own data: no lock, no allocation). Set by a constructor,
 * so that reading it while other threads are parked is a plain load; the lazy
 * path only serves other constructors that run first. */
static size_t page_size;

__attribute__((constructor)) static void page_size_init(void)
{
    unsigned long ps = getauxval(AT_PAGESZ);
    __atomic_store_n(&page_size, ps && !(ps & (ps - 1)) ? (size_t)ps : (size_t)4096,
                     __ATOMIC_RELAXED);
}

size_t chook__page_size(void)
{
    size_t ps = __atomic_load_n(&page_size, __ATOMIC_RELAXED);
    if (CHOOK_UNLIKELY(ps == 0)) {
        page_size_init();
        ps = __atomic_load_n(&page_size, __ATOMIC_RELAXED);
    }
    return ps;
}

long chook__sys_open(const char *path, int flags)
{
    return SYS(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC, 0, 0, 0);
}

long chook__sys_close(int fd) { return SYS(SYS_close, fd, 0, 0, 0, 0, 0); }

long chook__sys_read(int fd, void *buf, size_t len)
{
    return SYS(SYS_read, fd, buf, len, 0, 0, 0);
}

long chook__sys_pread(int fd, void *buf, size_t len, uint64_t off)
{
    return SYS(SYS_pread64, fd, buf, len, off, 0, 0);
}

long chook__sys_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
    return SYS(SYS_pwrite64, fd, buf, len, off, 0, 0);
}

void *chook__sys_mmap(void *addr, size_t len, int prot, int flags, int fd, long off)
{
    return (void *)SYS(SYS_mmap, addr, len, prot, flags, fd, off);
}

long chook__sys_munmap(void *addr, size_t len)
{
    return SYS(SYS_munmap, addr, len, 0, 0, 0, 0);
}

long chook__sys_sigaction(int sig, const struct chook__ksigaction *act,
                          struct chook__ksigaction *old)
{
    return SYS(SYS_rt_sigaction, sig, act, old, sizeof(uint64_t), 0, 0);
}

long chook__sys_getpid(void) { return SYS(SYS_getpid, 0, 0, 0, 0, 0, 0); }
long chook__sys_gettid(void) { return SYS(SYS_gettid, 0, 0, 0, 0, 0, 0); }

long chook__sys_futex_wait(int *addr, int val, const struct timespec *timeout)
{
    return SYS(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, timeout, 0, 0);
}

long chook__sys_futex_wake(int *addr, int count)
{
    return SYS(SYS_futex, addr, FUTEX_WAKE_PRIVATE, count, 0, 0, 0);
}

long chook__sys_nanosleep_ns(uint64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
    return SYS(SYS_nanosleep, &ts, 0, 0, 0, 0, 0);
}

uint64_t chook__now_ns(void)
{
    struct timespec ts = { 0, 0 };
    SYS(SYS_clock_gettime, CLOCK_MONOTONIC, &ts, 0, 0, 0, 0);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The loops below are compiled with -fno-tree-loop-distribute-patterns (gcc) or
 * -fno-builtin (clang), so the compiler does not turn them back into calls to
 * memcpy/memset. Word-sized steps when both sides allow. */
void chook__memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if ((((uintptr_t)d | (uintptr_t)s) & 7) == 0) {
        for (; n >= 8; n -= 8, d += 8, s += 8) *(uint64_t *)(void *)d = *(const uint64_t *)(const void *)s;
    }
    while (n--) *d++ = *s++;
}

void chook__memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    if (((uintptr_t)d & 7) == 0) {
        uint64_t v = (unsigned char)c * 0x0101010101010101ull;
        for (; n >= 8; n -= 8, d += 8) *(uint64_t *)(void *)d = v;
    }
    while (n--) *d++ = (unsigned char)c;
}

int chook__memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y) return *x < *y ? -1 : 1;
    return 0;
}

size_t chook__strlen(const char *s)
{
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

long chook__sys_mprotect(void *addr, size_t len, int prot)
{
    return SYS(SYS_mprotect, addr, len, prot, 0, 0, 0);
}
