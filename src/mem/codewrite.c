/*
 * Writing and reading code through /proc/self/mem.
 *
 * The kernel writes through its own mapping of the page (as ptrace does), so no
 * page of the process is ever made writable, and none ever loses PROT_EXEC while
 * other threads run the code next to a patch. Reading through the same file turns
 * an unmapped address into an error instead of a fault.
 *
 * The descriptor is opened once per process: after fork() the child's
 * /proc/self/mem is another file, so the descriptor is reopened in the child (a
 * descriptor inherited from the parent would write into the parent).
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "codepage.h"
#include "internal.h"
#include "lockrank.h"

static int mem_fd = -1;
static long mem_pid;
static chook__mutex mem_lock;

/* A word in a page the kernel zeroes in a child after fork (MADV_WIPEONFORK,
 * Linux 4.14), set once the descriptor is known to be this process's: while it
 * reads 1 no getpid() is needed on each access (a commit makes several). NULL
 * where the kernel lacks it: the pid is compared every time instead. A vfork()
 * child shares the memory and the word, rightly: it shares the address space
 * the descriptor writes to. */
static uint64_t *same_process;
static int same_process_tried;

static void same_process_setup(void)
{
    same_process_tried = 1;
    size_t ps = chook__page_size();
    void *p = chook__sys_mmap(NULL, ps, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (CHOOK_MMAP_FAILED(p)) return;
    if (chook_arch_syscall(SYS_madvise, (long)p, ps, MADV_WIPEONFORK, 0, 0, 0) != 0) {
        chook__sys_munmap(p, ps);
        return;
    }
    __atomic_store_n(&same_process, (uint64_t *)p, __ATOMIC_RELEASE);
}

static int mem_open(void)
{
    int fd = __atomic_load_n(&mem_fd, __ATOMIC_ACQUIRE);
    uint64_t *mark = __atomic_load_n(&same_process, __ATOMIC_ACQUIRE);
    if (fd >= 0 && mark && __atomic_load_n(mark, __ATOMIC_ACQUIRE)) return fd;
    long pid = chook__sys_getpid();
    if (fd >= 0 && !mark && __atomic_load_n(&mem_pid, __ATOMIC_RELAXED) == pid) return fd;
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
    if (!same_process_tried) same_process_setup();
    /* The descriptor is this process's now (checked against the pid above). */
    if (same_process) __atomic_store_n(same_process, 1, __ATOMIC_RELEASE);
    fd = mem_fd;
    chook__mutex_unlock(&mem_lock);
    return fd;
}

/* Bumped after every write: a cached page filled before it is stale. */
static uint64_t write_gen;

long chook__code_write_raw(uintptr_t addr, const void *bytes, size_t len)
{
    int fd = mem_open();
    if (fd < 0) return fd;
    size_t done = 0;
    long rc = 0;
    while (done < len) {
        long n = chook__sys_pwrite(fd, (const char *)bytes + done, len - done, addr + done);
        if (n == -4 /* EINTR */) continue;
        if (n <= 0) {
            rc = n < 0 ? n : -5 /* EIO */;
            break;
        }
        done += (size_t)n;
    }
    /* Every byte written, even by a write that failed part way, must reach the
     * instruction stream of this core before anything runs it (a no-op where
     * instruction fetch is coherent with stores, as on x86-64). */
    if (done) chook_arch_flush_icache((void *)addr, done);
    /* After the write: a page read before this point must not be served again,
     * even one read while the write was under way. */
    chook__code_cache_drop();
    return rc;
}

int chook__code_write(uintptr_t addr, const void *bytes, size_t len)
{
    long rc = chook__code_write_raw(addr, bytes, len);
    if (rc < 0)
        return chook__fail(CHOOK_EPATCH, "writing %zu bytes at 0x%lx through /proc/self/mem "
                           "failed (errno %ld)", len, (unsigned long)addr, -rc);
    return CHOOK_OK;
}

long chook__code_read_raw(uintptr_t addr, void *bytes, size_t len)
{
    int fd = mem_open();
    if (fd < 0) return fd;
    size_t done = 0;
    while (done < len) {
        long n = chook__sys_pread(fd, (char *)bytes + done, len - done, addr + done);
        if (n == -4 /* EINTR */) continue;
        if (n <= 0) return done ? (long)done : (n < 0 ? n : -5 /* EIO */);
        done += (size_t)n;
    }
    return (long)done;
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

/* ---- page cache (codepage.h) ------------------------------------------------- */

#define CACHE_PAGE 4096u
#define CACHE_PAGES 16u /* direct-mapped by page number */

static struct {
    uint8_t *data;                 /* CACHE_PAGES pages, allocated on first use */
    uintptr_t page[CACHE_PAGES];   /* page address held by each entry, 0 if none */
    uint64_t gen[CACHE_PAGES];     /* write_gen when the entry was read */
} cache;

void chook__code_cache_drop(void)
{
    __atomic_fetch_add(&write_gen, 1, __ATOMIC_ACQ_REL);
}

/* The cached copy of the page at `page`, read now if needed; NULL when the page
 * cannot be read whole (unmapped, or no memory for the cache). */
static const uint8_t *cache_page(uintptr_t page)
{
    size_t i = (size_t)(page / CACHE_PAGE) % CACHE_PAGES;
    uint64_t gen = __atomic_load_n(&write_gen, __ATOMIC_ACQUIRE);
    if (cache.data && cache.page[i] == page && cache.gen[i] == gen)
        return cache.data + i * CACHE_PAGE;
    if (!cache.data && !(cache.data = chook__alloc(CACHE_PAGES * CACHE_PAGE))) return NULL;
    int fd = mem_open();
    if (fd < 0) return NULL;
    uint8_t *dst = cache.data + i * CACHE_PAGE;
    cache.page[i] = 0;
    long n;
    do n = chook__sys_pread(fd, dst, CACHE_PAGE, page);
    while (n == -4 /* EINTR */);
    if (n != (long)CACHE_PAGE) return NULL;
    /* gen was loaded before the read: a write that raced with it made it stale. */
    cache.page[i] = page;
    cache.gen[i] = gen;
    return dst;
}

long chook__code_read_cached(uintptr_t addr, void *bytes, size_t len)
{
    size_t done = 0;
    while (done < len) {
        uintptr_t a = addr + done;
        uintptr_t page = CHOOK_ALIGN_DOWN(a, CACHE_PAGE);
        size_t off = (size_t)(a - page), n = CACHE_PAGE - off;
        if (n > len - done) n = len - done;
        const uint8_t *p = page ? cache_page(page) : NULL;
        if (!p) {
            /* Not cacheable (e.g. the end of a mapping): read the rest as is. */
            long r = chook__code_read(a, (uint8_t *)bytes + done, len - done);
            if (r < 0) return done ? (long)done : r;
            return (long)(done + (size_t)r);
        }
        chook__memcpy((uint8_t *)bytes + done, p + off, n);
        done += n;
    }
    return (long)done;
}

/* fork() must not split this lock (see chook__fork_guard). */
__attribute__((constructor)) static void codewrite_fork_guard(void)
{
    chook__fork_guard(&mem_lock, CHOOK_RANK_PROCMEM);
}
