/*
 * Internal services of chook's core, shared by every core source file.
 *
 * Rule for everything here: no call goes through libc functions the user may
 * have hooked while other threads are parked (no malloc, no stdio, no pthread,
 * no libc syscall wrappers). The services below use raw system calls and
 * chook's own memory.
 */
#ifndef CHOOK_INTERNAL_H
#define CHOOK_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "chook.h"
#include "arch.h"

#define CHOOK_HIDDEN __attribute__((visibility("hidden")))
#define CHOOK_UNUSED __attribute__((unused))
#define CHOOK_LIKELY(x) __builtin_expect(!!(x), 1)
#define CHOOK_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CHOOK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define CHOOK_ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((uintptr_t)(a) - 1))
#define CHOOK_ALIGN_DOWN(x, a) ((x) & ~((uintptr_t)(a) - 1))

/* Early return on a failing status: CHOOK_CHECK(do_thing(...)); */
#define CHOOK_CHECK(expr)                                                      \
    do {                                                                       \
        int chook_check_status_ = (expr);                                      \
        if (chook_check_status_ != CHOOK_OK) return chook_check_status_;       \
    } while (0)

/* ---- errors (status.c) ------------------------------------------------------ */

/* Records a printf-style message as this thread's chook_last_error() and returns
 * `status`. Not for use while threads are parked (formatting may call libc). */
int chook__fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int chook__vfail(int status, const char *fmt, va_list ap);

/* The `size` of a caller-allocated structure (see "Structures and the ABI" in
 * chook.h): 0, or at least the layout the structure had when `size` was added,
 * which ends with `size`. Fails with CHOOK_EINVAL naming the structure. */
