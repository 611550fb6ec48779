/*
 * Live hooks on the hand-written fixtures of fixtures/reloc_fixtures.S, one per
 * relocation class: the replacement runs, the original called through the
 * trampoline gives exactly the unhooked results, and uninstalling restores the
 * bytes exactly. Targets that cannot be hooked give their specific status and
 * stay untouched.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "chook.h"
#include "fixtures/reloc_fixtures.h"

#define SNAP 32 /* bytes compared before and after */

static int hits;

/* ---- int f(int) ------------------------------------------------------------------ */

typedef int (*int_fn)(int);
static int_fn orig_int;
static int repl_int(int x)
{
    hits++;
    return orig_int(x);
}

static const int inputs[] = { 0, 1, -1, 7, 10, 11, -12345, 1 << 20 };
#define N_INPUTS (sizeof inputs / sizeof inputs[0])

/* Hooks fn, checks every input against ref (the documented behaviour) and the
 * unhooked result, unhooks, and checks the bytes. */
static void hook_int_fixture(int_fn fn, int (*ref)(int))
{
    uint8_t before[SNAP];
    int want[N_INPUTS];
    memcpy(before, (const void *)fn, SNAP);
    for (size_t i = 0; i < N_INPUTS; i++) {
        want[i] = fn(inputs[i]);
        cr_assert_eq(want[i], ref(inputs[i]), "unhooked f(%d) = %d, documented %d", inputs[i],
                     want[i], ref(inputs[i]));
    }
    cr_assert_eq(chook_install((void *)fn, (void *)repl_int, (void **)&orig_int), CHOOK_OK,
                 "%s", chook_last_error());
    cr_assert_neq(memcmp(before, (const void *)fn, SNAP), 0, "the target was not patched");
    for (size_t i = 0; i < N_INPUTS; i++) {
        hits = 0;
        cr_assert_eq(fn(inputs[i]), want[i], "hooked f(%d)", inputs[i]);
        cr_assert_eq(hits, 1, "the replacement did not run for f(%d)", inputs[i]);
        hits = 0;
        cr_assert_eq(orig_int(inputs[i]), want[i], "original(%d)", inputs[i]);
        cr_assert_eq(hits, 0, "the original ran the replacement");
    }
    cr_assert_eq(chook_uninstall((void *)fn), CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(memcmp(before, (const void *)fn, SNAP), 0, "bytes not restored exactly");
    hits = 0;
    for (size_t i = 0; i < N_INPUTS; i++) cr_assert_eq(fn(inputs[i]), want[i]);
    cr_assert_eq(hits, 0);
}

static int ref_plain(int x) { return 3 * x; }
static int ref_rip_lea(int x) { return fx_table[x & 3]; }
static int ref_rip_cmp_imm(int x) { return fx_limit == 7 ? x : -x; }
static int ref_sse_rip(int x) { return (int)(fx_double + x); }
static int ref_avx_rip(int x) { return fx_vec[0] + x; }
static int ref_jmp_rip(int x) { return x + 100; }
static int ref_sign(int x) { return x < 0 ? -1 : 1; }
static int ref_jcc_rel32(int x) { return x > 10 ? 2 * x : x + 1; }
static int ref_abs(int x) { return x < 0 ? -x : x; }
static int ref_jmp_rel8(int x) { return (x + 7) * 2; }
static int ref_helper(int x) { return 5 * x + 1; }
static int ref_tail(int x) { return ref_helper(x + 1); }
static int ref_call(int x) { return ref_helper(x) + x; }
static int ref_identity(int x) { return x; }
static int ref_minus1(int x) { return x - 1; }
static int ref_plus5(int x) { return x + 5; }
static int ref_times5(int x) { return 5 * x; }

Test(fixtures_hook, plain_prologue) { hook_int_fixture(fx_plain, ref_plain); }
Test(fixtures_hook, rip_relative_lea) { hook_int_fixture(fx_rip_lea, ref_rip_lea); }
Test(fixtures_hook, rip_relative_cmp_with_immediate) { hook_int_fixture(fx_rip_cmp_imm, ref_rip_cmp_imm); }
Test(fixtures_hook, rip_relative_sse) { hook_int_fixture(fx_sse_rip, ref_sse_rip); }
Test(fixtures_hook, indirect_jmp_through_rip) { hook_int_fixture(fx_jmp_rip, ref_jmp_rip); }
Test(fixtures_hook, jcc_rel8_in_prologue) { hook_int_fixture(fx_jcc_rel8_prologue, ref_sign); }
Test(fixtures_hook, jcc_rel32_in_prologue) { hook_int_fixture(fx_jcc_rel32_prologue, ref_jcc_rel32); }
Test(fixtures_hook, jcc_to_the_end_of_the_patch) { hook_int_fixture(fx_jcc_to_patch_end, ref_abs); }
Test(fixtures_hook, jmp_rel8_ending_the_patch) { hook_int_fixture(fx_jmp_rel8_prologue, ref_jmp_rel8); }
Test(fixtures_hook, jmp_rel32_tail_call) { hook_int_fixture(fx_jmp_rel32_tail, ref_tail); }
Test(fixtures_hook, call_rel32_in_prologue) { hook_int_fixture(fx_call_rel32, ref_call); }
Test(fixtures_hook, short_function_with_int3_padding) { hook_int_fixture(fx_short_ret_int3_padding, ref_identity); }
Test(fixtures_hook, short_function_with_nop_padding) { hook_int_fixture(fx_short_nop_padding, ref_minus1); }
Test(fixtures_hook, function_right_after_a_tiny_one) { hook_int_fixture(fx_after_short, ref_plus5); }
Test(fixtures_hook, endbr64_entry) { hook_int_fixture(fx_endbr64, ref_times5); }

Test(fixtures_hook, rip_relative_avx)
{
    if (__builtin_cpu_supports("avx")) {
        hook_int_fixture(fx_avx_rip, ref_avx_rip);
    } else {
        /* Without AVX the fixture cannot run; installing and removing still must
         * relocate it and restore it exactly. */
        uint8_t before[SNAP];
        memcpy(before, (const void *)fx_avx_rip, SNAP);
        cr_assert_eq(chook_install((void *)fx_avx_rip, (void *)repl_int, (void **)&orig_int),
                     CHOOK_OK, "%s", chook_last_error());
        cr_assert_eq(chook_uninstall((void *)fx_avx_rip), CHOOK_OK, "%s", chook_last_error());
        cr_assert_eq(memcmp(before, (const void *)fx_avx_rip, SNAP), 0);
    }
}

Test(fixtures_hook, endbr64_stays_at_the_entry)
{
    static const uint8_t endbr64[] = { 0xf3, 0x0f, 0x1e, 0xfa };
    cr_assert_eq(chook_install((void *)fx_endbr64, (void *)repl_int, (void **)&orig_int),
                 CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(memcmp((const void *)fx_endbr64, endbr64, 4), 0);
    cr_assert_eq(chook_uninstall((void *)fx_endbr64), CHOOK_OK);
}

/* ---- int64_t f(int64_t) ----------------------------------------------------------- */

static int64_t (*orig_i64)(int64_t);
static int64_t repl_i64(int64_t x)
{
    hits++;
    return orig_i64(x);
}

Test(fixtures_hook, rip_relative_mov)
{
    uint8_t before[SNAP];
    memcpy(before, (const void *)fx_rip_mov, SNAP);
    cr_assert_eq(fx_rip_mov(5), fx_qword + 5);
    cr_assert_eq(chook_install((void *)fx_rip_mov, (void *)repl_i64, (void **)&orig_i64),
                 CHOOK_OK, "%s", chook_last_error());
    for (int64_t x = -3; x <= 3; x++) {
        hits = 0;
        cr_assert_eq(fx_rip_mov(x), fx_qword + x);
        cr_assert_eq(hits, 1);
    }
    fx_qword = 42; /* the trampoline reads the variable, not a copy of it */
    cr_assert_eq(fx_rip_mov(1), 43);
    cr_assert_eq(chook_uninstall((void *)fx_rip_mov), CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(memcmp(before, (const void *)fx_rip_mov, SNAP), 0);
}

/* ---- int f(int, int, int, unsigned long): the count in rcx ------------------------ */

typedef int (*rcx_fn)(int, int, int, unsigned long);
static rcx_fn orig_rcx;
static int repl_rcx(int a, int b, int c, unsigned long n)
{
    hits++;
    return orig_rcx(a, b, c, n);
}

static void hook_rcx_fixture(rcx_fn fn, int (*ref)(int, unsigned long), unsigned long n_min)
{
    uint8_t before[SNAP];
    memcpy(before, (const void *)fn, SNAP);
    cr_assert_eq(chook_install((void *)fn, (void *)repl_rcx, (void **)&orig_rcx), CHOOK_OK,
                 "%s", chook_last_error());
    for (unsigned long n = n_min; n < 6; n++)
        for (int a = -2; a <= 2; a++) {
            hits = 0;
            cr_assert_eq(fn(a, 0, 0, n), ref(a, n), "f(%d, %lu)", a, n);
            cr_assert_eq(hits, 1);
        }
    cr_assert_eq(chook_uninstall((void *)fn), CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(memcmp(before, (const void *)fn, SNAP), 0);
    for (unsigned long n = n_min; n < 6; n++) cr_assert_eq(fn(3, 0, 0, n), ref(3, n));
}

static int ref_loop(int a, unsigned long n) { return a + 2 * (int)n; }
static int ref_jrcxz(int a, unsigned long n) { return n ? a + (int)n : -1; }

Test(fixtures_hook, loop_back_to_the_entry) { hook_rcx_fixture(fx_loop_prologue, ref_loop, 1); }
Test(fixtures_hook, jrcxz_in_prologue) { hook_rcx_fixture(fx_jrcxz, ref_jrcxz, 0); }

/* ---- what cannot be hooked ------------------------------------------------------- */

static void refused(void *fn, int status, const char *why)
{
    uint8_t before[SNAP];
    void *orig = NULL;
    memcpy(before, fn, SNAP);
    cr_assert_eq(chook_install(fn, (void *)repl_int, &orig), status, "got: %s",
                 chook_last_error());
    cr_assert(strstr(chook_last_error(), why), "message: %s", chook_last_error());
    cr_assert_null(orig);
    cr_assert_eq(memcmp(before, fn, SNAP), 0, "a refused install changed the bytes");
}

Test(fixtures_hook, too_short_without_padding)
{
    refused((void *)fx_short_no_padding, CHOOK_ETOOSHORT, "only 3 bytes");
    cr_assert_eq(fx_short_no_padding(9), 9);
}

Test(fixtures_hook, loop_back_into_the_prologue_is_a_branch_in)
{
    refused((void *)fx_backjump, CHOOK_EBRANCHIN, "jumps back into bytes 2..");
    cr_assert_eq(fx_backjump(3, 4), 12);
}

Test(fixtures_hook, cannot_relocate_call_pop)
{
    refused((void *)fx_call_pop, CHOOK_EUNRELOC, "'call' at +0 calls +5");
    cr_assert_eq(fx_call_pop(), (uintptr_t)fx_call_pop + 5);
}

Test(fixtures_hook, cannot_relocate_xbegin)
{
    refused((void *)fx_xbegin, CHOOK_EUNRELOC, "instruction 'xbegin' at +0 cannot be relocated");
}
