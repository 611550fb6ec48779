/*
 * What chook_install, chook_attach and chook_probe accept around branches and
 * entry points:
 *   - a jump from another function into bytes 1..N of the patch is refused
 *     (CHOOK_EBRANCHIN, naming the jump and its function), found through the
 *     module's index of branch targets: glibc's mempcpy jumps to memmove+3;
 *   - a target inside an instruction of a known function is refused
 *     (CHOOK_EDECODE, naming the function and offset); a target inside a function
 *     at an instruction boundary is hooked, and probe says where it is;
 *   - a loop whose branch goes back to the entry is refused (CHOOK_EBRANCHIN); a
 *     call back to the entry (recursion) is a call and is hooked.
 * Every refusal leaves the bytes exactly as they were.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "chook.h"
#include "fixtures/branch_fixtures.h"
#include "hook.h"
#include "stop.h"

#define SNAP 32

static int hits;
static int (*orig_int)(int);
static int repl_int(int x)
{
    hits++;
    return orig_int(x);
}

static int on_enter(chook_call *call, void *data)
{
    (void)call;
    (void)data;
    hits++;
    return 0;
}

static void on_leave(chook_call *call, void *data)
{
    (void)call;
    (void)data;
    hits++;
}

static void refused(void *fn, int status, const char *why, const char *why2)
{
    uint8_t before[SNAP];
    void *orig = NULL;
    memcpy(before, fn, SNAP);
    cr_assert_eq(chook_install(fn, (void *)repl_int, &orig), status, "got: %s",
                 chook_last_error());
    cr_assert(strstr(chook_last_error(), why), "message: %s", chook_last_error());
    if (why2) cr_assert(strstr(chook_last_error(), why2), "message: %s", chook_last_error());
    cr_assert_null(orig);
    cr_assert_eq(memcmp(before, fn, SNAP), 0, "a refused install changed the bytes");
    chook_probe_info info = { .size = sizeof info };
    cr_assert_eq(chook_probe(fn, &info), CHOOK_OK);
    cr_assert_eq(info.status, status, "probe: %s", info.reason);
    cr_assert(strstr(info.reason, why), "probe reason: %s", info.reason);
}

/* ---- class 5: branches from other functions into the patch ----------------------- */

Test(plan_branches, jump_from_another_function_into_the_patch_is_refused)
{
    refused((void *)fx_bi_first, CHOOK_EBRANCHIN, "fx_bi_second+0x3", "inside the bytes +0..+6");
    cr_assert_eq(fx_bi_first(5), 11);
    cr_assert_eq(fx_bi_second(5), 17);
}

Test(plan_branches, the_function_that_jumps_is_itself_hookable)
{
    cr_assert_eq(chook_install((void *)fx_bi_second, (void *)repl_int, (void **)&orig_int),
                 CHOOK_OK, "%s", chook_last_error());
    hits = 0;
    cr_assert_eq(fx_bi_second(5), 17);
    cr_assert_eq(hits, 1);
    cr_assert_eq(chook_uninstall((void *)fx_bi_second), CHOOK_OK);
}

/* The branch lands on the first byte of a patch that starts where it lands. */
Test(plan_branches, jump_to_the_first_patched_byte_is_fine)
{
    chook_probe_info info = { .size = sizeof info };
    cr_assert_eq(chook_probe((char *)fx_bi_first + 2, &info), CHOOK_OK);
    cr_assert_eq(info.status, CHOOK_OK, "%s", info.reason);
    cr_assert_eq(info.function_offset, 2);
}

static size_t (*orig_memmove)(void *, const void *, size_t);
static int memmove_calls;
static void *repl_memmove(void *d, const void *s, size_t n)
{
    memmove_calls++;
    return (void *)orig_memmove(d, s, n);
}

/* glibc's mempcpy variants end with a jump to memmove+3: hooking memmove (the
 * implementation its IFUNC selects) must be refused, or else keep mempcpy and
 * printf working. */
static void hook_libc_copy(const char *name)
{
    chook_symbol sym;
    void *addr = NULL;
    cr_assert_eq(chook_symbol_lookup("libc.so.6", name, &sym, &addr), CHOOK_OK, "%s",
                 chook_last_error());
    uint8_t before[SNAP];
    memcpy(before, addr, SNAP);
    int st = chook_install(addr, (void *)repl_memmove, (void **)&orig_memmove);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", chook_last_error());
    char src[64] = "0123456789abcdefghijklmnopqrstuvwxyz", dst[64] = { 0 }, buf[128];
    void *(*volatile mempcpy_fn)(void *, const void *, size_t) = mempcpy;
    char *end = mempcpy_fn(dst, src, 37);
    snprintf(buf, sizeof buf, "%s|%d|%s", "printf", 42, dst);
    cr_assert_eq(end, dst + 37);
    cr_assert_str_eq(dst, src);
    cr_assert_str_eq(buf, "printf|42|0123456789abcdefghijklmnopqrstuvwxyz");
    if (st == CHOOK_OK) {
        cr_assert_eq(chook_uninstall(addr), CHOOK_OK);
    } else {
        cr_assert_eq(st, CHOOK_EBRANCHIN, "%s", msg);
        cr_assert(strstr(msg, "mempcpy"), "message: %s", msg);
        cr_assert(strstr(msg, "in libc.so.6"), "message: %s", msg);
        cr_assert_eq(memcmp(before, addr, SNAP), 0);
    }
    cr_log_info("%s: %s", name, st == CHOOK_OK ? "hooked" : msg);
}

