/*
 * chook-corpus: probes every function symbol of some libraries and says how many
 * chook can hook, and why not for the others. A relocation corpus for the x86-64
 * back end: it decodes and relocates the entry of thousands of real functions.
 *
 *   chook-corpus [-v] [--] [LIBRARY...]     default: libc.so.6 libm.so.6 libz.so.1
 *   chook-corpus --help | --version
 *
 * Refusals are counted by status, and for branches into the patch and targets
 * inside an instruction by their reason.
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

/* Reasons finer than a status, told apart by the words of the message. */
static const struct reason {
    int status;
    const char *words;
    const char *label;
} reasons[] = {
    { CHOOK_EBRANCHIN, "jumps back into bytes", "loop back into its first bytes" },
    { CHOOK_EBRANCHIN, "jumps back to the function's entry", "loop through its entry" },
    { CHOOK_EBRANCHIN, "), inside the bytes +", "jump from elsewhere into its first bytes" },
    { CHOOK_EDECODE, "not an instruction boundary", "inside an instruction" },
};
#define NREASONS (sizeof reasons / sizeof reasons[0])
#define NKINDS (NSTATUS + NREASONS)

struct tally {
    unsigned symbols, hookable, with_padding, endbr, far;
    unsigned by_kind[NKINDS]; /* [-status], then [NSTATUS + reason] */
    char example[NKINDS][200];
    int verbose;
};

/* Where a refusal is counted: its reason when one matches, else its status. */
static unsigned kind_of(int st, const char *why)
{
    for (unsigned r = 0; r < NREASONS; r++)
        if (reasons[r].status == st && strstr(why, reasons[r].words)) return NSTATUS + r;
    return st <= 0 && -st < NSTATUS ? (unsigned)-st : (unsigned)-CHOOK_EINTERNAL;
}

static int probe_one(const chook_symbol *sym, void *data)
{
    struct tally *t = data;
    chook_probe_info info;
    t->symbols++;
    if (chook_probe(sym->address, &info) != CHOOK_OK) {
        t->by_kind[-CHOOK_EINTERNAL]++;
        return 0;
    }
    int st = info.status;
    unsigned idx = kind_of(st, info.reason);
    t->by_kind[idx]++;
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
        for (unsigned k = 1; k < NKINDS; k++) {
            if (!t.by_kind[k]) continue;
            const char *status = chook_strerror(k < NSTATUS ? -(int)k : reasons[k - NSTATUS].status);
            int code_len = (int)(strchr(status, ':') ? strchr(status, ':') - status : 16);
            printf("%35s %-16.*s %5u  %s%se.g. %s\n", "", code_len, status, t.by_kind[k],
                   k < NSTATUS ? "" : reasons[k - NSTATUS].label, k < NSTATUS ? "" : "; ",
                   t.example[k]);
        }
        internal += (int)t.by_kind[-CHOOK_EINTERNAL];
    }
    printf("internal errors: %d\n", internal);
    return internal ? 1 : 0;
}
