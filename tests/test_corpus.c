/*
 * Real code as a relocation corpus: every function of libc, libm and libz is
 * probed (by the chook-corpus tool, in its own process) with no crash and no
 * internal error; then every exported function of libz is hooked at once with a
 * generic pass-through replacement and a compress/uncompress round trip must still
 * match.
 */
#include <criterion/criterion.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <zlib.h>

#include "chook.h"
#include "fixtures/passthrough.h"

extern char **environ;

Test(corpus, probing_libc_libm_libz_has_no_crash_and_no_internal_error, .timeout = 240)
{
    char tool[512], out[] = "/tmp/chook-corpus-XXXXXX";
    snprintf(tool, sizeof tool, "%s/tools/chook-corpus", CHOOK_BINARY_DIR);
    int fd = mkstemp(out);
    cr_assert_geq(fd, 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd, 1);
    char *args[] = { tool, NULL };
    pid_t pid;
    cr_assert_eq(posix_spawn(&pid, tool, &fa, NULL, args, environ), 0, "cannot run %s", tool);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "chook-corpus crashed (signal %d)", WTERMSIG(status));

    FILE *f = fopen(out, "r");
    char line[512];
    int internal = -1, modules = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned symbols, hookable;
        char name[64];
        if (sscanf(line, "%63s %u %u", name, &symbols, &hookable) == 3 && strstr(name, ".so")) {
            modules++;
            cr_assert_gt(symbols, 50, "%s: too few functions probed", name);
            /* Most functions of real libraries must be hookable. */
            cr_assert_geq(hookable * 10, symbols * 8, "%s: only %u of %u hookable", name,
                          hookable, symbols);
        }
        sscanf(line, "internal errors: %d", &internal);
    }
    if (f) fclose(f);
    unlink(out);
    cr_assert_eq(modules, 3);
    cr_assert_eq(internal, 0);
    cr_assert_eq(WEXITSTATUS(status), 0);
}

struct zfuncs { void *addr[PASSTHROUGH_COUNT]; const char *name[PASSTHROUGH_COUNT]; unsigned n; };

static int collect(const chook_symbol *sym, void *data)
{
    struct zfuncs *z = data;
    if (!(sym->flags & CHOOK_SYMBOL_EXPORTED)) return 0;
    for (unsigned i = 0; i < z->n; i++)
        if (z->addr[i] == sym->address) return 0; /* aliases */
    chook_probe_info info;
    chook_probe(sym->address, &info);
    if (info.status != CHOOK_OK || z->n == PASSTHROUGH_COUNT) return 0;
    z->addr[z->n] = sym->address;
    z->name[z->n] = sym->name;
    z->n++;
    return 0;
}

static void round_trip(void)
{
    static unsigned char src[65536], packed[70000], back[65536];
    for (size_t i = 0; i < sizeof src; i++) src[i] = (unsigned char)((i * 7919) >> 5);
    uLongf plen = sizeof packed, blen = sizeof back;
    cr_assert_eq(compress2(packed, &plen, src, sizeof src, 6), Z_OK);
    cr_assert_eq(uncompress(back, &blen, packed, plen), Z_OK);
    cr_assert_eq(blen, sizeof src);
    cr_assert_arr_eq(src, back, sizeof src);
}

Test(corpus, every_exported_libz_function_hooked_at_once_keeps_a_round_trip_exact,
     .timeout = 120)
{
    static struct zfuncs z;
    round_trip();
    cr_assert_eq(chook_symbol_each("libz.so*:*", collect, &z), CHOOK_OK, "%s",
                 chook_last_error());
    cr_assert_gt(z.n, 60, "only %u libz functions", z.n);

    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    for (unsigned i = 0; i < z.n; i++)
        cr_assert_eq(chook_install(z.addr[i], passthrough_thunk(i), &passthrough_originals[i]),
                     CHOOK_OK, "%s: %s", z.name[i], chook_last_error());
    cr_assert_eq(chook_transaction_commit(), CHOOK_OK, "%s", chook_last_error());

    round_trip();
    unsigned seen = 0;
    for (unsigned i = 0; i < z.n; i++) {
        if (!strcmp(z.name[i], "compress2") || !strcmp(z.name[i], "deflate") ||
            !strcmp(z.name[i], "uncompress") || !strcmp(z.name[i], "inflate")) {
            cr_assert_gt(passthrough_counts[i], 0, "%s was not called through its hook",
                         z.name[i]);
            seen++;
        }
    }
    cr_assert_eq(seen, 4);

    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    for (unsigned i = 0; i < z.n; i++) cr_assert_eq(chook_uninstall(z.addr[i]), CHOOK_OK);
    cr_assert_eq(chook_transaction_commit(), CHOOK_OK, "%s", chook_last_error());
    uint64_t before = passthrough_counts[0];
    round_trip();
    cr_assert_eq(passthrough_counts[0], before);
}

/* Runs chook-corpus with ARGS; returns its exit status, its output in out. */
static int run_corpus(const char *args, char *out, size_t outlen)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/tools/chook-corpus %s 2>&1", CHOOK_BINARY_DIR, args);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, outlen - 1, p);
    out[n] = 0;
    int status = pclose(p);
    cr_assert(WIFEXITED(status), "chook-corpus %s: crashed", args);
    return WEXITSTATUS(status);
}

Test(corpus, the_tool_has_help_and_version_and_refuses_unknown_options)
{
    char out[4096];
    cr_assert_eq(run_corpus("--help", out, sizeof out), 0);
    cr_expect(strstr(out, "usage: chook-corpus [-v]") && strstr(out, "--version"), "%s", out);
    cr_expect(!strstr(out, "cannot load"), "--help was taken as a library: %s", out);
    cr_assert_eq(run_corpus("-h", out, sizeof out), 0);
    cr_expect(strstr(out, "usage:"), "%s", out);
    cr_assert_eq(run_corpus("--version", out, sizeof out), 0);
    cr_expect(strncmp(out, "chook-corpus ", 13) == 0 && strchr("0123456789", out[13]), "%s", out);
    cr_assert_eq(run_corpus("--frobnicate", out, sizeof out), 2);
    cr_expect(strstr(out, "unknown option '--frobnicate'"), "%s", out);
    cr_assert_eq(run_corpus("-- no-such-library.so.9", out, sizeof out), 1);
    cr_expect(strstr(out, "cannot load no-such-library.so.9"), "%s", out);
}