#define CHOOK__CHECK_SIZE(p, type) \
    chook__check_size((p)->size, offsetof(type, size) + sizeof(size_t), #type)
int chook__check_size(size_t size, size_t original, const char *type);
/* Sets this thread's chook_last_error() to message as it is (no formatting). */
void chook__set_last_error(const char *message);
/* Prefixes the current last-error message with a printf-style context
 * ("target 0x...: " + old message) and returns status. */
int chook__fail_context(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears this thread's chook_last_error() (a successful public call). */
void chook__clear_error(void);

/* ---- settings (config.c) ------------------------------------------------------ */

/* Settings from chook_configure() (config.c). chook__config_signal() is 0 when
 * chook picks the signal itself. */
int chook__config_signal(void);
unsigned chook__config_stop_timeout_ms(void);

/* ---- transactions (hook.c) ---------------------------------------------------- */

/* Is a transaction open on the calling thread? (Never use chook_transaction_begin()
 * as a probe: a nested begin fails the open transaction.) */
int chook__txn_is_open(void);
/* Records a failing status of a call that is part of the calling thread's open
 * transaction (install, remove, uninstall and everything built on them), so that
 * its commit fails with it; the first failure wins. Returns status. No effect
 * for CHOOK_OK or without an open transaction. */
int chook__txn_fail(int status);
/* 1 when the open transaction has recorded a failure already (else 0). */
int chook__txn_failed(void);
/* After a call that recorded its own failure then added context to the message
 * (chook__fail_context): records the message again. `failed_before` is
 * chook__txn_failed() from before the call: an earlier failure is kept. */
int chook__txn_fail_again(int status, int failed_before);

/* ---- raw system calls (sys.c) ----------------------------------------------- */

/* Each returns the kernel's result: >= 0 on success, -errno on failure. */
long chook__sys_open(const char *path, int flags);
long chook__sys_close(int fd);
long chook__sys_read(int fd, void *buf, size_t len);
long chook__sys_pread(int fd, void *buf, size_t len, uint64_t off);
long chook__sys_pwrite(int fd, const void *buf, size_t len, uint64_t off);
void *chook__sys_mmap(void *addr, size_t len, int prot, int flags, int fd, long off);
long chook__sys_munmap(void *addr, size_t len);
long chook__sys_mprotect(void *addr, size_t len, int prot);
long chook__sys_getpid(void);
long chook__sys_gettid(void);
long chook__sys_futex_wait(int *addr, int val, const struct timespec *timeout);
long chook__sys_futex_wake(int *addr, int count);
long chook__sys_nanosleep_ns(uint64_t ns);
uint64_t chook__now_ns(void); /* CLOCK_MONOTONIC through the vDSO-free syscall */
/* The kernel's struct sigaction for rt_sigaction (not libc's), and the flag that
 * says sa_restorer is valid (the kernel ABI's value; <signal.h> hides it). */
struct chook__ksigaction {
    void *handler;
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};
#define CHOOK_SA_RESTORER 0x04000000
long chook__sys_sigaction(int sig, const struct chook__ksigaction *act,
                          struct chook__ksigaction *old);
/* True when mmap returned an error. */
#define CHOOK_MMAP_FAILED(p) ((uintptr_t)(p) > (uintptr_t)-4096)

/* The kernel's page size (4 KiB on x86-64; 4, 16 or 64 KiB on aarch64), cached
 * at load time: the unit of mprotect and mmap. Never a constant in the core. */
size_t chook__page_size(void);

/* Byte helpers that never call libc (the user may have hooked memcpy). */
void chook__memcpy(void *dst, const void *src, size_t n);
void chook__memset(void *dst, int c, size_t n);
int chook__memcmp(const void *a, const void *b, size_t n);
size_t chook__strlen(const char *s);

/* ---- locks (lock.c) ---------------------------------------------------------- */

/* A futex mutex. Zero-initialised is unlocked and unranked. Not recursive.
 * `rank` (lockrank.h) is set by chook__fork_guard. */
typedef struct { int state; int rank; } chook__mutex;
void chook__mutex_lock(chook__mutex *m);
void chook__mutex_unlock(chook__mutex *m);
int chook__mutex_trylock(chook__mutex *m); /* 1 when taken */

/* Registers one of chook's own mutexes that fork() must not split (a child that
 * inherits it held by another thread would deadlock on its first chook call) and
 * gives it its rank (lockrank.h). The atfork handlers take every registered
 * mutex in increasing rank; they release them in the parent and reset them in
 * the child. Call it from an ELF constructor of the file that owns the mutex;
 * up to 32 mutexes. */
void chook__fork_guard(chook__mutex *m, int rank);
/* Registers a function the fork child runs after every registered mutex was
 * reset (state a subsystem must start clean in the child); up to 8. Call it
 * from an ELF constructor. */
void chook__fork_child_hook(void (*fn)(void));

/* Lock-order checking, in debug builds (NDEBUG not defined): taking a ranked
 * mutex while holding one of the same or a higher rank is a violation. The
 * library only counts it (it never prints or aborts); tests read the count.
 * chook__lockrank_checked() is 1 when the check is built in, else 0 (and the
 * count stays 0). chook__lockrank_last() gives the ranks of the last violation
 * (held, taken). */
int chook__lockrank_checked(void);
unsigned long chook__lockrank_violations(void);
void chook__lockrank_last(int *held, int *taken);

/* ---- memory for chook's own structures (alloc.c) ---------------------------- */

/* Zeroed memory from chook's own mmap-backed heap; NULL when out of memory.
 * chook__free needs the size given at allocation. Thread-safe. */
void *chook__alloc(size_t size);
void chook__free(void *p, size_t size);

/* ---- the process's mappings (maps.c) ----------------------------------------- */

typedef struct chook__region {
    uintptr_t start, end;  /* [start, end) */
    int prot;              /* PROT_READ | PROT_WRITE | PROT_EXEC */
    char perms[5];         /* as in /proc/self/maps, e.g. "r-xp" */
    char path[160];        /* mapped file or [name], "" for anonymous */
} chook__region;

/* Finds the mapping that holds addr. Returns CHOOK_OK or CHOOK_EUNMAPPED. */
int chook__maps_find(uintptr_t addr, chook__region *out);

/* As chook__maps_find, from a snapshot at most 50 ms old (re-read on a miss). */
int chook__maps_find_cached(uintptr_t addr, chook__region *out);
/* Drops the snapshot: the next cached lookup reads /proc/self/maps again (call it
 * when modules were loaded or unloaded). */
void chook__maps_invalidate(void);

/* Calls fn for every mapping in address order; stops when fn returns non-zero and
 * returns that value. Returns a negative status when /proc/self/maps fails. */
int chook__maps_each(int (*fn)(const chook__region *r, void *ctx), void *ctx);

/* ---- writing code (codewrite.c) ---------------------------------------------- */

/* Writes len bytes at addr through /proc/self/mem, so no page is ever made
 * writable; returns CHOOK_OK or CHOOK_EPATCH (with a message). Safe to call while
 * threads are parked (no libc). */
int chook__code_write(uintptr_t addr, const void *bytes, size_t len);
/* The same without a message (0 or -errno): for use while threads are parked. */
long chook__code_write_raw(uintptr_t addr, const void *bytes, size_t len);
/* Reads code through /proc/self/mem: works for any mapped readable page and fails
 * cleanly (CHOOK_EUNMAPPED) for unmapped addresses instead of faulting. Returns the
 * number of bytes read (may be short at the end of a mapping) or a negative status. */
long chook__code_read(uintptr_t addr, void *bytes, size_t len);

/* ---- executable memory near targets (nearmem.c) ------------------------------ */

/* Allocates `size` bytes of executable code memory (PROT_READ|PROT_EXEC, never
 * writable: fill it with chook__code_write) within CHOOK_ARCH_NEAR_REACH of `near`
 * (any address when near == 0). Granule 16 bytes. Returns 0 when none can be had.
 * Memory returned here is never unmapped: trampolines must outlive every caller. */
uintptr_t chook__code_alloc(uintptr_t near, size_t size);
/* For tests: from now on, no code memory is handed out within reach of addr (0
 * lifts it), as if the address space there were full. */
void chook__nearmem_refuse_near(uintptr_t addr);
/* Gives code memory back for reuse by a later chook__code_alloc of the same size
 * near the same place. Only for memory no thread can still run. */
void chook__code_free(uintptr_t addr, size_t size);

/* Allocates an 8-byte, 8-aligned data slot (readable and writable, never
 * executable) within CHOOK_ARCH_NEAR_REACH of code address `near`, for indirect
 * jumps. Returns NULL when none can be had. */
uintptr_t *chook__slot_alloc(uintptr_t near);
void chook__slot_free(uintptr_t *slot);

/* ---- symbols (extent.c / symbols.c) ------------------------------------------ */

/* The function that contains addr, by the ELF symbol tables: its start, size and
 * the start of the next symbol (0 when unknown). Returns 1 when found. */
/* 1 when a symbol that starts at addr is a compiler's cold part (foo.cold,
 * foo.part.0.cold: entered by a jump, not a call); its name goes to name. */
int chook__symbol_cold_part(uintptr_t addr, char *name, size_t cap);
int chook__symbol_extent(uintptr_t addr, uintptr_t *start, size_t *size,
                         uintptr_t *next_start);

#endif /* CHOOK_INTERNAL_H */
