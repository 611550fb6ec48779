/*
 * The premise of chook on arm64, checked inside the arm64 test VM: code written
 * through /proc/self/mem runs after the cache maintenance sequence, and the
 * aarch64 back end's trampolines run as the code they were made from.
 *
 *   1. A 4-byte `b` written over a function through /proc/self/mem redirects it;
 *      writing the old word back restores it.
 *   2. Four functions whose first four instructions are PC-relative (literal
 *      load, cbz, adr; tbz, bl; a b.lt loop inside the patch) or set x16 (a
 *      large-frame prologue) get a 16-byte far patch to a replacement that
 *      calls the trampoline, placed more than 4 GiB away so that every absolute
 *      form runs.
 * Exit status: the number of failed checks.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch.h"
#include "chook.h"

/* Targets, in assembly so their first instructions are known. */
__asm__(
    ".text\n"
    ".p2align 4\n"
    ".globl near_target\n"
    ".type near_target, %function\n"
    "near_target:\n"
    "    mov w0, #1\n"
    "    ret\n"
    ".size near_target, .-near_target\n"

    /* f1(x) = x ? x + 2 * 1000 : 7 */
    ".p2align 4\n"
    ".globl f1\n"
    ".type f1, %function\n"
    "f1:\n"
    "    ldr x1, 3f\n"
    "    cbz x0, 2f\n"
    "    adr x2, 3f\n"
    "    ldr x3, [x2]\n"
    "    add x0, x0, x3\n"
    "    add x0, x0, x1\n"
    "    ret\n"
    "2:  mov x0, #7\n"
    "    ret\n"
    ".p2align 3\n"
    "3:  .quad 1000\n"
    ".size f1, .-f1\n"

    /* f2(x) = (x odd ? 3x : x) + 100 */
    ".p2align 4\n"
    ".globl f2\n"
    ".type f2, %function\n"
    "f2:\n"
    "    stp x29, x30, [sp, #-16]!\n"
    "    mov x29, sp\n"
    "    tbz x0, #0, 1f\n"
    "    bl f2_triple\n"
    "1:  adrp x1, f2_data\n"
    "    add x1, x1, :lo12:f2_data\n"
    "    ldr x1, [x1]\n"
    "    add x0, x0, x1\n"
    "    ldp x29, x30, [sp], #16\n"
    "    ret\n"
    ".size f2, .-f2\n"
    "f2_triple:\n"
    "    add x0, x0, x0, lsl #1\n"
    "    ret\n"

    /* f3(x) = max(x, 1), counted in a loop that lies inside the patch */
    ".p2align 4\n"
    ".globl f3\n"
    ".type f3, %function\n"
    "f3:\n"
    "    mov x1, #0\n"
    "1:  add x1, x1, #1\n"
    "    cmp x1, x0\n"
    "    b.lt 1b\n"
    "    mov x0, x1\n"
    "    ret\n"
    ".size f3, .-f3\n"

    /* f4(x) = x + 32, with GCC's large-frame prologue idiom: x16 set by the
     * patched instructions and read after them */
    ".p2align 4\n"
    ".globl f4\n"
    ".type f4, %function\n"
    "f4:\n"
    "    mov x16, #32\n"
    "    sub sp, sp, x16\n"
    "    str x0, [sp]\n"
    "    ldr x0, [sp]\n"
    "    add x0, x0, x16\n"
    "    add sp, sp, x16\n"
    "    ret\n"
    ".size f4, .-f4\n"

    ".data\n"
    ".p2align 3\n"
    "f2_data: .quad 100\n"
    ".text\n");

long near_target(void);
long f1(long);
long f2(long);
long f3(long);
long f4(long);

static int failures;

#define CHECK(cond, ...)                                          \
    do {                                                          \
        if (cond) { printf("ok   "); } else { printf("FAIL "); failures++; } \
        printf(__VA_ARGS__);                                      \
        printf("\n");                                             \
    } while (0)

/* Makes instruction fetch see the bytes just written at [a, a+n): clean the
 * data cache to the point of unification, invalidate the instruction cache,
 * with the barriers between (Arm ARM, "Concurrent modification and execution
 * of instructions"). */
static void flush(uintptr_t a, size_t n)
{
    uint64_t ctr;
    __asm__ volatile("mrs %0, ctr_el0" : "=r"(ctr));
    uintptr_t dline = (uintptr_t)4 << ((ctr >> 16) & 15), iline = (uintptr_t)4 << (ctr & 15);
    for (uintptr_t p = a & ~(dline - 1); p < a + n; p += dline)
        __asm__ volatile("dc cvau, %0" ::"r"(p) : "memory");
    __asm__ volatile("dsb ish" ::: "memory");
    for (uintptr_t p = a & ~(iline - 1); p < a + n; p += iline)
        __asm__ volatile("ic ivau, %0" ::"r"(p) : "memory");
    __asm__ volatile("dsb ish\n\tisb" ::: "memory");
}

static int mem_fd;

static int write_code(uintptr_t at, const void *bytes, size_t n)
{
    if (pwrite(mem_fd, bytes, n, (off_t)at) != (ssize_t)n) return -1;
    flush(at, n);
    return 0;
}

static long (*volatile orig1)(long), (*volatile orig2)(long), (*volatile orig3)(long),
    (*volatile orig4)(long);
