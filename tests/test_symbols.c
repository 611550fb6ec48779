/*
 * Modules and symbols by name: exported and local symbols, separate debug files,
 * IFUNCs, enumeration by pattern, and the errors for missing and ambiguous names.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "chook.h"
#include "internal.h"
#include "symbols.h"
#include "symlib.h"

/* Static functions of the test executable itself: only in its .symtab. */
__attribute__((noipa)) static int sym_exe_local(int x)
{
    __asm__ volatile("");
    return x * 7;
}

/* Same name as a static function of libsymlocal.so. */
__attribute__((noipa)) static int sym_dup_helper(int x)
{
    __asm__ volatile("");
    return x - 1000;
}

/* Keep both referenced so they exist. */
int (*volatile sym_keep[])(int) = { sym_exe_local, sym_dup_helper };

static void setup(void)
{
    chook__symtab_set_debug_root(CHOOK_SYMDEBUG_DIR);
}

TestSuite(symbols, .init = setup, .timeout = 60);

/* ---- modules -------------------------------------------------------------------- */

static int count_modules(const chook_module *m, void *data)
{
    int *seen = data;
    if (m->is_main) seen[0]++;
    if (strcmp(m->name, "libz.so.1") == 0 || strcmp(m->soname, "libz.so.1") == 0) seen[1]++;
    cr_expect(m->path != NULL && m->name != NULL && m->soname != NULL);
    cr_expect((uintptr_t)m->start < (uintptr_t)m->end, "module %s has an empty range", m->path);
    return 0;
}

Test(symbols, module_each_lists_main_program_first_and_linked_libraries)
{
    int seen[2] = { 0, 0 };
    cr_assert_eq(chook_module_each(count_modules, seen), CHOOK_OK);
    cr_expect_eq(seen[0], 1, "exactly one main program");
    cr_expect_eq(seen[1], 1, "libz is listed once");
}