Test(plan_branches, libc_memmove_then_mempcpy_and_printf) { hook_libc_copy("memmove"); }
Test(plan_branches, libc_memcpy_then_mempcpy_and_printf) { hook_libc_copy("memcpy"); }

Test(plan_branches, listeners_on_memmove_are_refused_the_same_way)
{
    chook_symbol sym;
    void *addr = NULL;
    cr_assert_eq(chook_symbol_lookup("libc.so.6", "memmove", &sym, &addr), CHOOK_OK);
    chook_probe_info info = { .size = sizeof info };
    chook_probe(addr, &info);
    chook_listener *l = NULL;
    int st = chook_attach(addr, NULL, on_leave, NULL, &l);
    cr_assert_eq(st, info.status, "attach %d, probe %d: %s", st, info.status,
                 chook_last_error());
    if (st == CHOOK_OK) cr_assert_eq(chook_detach(l), CHOOK_OK);
    char dst[8];
    void *(*volatile mempcpy_fn)(void *, const void *, size_t) = mempcpy;
    cr_assert_eq(mempcpy_fn(dst, "abcdefg", 8), dst + 8);
}

/* The index: every direct branch of libc whose target is not a function's start,
 * built once. Its cost is printed for the record. */
Test(plan_branches, libc_index_is_built_once_and_is_small)
{
    size_t n = 0, bytes = 0, n2 = 0, bytes2 = 0;
    uint64_t ns = 0, ns2 = 0;
    /* The symbols first: they are parsed for every lookup anyway. */
    chook_symbol sym;
    cr_assert_eq(chook_symbol_lookup("libc.so.6", "mempcpy", &sym, NULL), CHOOK_OK);
    chook__commit_lock();
    struct timespec t0, t1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    int st = chook__branch_index_stats((uintptr_t)mempcpy, &n, &bytes, &ns);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    int st2 = chook__branch_index_stats((uintptr_t)mempcpy, &n2, &bytes2, &ns2);
    chook__commit_unlock();
    cr_assert_eq(st, CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(st2, CHOOK_OK);
    cr_assert_gt(n, 1000, "only %zu branches indexed", n);
    cr_assert_gt(bytes, 100000);
    cr_assert_eq(ns2, ns, "the index was built again");
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    fprintf(stderr, "libc branch index: %zu branches kept, %zu bytes of code swept, "
            "built in %.1f ms (%.1f ms of CPU time), %zu KiB\n",
            n, bytes, (double)ns / 1e6, ms, n * 8 / 1024);
}

/* ---- class 6: targets inside an instruction or inside a function ------------------ */

Test(plan_branches, target_inside_an_instruction_is_refused)
{
    refused((char *)fx_loop_entry + 1, CHOOK_EDECODE, "fx_loop_entry+0x1",
            "byte 1 of the 3-byte 'sub' at +0x0");
    refused((char *)fx_bi_first + 5, CHOOK_EDECODE, "fx_bi_first+0x5",
            "not an instruction boundary");
    cr_assert_eq(fx_loop_entry(5), 4);
    cr_assert_eq(fx_bi_first(5), 11);
}

Test(plan_branches, listeners_inside_an_instruction_are_refused)
{
    chook_listener *l = NULL;
    uint8_t before[SNAP];
    memcpy(before, (char *)fx_recursive, SNAP);
    cr_assert_eq(chook_attach((char *)fx_recursive + 3, on_enter,
                              NULL, NULL, &l),
                 CHOOK_EDECODE, "%s", chook_last_error());
    cr_assert_eq(memcmp(before, (char *)fx_recursive, SNAP), 0);
    cr_assert_eq(fx_recursive(4), 10);
}

Test(plan_branches, listeners_inside_a_function_are_refused)
{
    chook_listener *l = NULL;
    uint8_t before[SNAP];
    memcpy(before, (char *)fx_recursive, SNAP);
    cr_assert_eq(chook_attach((char *)fx_recursive + 2, on_enter,
                              NULL, NULL, &l),
                 CHOOK_EINVAL, "%s", chook_last_error());
    cr_assert(strstr(chook_last_error(), "inside a function"), "%s", chook_last_error());
    cr_assert_eq(memcmp(before, (char *)fx_recursive, SNAP), 0);
    cr_assert_eq(fx_recursive(4), 10);
}

Test(plan_branches, target_inside_a_function_at_a_boundary_is_hooked)
{
    void *mid = (char *)fx_loop_entry + 3;
    chook_probe_info info = { .size = sizeof info };
    cr_assert_eq(chook_probe(mid, &info), CHOOK_OK);
    cr_assert_eq(info.status, CHOOK_OK, "%s", info.reason);
    cr_assert_eq(info.function_offset, 3);
    cr_assert(strstr(info.reason, "fx_loop_entry+0x3"), "note: %s", info.reason);
    cr_assert(strstr(info.reason, "instruction boundary"), "note: %s", info.reason);

    cr_assert_eq(chook_install(mid, (void *)fx_mid_replacement, &fx_mid_original), CHOOK_OK,
                 "%s", chook_last_error());
    /* The point runs once per turn of the loop: x = 15 turns 5 times. */
    fx_mid_hits = 0;
    cr_assert_eq(fx_loop_entry(15), 10);
    cr_assert_eq(fx_mid_hits, 5);
    fx_mid_hits = 0;
    cr_assert_eq(fx_loop_entry(5), 4);
    cr_assert_eq(fx_mid_hits, 1);
    cr_assert_eq(chook_uninstall(mid), CHOOK_OK);
    fx_mid_hits = 0;
    cr_assert_eq(fx_loop_entry(15), 10);
    cr_assert_eq(fx_mid_hits, 0);
}

Test(plan_branches, function_entry_has_no_note)
{
    chook_probe_info info = { .size = sizeof info };
    cr_assert_eq(chook_probe((void *)fx_recursive, &info), CHOOK_OK);
    cr_assert_eq(info.status, CHOOK_OK, "%s", info.reason);
    cr_assert_eq(info.function_offset, 0);
    cr_assert_str_eq(info.reason, "");
}

/* ---- class 7: loops through the entry ---------------------------------------------- */

Test(plan_branches, loop_through_the_entry_is_refused)
{
    refused((void *)fx_loop_entry, CHOOK_EBRANCHIN, "jumps back to the function's entry",
            "fx_loop_entry+0x6");
    cr_assert_eq(fx_loop_entry(15), 10);
}

Test(plan_branches, listeners_on_a_loop_through_the_entry_are_refused)
{
    chook_listener *l = NULL;
    cr_assert_eq(chook_attach((void *)fx_loop_entry, on_enter,
                              NULL, NULL, &l),
                 CHOOK_EBRANCHIN, "%s", chook_last_error());
    cr_assert_eq(fx_loop_entry(15), 10);
}

Test(plan_branches, recursion_through_the_entry_is_a_call_and_is_hooked)
{
    cr_assert_eq(chook_install((void *)fx_recursive, (void *)repl_int, (void **)&orig_int),
                 CHOOK_OK, "%s", chook_last_error());
    hits = 0;
    cr_assert_eq(fx_recursive(3), 6);
    cr_assert_eq(hits, 4, "each call, the recursive ones too, runs the replacement once");
    hits = 0;
    cr_assert_eq(orig_int(3), 6);
    cr_assert_eq(hits, 3, "the original's recursive calls go through the hook");
    cr_assert_eq(chook_uninstall((void *)fx_recursive), CHOOK_OK);
}

/* The index lives with its module: unloaded with it, built afresh when the
 * library comes back (possibly elsewhere). */
Test(plan_branches, index_follows_dlclose_and_dlopen)
{
    for (int round = 0; round < 3; round++) {
        void *h = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
        cr_assert_not_null(h, "%s", dlerror());
        void *deflate_fn = dlsym(h, "deflate");
        cr_assert_not_null(deflate_fn);
        chook_probe_info info = { .size = sizeof info };
        cr_assert_eq(chook_probe(deflate_fn, &info), CHOOK_OK);
        cr_assert_eq(info.status, CHOOK_OK, "%s", info.reason);
        size_t n = 0, bytes = 0;
        uint64_t ns = 0;
        chook__commit_lock();
        int st = chook__branch_index_stats((uintptr_t)deflate_fn, &n, &bytes, &ns);
        chook__commit_unlock();
        cr_assert_eq(st, CHOOK_OK, "%s", chook_last_error());
        cr_assert_gt(n, 100, "round %d: %zu branches", round, n);
        cr_assert_eq(dlclose(h), 0);
    }
}

/* function_offset came after `size`: a caller whose size does not cover it (built
 * against the older header) never sees it written. */
Test(plan_branches, probe_writes_function_offset_only_when_size_covers_it)
{
    void *mid = (char *)fx_loop_entry + 3;
    chook_probe_info info;
    memset(&info, 0x5a, sizeof info);
    info.size = offsetof(chook_probe_info, size) + sizeof info.size;
    cr_assert_eq(chook_probe(mid, &info), CHOOK_OK);
    cr_assert_eq(info.status, CHOOK_OK, "%s", info.reason);
    cr_assert_eq(info.size, offsetof(chook_probe_info, size) + sizeof info.size);
    size_t untouched;
    memset(&untouched, 0x5a, sizeof untouched);
    cr_assert_eq(info.function_offset, untouched);
    memset(&info, 0, sizeof info);
    info.size = sizeof info;
    cr_assert_eq(chook_probe(mid, &info), CHOOK_OK);
    cr_assert_eq(info.size, sizeof info);
    cr_assert_eq(info.function_offset, 3);
}