static long repl1(long x) { return orig1(x) + 1000000; }
static long repl2(long x) { return orig2(x) + 1000000; }
static long repl3(long x) { return orig3(x) + 1000000; }
static long repl4(long x) { return orig4(x) + 1000000; }
static long near_repl(void) { return 2; }

static uint8_t *tramp_area;
static size_t tramp_used;

/* Hooks fn with a far patch; *orig becomes its trampoline. */
static int hook_far(const char *name, uintptr_t fn, uintptr_t repl, long (*volatile *orig)(long))
{
    chook_arch_code code = { .bytes = (const uint8_t *)fn, .avail = 64, .pc = fn };
    chook_arch_plan plan;
    chook_arch_tramp t;
    uint8_t jump[16];
    char err[CHOOK_ARCH_ERRLEN];
    uintptr_t tpc = (uintptr_t)tramp_area + tramp_used;

    if (chook_arch_plan_patch(&code, 16, &plan, err, sizeof err) != CHOOK_OK ||
        chook_arch_relocate(&code, &plan, tpc, &t, err, sizeof err) != CHOOK_OK) {
        printf("FAIL %s: %s\n", name, err);
        failures++;
        return -1;
    }
    if (mprotect(tramp_area, 4096, PROT_READ | PROT_WRITE) != 0) return -1;
    memcpy(tramp_area + tramp_used, t.bytes, t.len);
    if (mprotect(tramp_area, 4096, PROT_READ | PROT_EXEC) != 0) return -1;
    flush(tpc, t.len);
    tramp_used += (t.len + 15) & ~(size_t)15;
    *orig = (long (*)(long))tpc;
    chook_arch_write_jump(jump, fn, repl, CHOOK_ARCH_JUMP_FAR);
    return write_code(fn, jump, sizeof jump);
}

int main(void)
{
    long (*volatile nt)(void) = near_target;
    long (*volatile g1)(long) = f1, (*volatile g2)(long) = f2, (*volatile g3)(long) = f3,
        (*volatile g4)(long) = f4;
    uint8_t b[4], old[4];
    long w1[2], w2[2], w3[2], w4[2];
    static const long args[2] = { 5, 0 }, args2[2] = { 3, 4 };

    mem_fd = open("/proc/self/mem", O_RDWR);
    CHECK(mem_fd >= 0, "open /proc/self/mem");
    if (mem_fd < 0) return 1;

    /* 1. The premise: a b written through /proc/self/mem runs. */
    CHECK(nt() == 1, "near_target() before the patch returns 1");
    memcpy(old, (const void *)(uintptr_t)near_target, 4);
    CHECK(chook_arch_write_jump(b, (uintptr_t)near_target, (uintptr_t)near_repl,
                                CHOOK_ARCH_JUMP_NEAR) == 4, "b fits");
    CHECK(write_code((uintptr_t)near_target, b, 4) == 0, "pwrite /proc/self/mem");
    CHECK(nt() == 2, "near_target() after the b runs the replacement: %ld", nt());
    CHECK(write_code((uintptr_t)near_target, old, 4) == 0, "restore");
    CHECK(nt() == 1, "near_target() restored: %ld", nt());

    /* 2. Far patches and relocated trampolines, more than 4 GiB away. */
    tramp_area = mmap((void *)(uintptr_t)0x7e0000000000, 4096, PROT_READ | PROT_EXEC,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(tramp_area != MAP_FAILED, "trampoline area at %p", (void *)tramp_area);
    if (tramp_area == MAP_FAILED) return 1;
    for (int i = 0; i < 2; i++) {
        w1[i] = g1(args[i]);
        w2[i] = g2(args2[i]);
        w3[i] = g3(args[i]);
        w4[i] = g4(args[i]);
    }
    CHECK(w1[0] == 2005 && w1[1] == 7, "f1 before: %ld %ld", w1[0], w1[1]);
    CHECK(w2[0] == 109 && w2[1] == 104, "f2 before: %ld %ld", w2[0], w2[1]);
    CHECK(w3[0] == 5 && w3[1] == 1, "f3 before: %ld %ld", w3[0], w3[1]);
    CHECK(w4[0] == 37 && w4[1] == 32, "f4 before: %ld %ld", w4[0], w4[1]);
    hook_far("f1", (uintptr_t)f1, (uintptr_t)repl1, &orig1);
    hook_far("f2", (uintptr_t)f2, (uintptr_t)repl2, &orig2);
    hook_far("f3", (uintptr_t)f3, (uintptr_t)repl3, &orig3);
    hook_far("f4", (uintptr_t)f4, (uintptr_t)repl4, &orig4);
    for (int i = 0; i < 2; i++) {
        long r1 = g1(args[i]), r2 = g2(args2[i]), r3 = g3(args[i]), r4 = g4(args[i]);
        CHECK(r1 == w1[i] + 1000000, "f1(%ld) hooked: %ld (ldr literal, cbz, adr relocated)", args[i], r1);
        CHECK(r2 == w2[i] + 1000000, "f2(%ld) hooked: %ld (tbz, bl relocated)", args2[i], r2);
        CHECK(r3 == w3[i] + 1000000, "f3(%ld) hooked: %ld (b.lt loop in the trampoline)", args[i], r3);
        CHECK(r4 == w4[i] + 1000000, "f4(%ld) hooked: %ld (x16 set in the patch survives)", args[i], r4);
    }
    printf("%d failure(s)\n", failures);
    return failures;
}
