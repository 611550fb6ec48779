/*
 * Writing and reading code through /proc/self/mem.
 *
 * The kernel writes through its own mapping of the page (as ptrace does), so no
 * page of the process is ever made writable, and none ever loses PROT_EXEC while
 * other threads run the code next to a patch. Reading through the same file turns
 * an unmapped address into an error instead of a fault.
 *
 * The descriptor is opened once per process: after fork() the child's
 * /proc/self/mem is another file, so the descriptor is reopened when the pid
 * changes (a descriptor inherited from the parent would write into the parent).
 */
#include <fcntl.h>

#include "internal.h"
#include "stop.h"

static int mem_fd = -1;
static long mem_pid;
static chook__mutex mem_lock;

static int mem_open(void)
{
    long pid = chook__sys_getpid();
    int fd = __atomic_load_n(&mem_fd, __ATOMIC_ACQUIRE);
    if (fd >= 0 && __atomic_load_n(&mem_pid, __ATOMIC_RELAXED) == pid) return fd;
    chook__mutex_lock(&mem_lock);
    if (mem_fd < 0 || mem_pid != pid) {
        long nfd = chook__sys_open("/proc/self/mem", O_RDWR);
        if (nfd >= 0) {
            /* The parent's descriptor, inherited, is closed only in the child. */
            if (mem_fd >= 0) chook__sys_close(mem_fd);
            __atomic_store_n(&mem_pid, pid, __ATOMIC_RELAXED);
            __atomic_store_n(&mem_fd, (int)nfd, __ATOMIC_RELEASE);
        } else {
            chook__mutex_unlock(&mem_lock);
            return (int)nfd;
        }
    }
    fd = mem_fd;
    chook__mutex_unlock(&mem_lock);
    return fd;
}

long chook__code_write_raw(uintptr_t addr, const void *bytes, size_t len)
{
    int fd = mem_open();
    if (fd < 0) return fd;
    size_t done = 0;
    while (done < len) {
        long n = chook__sys_pwrite(fd, (const char *)bytes + done, len - done, addr + done);
        if (n == -4 /* EINTR */) continue;
        if (n <= 0) return n < 0 ? n : -5 /* EIO */;
        done += (size_t)n;
    }
    return 0;
}

int chook__code_write(uintptr_t addr, const void *bytes, size_t len)
{
    long rc = chook__code_write_raw(addr, bytes, len);
    if (rc < 0)
        return chook__fail(CHOOK_EPATCH, "writing %zu bytes at 0x%lx through /proc/self/mem "
                           "failed (errno %ld)", len, (unsigned long)addr, -rc);
    return CHOOK_OK;
}

long chook__code_read(uintptr_t addr, void *bytes, size_t len)
{
    int fd = mem_open();
    if (fd < 0)
        return chook__fail(CHOOK_ENOSYS, "cannot open /proc/self/mem (errno %d)", -fd);
    size_t done = 0;
    while (done < len) {
        long n = chook__sys_pread(fd, (char *)bytes + done, len - done, addr + done);
        if (n == -4 /* EINTR */) continue;
        if (n == -5 /* EIO: unmapped */ || n == 0) break;
        if (n < 0)
            return chook__fail(CHOOK_EUNMAPPED, "reading 0x%lx failed (errno %ld)",
                               (unsigned long)(addr + done), -n);
        done += (size_t)n;
    }
    if (done == 0 && len)
        return chook__fail(CHOOK_EUNMAPPED, "address 0x%lx is not mapped", (unsigned long)addr);
    return (long)done;
}

/* fork() must not split this lock (see chook__fork_guard). */
__attribute__((constructor)) static void codewrite_fork_guard(void)
{
    chook__fork_guard(&mem_lock, 40);
}
