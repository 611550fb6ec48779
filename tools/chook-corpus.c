/*
 * chook-corpus: probes every function symbol of some libraries and says how many
 * chook can hook, and why not for the others. A relocation corpus for the x86-64
 * back end: it decodes and relocates the entry of thousands of real functions.
 *
 *   chook-corpus [-v] [--] [LIBRARY...]     default: libc.so.6 libm.so.6 libz.so.1
 *   chook-corpus --help | --version
 *
 * Exit status: 0 when every symbol was probed with no internal error, 1 otherwise,
 * 2 for a bad command line.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <chook.h>

#define NSTATUS 32

struct tally {
    unsigned symbols, hookable, with_padding, endbr, far;
    unsigned by_status[NSTATUS];
    char example[NSTATUS][200];
    int verbose;
};

static int probe_one(const chook_symbol *sym, void *data)
{
    struct tally *t = data;
    chook_probe_info info;
    t->symbols++;
    if (chook_probe(sym->address, &info) != CHOOK_OK) {
        t->by_status[-CHOOK_EINTERNAL]++;
        return 0;
    }
    int st = info.status;
    unsigned idx = st <= 0 && -st < NSTATUS ? (unsigned)-st : (unsigned)-CHOOK_EINTERNAL;
    t->by_status[idx]++;
    if (st == CHOOK_OK) {
        t->hookable++;
        t->with_padding += info.padding_used > 0;
        t->endbr += info.skipped > 0;
        t->far += info.jump == CHOOK_JUMP_ABS64;
    } else {
        if (!t->example[idx][0])
            snprintf(t->example[idx], sizeof t->example[idx], "%s: %s", sym->name, info.reason);
        if (t->verbose) printf("    %-40s %s\n", sym->name, info.reason);
    }
    return 0;
}

static void usage(FILE *to)
{
    fputs("usage: chook-corpus [-v] [--] [LIBRARY...]\n"
          "Probes every function symbol of each LIBRARY (default: libc.so.6 libm.so.6\n"
          "libz.so.1) and says how many chook can hook, and why not for the others.\n"
          "\n"
          "  -v, --verbose  list every function that cannot be hooked, with the reason\n"
          "  -h, --help     print this help and exit\n"
          "  -V, --version  print the version and exit\n"
          "\n"
          "LIBRARY is a name or path as dlopen() takes it. Exit status: 0 when every\n"
          "symbol was probed, 1 on an internal error or a library that cannot be\n"
          "loaded, 2 for a bad command line.\n",
          to);
}

int main(int argc, char **argv)
{
    const char *defaults[] = { "libc.so.6", "libm.so.6", "libz.so.1" };
    const char **libs = defaults;
    int nlibs = 3, verbose = 0, internal = 0, first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        const char *a = argv[first];
        if (strcmp(a, "--") == 0) {
            first++;
            break;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            verbose = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            printf("chook-corpus %s (libchook %s)\n", CHOOK_VERSION_STRING,
                   chook_version_string());
            return 0;
        } else {
            fprintf(stderr, "chook-corpus: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (first < argc) {
        libs = (const char **)(argv + first);
        nlibs = argc - first;
    }
    printf("%-12s %8s %9s %7s  %s\n", "module", "symbols", "hookable", "share", "not hookable, by reason");
    for (int i = 0; i < nlibs; i++) {
        if (!dlopen(libs[i], RTLD_NOW | RTLD_GLOBAL)) {
            fprintf(stderr, "chook-corpus: cannot load %s: %s\n", libs[i], dlerror());
            return 1;
        }
        char pattern[256];
        snprintf(pattern, sizeof pattern, "%s:*", libs[i]);
        struct tally t;
        memset(&t, 0, sizeof t);
        t.verbose = verbose;
        if (verbose) printf("  %s:\n", libs[i]);
        int st = chook_symbol_each(pattern, probe_one, &t);
        if (st != CHOOK_OK) {
            fprintf(stderr, "chook-corpus: %s: %s\n", libs[i], chook_last_error());
            return 1;
        }
        printf("%-12s %8u %9u %6.1f%%  padding used: %u, endbr64 kept: %u, absolute jumps: %u\n",
               libs[i], t.symbols, t.hookable,
               t.symbols ? 100.0 * t.hookable / t.symbols : 0.0, t.with_padding, t.endbr, t.far);
        for (int s = 1; s < NSTATUS; s++) {
            if (!t.by_status[s]) continue;
            printf("%35s %-16.16s %5u  e.g. %s\n", "", chook_strerror(-s), t.by_status[s],
                   t.example[s]);
        }
        internal += (int)t.by_status[-CHOOK_EINTERNAL];
    }
    printf("internal errors: %d\n", internal);
    return internal ? 1 : 0;
}