Test(symbols, module_found_by_soname_file_name_path_and_versionless_name)
{
    const chook_module *by_soname, *by_short, *by_path;
    cr_assert_eq(chook_module_find("libz.so.1", &by_soname), CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(chook_module_find("libz.so", &by_short), CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(chook_module_find(by_soname->path, &by_path), CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(by_soname, by_short);
    cr_expect_eq(by_soname, by_path);

    Dl_info info;
    cr_assert(dladdr((void *)deflate, &info));
    cr_expect_eq(by_soname->base, info.dli_fbase, "base is the load bias of libz");

    const chook_module *main_prog;
    cr_assert_eq(chook_module_find("", &main_prog), CHOOK_OK);
    cr_expect_eq(main_prog->is_main, 1);
    cr_expect_str_eq(main_prog->name, "test_symbols");
}

Test(symbols, unknown_module_is_enomodule)
{
    const chook_module *m = NULL;
    cr_expect_eq(chook_module_find("libdoesnotexist.so", &m), CHOOK_ENOMODULE);
    cr_expect(strstr(chook_last_error(), "libdoesnotexist.so"), "%s", chook_last_error());
    cr_expect_eq(chook_module_find("libz.so.2", &m), CHOOK_ENOMODULE, "another version is not a match");
    void *addr;
    cr_expect_eq(chook_symbol_lookup("libdoesnotexist.so", "deflate", NULL, &addr), CHOOK_ENOMODULE);
}

Test(symbols, null_arguments_are_einval)
{
    const chook_module *m;
    cr_expect_eq(chook_module_find(NULL, &m), CHOOK_EINVAL);
    cr_expect_eq(chook_module_find("libz.so", NULL), CHOOK_EINVAL);
    cr_expect_eq(chook_module_each(NULL, NULL), CHOOK_EINVAL);
    cr_expect_eq(chook_symbol_lookup("libz.so", NULL, NULL, NULL), CHOOK_EINVAL);
    cr_expect_eq(chook_symbol_lookup("libz.so", "", NULL, NULL), CHOOK_EINVAL);
    cr_expect_eq(chook_symbol_each(NULL, (chook_symbol_fn)1, NULL), CHOOK_EINVAL);
    cr_expect_eq(chook_symbol_each("libz.so*:deflate", NULL, NULL), CHOOK_EINVAL);
    cr_expect_eq(chook_symbol_each("libz.so*:", (chook_symbol_fn)1, NULL), CHOOK_EINVAL);
}

/* ---- lookup ------------------------------------------------------------------------- */

Test(symbols, exported_function_of_libz_resolves_to_its_address)
{
    chook_symbol s;
    void *addr = NULL;
    cr_assert_eq(chook_symbol_lookup("libz.so.1", "deflate", &s, &addr), CHOOK_OK, "%s",
                 chook_last_error());
    cr_expect_eq(addr, dlsym(RTLD_DEFAULT, "deflate"));
    cr_expect_eq(s.address, addr);
    cr_expect_str_eq(s.name, "deflate");
    cr_expect(s.flags & CHOOK_SYMBOL_FUNCTION);
    cr_expect(s.flags & CHOOK_SYMBOL_EXPORTED);
    cr_expect_not(s.flags & (CHOOK_SYMBOL_LOCAL | CHOOK_SYMBOL_IFUNC));
    cr_expect_gt(s.size, 16, "deflate has its size");
    cr_expect_str_eq(s.module->soname, "libz.so.1");
    cr_expect_str_eq(zlibVersion(), ZLIB_VERSION);

    void *any = NULL;
    cr_assert_eq(chook_symbol_lookup(NULL, "deflate", NULL, &any), CHOOK_OK);
    cr_expect_eq(any, addr, "a module-less lookup finds the same definition");
}

Test(symbols, static_function_of_the_executable_is_found_in_symtab)
{
    chook_symbol s;
    cr_assert_eq(chook_symbol_lookup("", "sym_exe_local", &s, NULL), CHOOK_OK, "%s",
                 chook_last_error());
    cr_expect_eq(s.address, (void *)sym_exe_local);
    cr_expect(s.flags & CHOOK_SYMBOL_LOCAL);
    cr_expect_not(s.flags & CHOOK_SYMBOL_EXPORTED);
    cr_expect_gt(s.size, 0);
    cr_expect(s.module->is_main);
}

Test(symbols, static_function_of_a_library_is_found_in_symtab)
{
    void *addr = NULL;
    cr_assert_eq(chook_symbol_lookup("libsymlocal.so", "sym_lib_local", NULL, &addr), CHOOK_OK,
                 "%s", chook_last_error());
    int (*fn)(int) = (int (*)(int))addr;
    cr_expect_eq(fn(4), 13, "the address found runs the static function");
    cr_expect_eq(symlocal_call_local(4), 13);
}

Test(symbols, static_function_of_a_stripped_library_is_found_in_its_debug_file)
{
    chook_symbol s;
    cr_assert_eq(chook_symbol_lookup("libsymstripped.so", "sym_stripped_local", &s, NULL),
                 CHOOK_OK, "%s", chook_last_error());
    cr_expect(s.flags & CHOOK_SYMBOL_DEBUG);
    cr_expect(s.flags & CHOOK_SYMBOL_LOCAL);
    int (*fn)(int) = (int (*)(int))s.address;
    cr_expect_eq(fn(3), 17);
    cr_expect_eq(symstripped_call_local(3), 17);
}

Test(symbols, static_function_of_a_library_without_build_id_is_found_by_debuglink)
{
    chook_symbol s;
    cr_assert_eq(chook_symbol_lookup("libsymdebuglink.so", "sym_linked_local", &s, NULL),
                 CHOOK_OK, "%s", chook_last_error());
    cr_expect(s.flags & CHOOK_SYMBOL_DEBUG);
    cr_expect_eq(((int (*)(int))s.address)(2), 22);
    cr_expect_eq(symdebuglink_call_local(2), 22);
}

Test(symbols, vdso_symbols_are_read_from_memory)
{
    chook_symbol s;
    cr_assert_eq(chook_symbol_lookup("linux-vdso.so.1", "__vdso_clock_gettime", &s, NULL),
                 CHOOK_OK, "%s", chook_last_error());
    cr_expect(s.flags & CHOOK_SYMBOL_EXPORTED);
    cr_expect_str_eq(s.module->name, "linux-vdso.so.1");
    cr_expect_eq(s.module->soname[0] != '\0', 1, "its soname is read from memory too");
    struct timespec a, b;
    int (*gettime)(clockid_t, struct timespec *) = (int (*)(clockid_t, struct timespec *))s.address;
    cr_assert_eq(clock_gettime(CLOCK_MONOTONIC, &a), 0);
    cr_assert_eq(gettime(CLOCK_MONOTONIC, &b), 0, "the address found runs the vDSO function");
    cr_expect(b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec));
}

Test(symbols, stripped_library_without_its_debug_file_says_what_was_searched)
{
    chook__symtab_set_debug_root(CHOOK_SYMDEBUG_DIR "/nowhere");
    void *addr;
    cr_expect_eq(chook_symbol_lookup("libsymstripped.so", "sym_stripped_local", NULL, &addr),
                 CHOOK_ENOSYM);
    cr_expect(strstr(chook_last_error(), ".dynsym only"), "%s", chook_last_error());
    cr_expect_eq(chook_symbol_lookup("libsymstripped.so", "symstripped_call_local", NULL, &addr),
                 CHOOK_OK, "exported symbols need no debug file");
}

Test(symbols, missing_symbol_is_enosym_naming_it)
{
    void *addr = (void *)1;
    cr_expect_eq(chook_symbol_lookup("libz.so.1", "no_such_function_here", NULL, &addr),
                 CHOOK_ENOSYM);
    cr_expect(strstr(chook_last_error(), "no_such_function_here"), "%s", chook_last_error());
    cr_expect_eq(addr, (void *)1, "nothing is written on failure");
    cr_expect_eq(chook_symbol_lookup(NULL, "no_such_function_here", NULL, &addr), CHOOK_ENOSYM);
}

Test(symbols, several_local_symbols_of_one_name_are_ambiguous_and_listed)
{
    void *addr = NULL;
    cr_assert_eq(chook_symbol_lookup(NULL, "sym_dup_helper", NULL, &addr), CHOOK_EAMBIGUOUS);
    /* A copy: the successful lookups below clear chook_last_error(). */
    char msg[512];
    snprintf(msg, sizeof(msg), "%s", chook_last_error());
    char exe[32], lib[32];
    snprintf(exe, sizeof(exe), "%p", (void *)sym_dup_helper);
    cr_expect(strstr(msg, "test_symbols at ") && strstr(msg, exe), "%s", msg);
    cr_expect(strstr(msg, "libsymlocal.so at "), "%s", msg);

    /* Naming the module resolves it. */
    cr_assert_eq(chook_symbol_lookup("", "sym_dup_helper", NULL, &addr), CHOOK_OK);
    cr_expect_eq(addr, (void *)sym_dup_helper);
    cr_assert_eq(chook_symbol_lookup("libsymlocal.so", "sym_dup_helper", NULL, &addr), CHOOK_OK);
    cr_expect_eq(((int (*)(int))addr)(1), 1001);
    snprintf(lib, sizeof(lib), "%p", addr);
    cr_expect(strstr(msg, lib), "the message lists %s: %s", lib, msg);
}

/* ---- IFUNC ---------------------------------------------------------------------------- */

static void check_ifunc(const char *name)
{
    chook_symbol s;
    cr_assert_eq(chook_symbol_lookup("libc.so.6", name, &s, NULL), CHOOK_OK, "%s",
                 chook_last_error());
    cr_expect(s.flags & CHOOK_SYMBOL_IFUNC, "%s is an IFUNC in glibc", name);
    cr_assert_not_null(s.resolver);
    cr_expect_neq(s.address, s.resolver, "%s resolves past its resolver", name);
    /* The reference: run the resolver as the dynamic linker does for this CPU. */
    void *selected = ((void *(*)(void))s.resolver)();
    cr_expect_eq(s.address, selected, "%s: the implementation selected for this CPU", name);
    /* The implementation is code of libc. */
    Dl_info info;
    cr_assert(dladdr(s.address, &info));
    cr_expect(strstr(info.dli_fname, "libc.so"), "%s", info.dli_fname);
}

Test(symbols, ifunc_resolves_to_the_selected_implementation)
{
    check_ifunc("strlen");
    check_ifunc("memcpy");
}

Test(symbols, extent_of_a_static_function_comes_from_the_debug_file_when_stripped)
{
    void *addr = NULL;
    cr_assert_eq(chook_symbol_lookup("libsymstripped.so", "sym_stripped_local", NULL, &addr),
                 CHOOK_OK, "%s", chook_last_error());
    uintptr_t start, next;
    size_t size;
    cr_assert(chook__symbol_extent((uintptr_t)addr + 2, &start, &size, &next));
    cr_expect_eq(start, (uintptr_t)addr);
    cr_expect_gt(size, 2);
}

/* ---- enumeration ------------------------------------------------------------------- */

typedef struct found {
    int deflate, deflate_end, other, bad;
    size_t count;
} found;

static int on_zlib(const chook_symbol *s, void *data)
{
    found *f = data;
    f->count++;
    if (strncmp(s->name, "deflate", 7) != 0) f->other++;
    if (!(s->flags & CHOOK_SYMBOL_FUNCTION) || strcmp(s->module->soname, "libz.so.1") != 0)
        f->bad++;
    if (strcmp(s->name, "deflate") == 0 && s->address == dlsym(RTLD_DEFAULT, "deflate") &&
        s->size > 0)
        f->deflate++;
    if (strcmp(s->name, "deflateEnd") == 0 && s->address == dlsym(RTLD_DEFAULT, "deflateEnd"))
        f->deflate_end++;
    return 0;
}

Test(symbols, each_with_module_and_symbol_glob_lists_matching_functions)
{
    found f = { 0 };
    cr_assert_eq(chook_symbol_each("libz.so*:deflate*", on_zlib, &f), CHOOK_OK, "%s",
                 chook_last_error());
    cr_expect_eq(f.deflate, 1);
    cr_expect_eq(f.deflate_end, 1);
    cr_expect_eq(f.other, 0, "only names matching deflate*");
    cr_expect_eq(f.bad, 0, "only functions of libz");
    cr_expect_geq(f.count, 10, "zlib has a dozen deflate* functions");
}

static int stop_at_first(const chook_symbol *s, void *data)
{
    (void)s;
    (*(int *)data)++;
    return 1;
}

Test(symbols, each_stops_when_the_callback_says_so)
{
    int calls = 0;
    cr_assert_eq(chook_symbol_each("libz.so*:*", stop_at_first, &calls), CHOOK_OK);
    cr_expect_eq(calls, 1);
}

static int find_local(const chook_symbol *s, void *data)
{
    if (s->address == (void *)sym_exe_local && (s->flags & CHOOK_SYMBOL_LOCAL)) (*(int *)data)++;
    return 0;
}

Test(symbols, each_includes_local_functions_and_the_main_program)
{
    int hits = 0;
    cr_assert_eq(chook_symbol_each(":sym_exe_*", find_local, &hits), CHOOK_OK);
    cr_expect_eq(hits, 1);
    hits = 0;
    cr_assert_eq(chook_symbol_each("sym_exe_local", find_local, &hits), CHOOK_OK,
                 "no module part: every module");
    cr_expect_eq(hits, 1);
}

Test(symbols, each_without_a_match_says_which_part_failed)
{
    int calls = 0;
    cr_expect_eq(chook_symbol_each("libnothing*.so:*", stop_at_first, &calls), CHOOK_ENOMODULE);
    cr_expect_eq(chook_symbol_each("libz.so*:zz_no_such_*", stop_at_first, &calls), CHOOK_ENOSYM);
    cr_expect(strstr(chook_last_error(), "zz_no_such_"), "%s", chook_last_error());
    cr_expect_eq(calls, 0);
}

/* ---- extents for the core ---------------------------------------------------------- */

Test(symbols, extent_of_a_static_function_gives_its_size_and_successor)
{
    uintptr_t start = 0, next = 0;
    size_t size = 0;
    uintptr_t inside = (uintptr_t)sym_exe_local + 1;
    cr_assert(chook__symbol_extent(inside, &start, &size, &next));
    cr_expect_eq(start, (uintptr_t)sym_exe_local);
    cr_expect_gt(size, 1);
    cr_expect(next == 0 || next >= start + size, "the next symbol starts after this one");
    cr_expect_not(chook__symbol_extent((uintptr_t)&sym_keep, &start, &size, &next),
                  "data is not a function");
}
