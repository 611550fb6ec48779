/*
 * chook-trace: runs a program with the chook-trace agent preloaded and reports
 * what the chosen functions did (a summary table, or a live call log).
 *
 *   chook-trace [options] -- PROGRAM [ARGS...]
 *
 * This launcher checks the options and the program, hands the options to the
 * agent through the environment, runs the program and waits for it; the agent
 * (tools/trace/agent.c) does the tracing inside the program. See --help.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trace/trace_common.h"

#ifndef CHOOK_VERSION
#define CHOOK_VERSION "unknown"
#endif
#ifndef CHOOK_TRACE_AGENT_REL
#define CHOOK_TRACE_AGENT_REL "../lib/chook/libchook-trace-agent.so"
#endif
#define AGENT_NAME "libchook-trace-agent.so"

static const char usage_text[] =
"Usage: chook-trace [OPTIONS] [--] PROGRAM [ARGS...]\n"
"\n"
"Runs PROGRAM with the chook-trace agent preloaded, hooks the functions chosen by\n"
"the patterns while the program starts (before main), and reports what they did.\n"
"\n"
"Choosing functions:\n"
"  -f, --function=PATTERN   Trace the functions PATTERN matches; may be repeated.\n"
"                           PATTERN is MODULE:SYMBOL with fnmatch(3) globs, e.g.\n"
"                           'libc.so.6:open*', 'libz.so.1:*', 'prog:parse_*'.\n"
"                           MODULE is a path, file name or soname, also without\n"
"                           version numbers ('libz.so'); an empty MODULE (':foo')\n"
"                           is the program itself; SYMBOL alone searches every\n"
"                           module. The program's own functions include its local\n"
"                           (static) ones from .symtab or its debug file; libraries\n"
"                           give their exported functions only (see -a). A plain\n"
"                           name also finds the compiler's clones of it (foo finds\n"
"                           foo.constprop.0, foo.isra.0, foo.part.0), which are\n"
"                           each traced and named; cold parts (foo.cold) are not.\n"
"                           Default when neither -f nor -P is given: ':*', every\n"
"                           function of the program.\n"
"  -x, --exclude=PATTERN    Leave out the functions whose name matches (a glob on\n"
"                           the symbol name; a MODULE: prefix is accepted and\n"
"                           ignored); may be repeated. A clone is left out when\n"
"                           its name or its base name matches.\n"
"  -P, --point=NAME         Trace the compiled-in hook point NAME (chook_point.h).\n"
"  -a, --all-symbols        Libraries too give their local and hidden functions\n"
"                           (all of libc's internals once its debug file is\n"
"                           installed).\n"
"      --list               Print the functions that would be traced and exit;\n"
"                           the program's main does not run.\n"
"\n"
"Summary mode (the default):\n"
"  Per function: calls, total time, self time (total minus traced callees), min,\n"
"  avg, max and p99 (from a bounded histogram, within 12.5%%). Printed when the\n"
"  program exits (exit, _exit or return from main), on SIGINT (Ctrl-C: the\n"
"  program is ended, as without chook-trace) and on SIGUSR1 (the program goes\n"
"  on). Functions that never return (exit, abort...) are counted at entry.\n"
"      --per-thread         One row per function and thread.\n"
"      --sort=KEY           total (default), self, calls, avg, max or name.\n"
"      --json               One JSON object per report instead of the table.\n"
"\n"
"Log mode:\n"
"  -l, --log                One line per call: seconds since start, thread id,\n"
"                           indentation by call depth, arguments and return\n"
"                           value, duration. A call with traced callees opens a\n"
"                           '{' line and is closed by '} /* name */ = value'.\n"
"  -s, --signature=SIG      How to print a function's arguments and return value:\n"
"                           NAME(TYPE,...)->TYPE, e.g. 'open(s,flags,mode)->fd',\n"
"                           'malloc(zu)->p'. Types: i d (int), l (long), u\n"
"                           (unsigned), zu (size_t), zd (ssize_t), x (hex), p\n"
"                           (pointer), s (string), c (char), f (double), fd,\n"
"                           flags (open flags), mode (octal), v (void return).\n"
"                           Common libc and zlib functions have built-in\n"
"                           signatures; -s replaces them. Without one, no\n"
"                           arguments are shown and the return value is hex.\n"
"\n"
"Common:\n"
"  -o, --output=FILE        Write the report or the log to FILE (appended to)\n"
"                           instead of standard error.\n"
"  -F, --follow-fork        Also trace child processes (fork, and programs they\n"
"                           exec); each process reports on its own, with its pid.\n"
"                           Without it, children run untraced.\n"
"  -q, --quiet              Do not list the functions that cannot be traced (for\n"
"                           glob patterns) or the clones traced.\n"
"      --agent=PATH         The agent library to preload (default: found next to\n"
"                           chook-trace, or in ../lib/chook/ from it).\n"
"  -h, --help               This help.\n"
"  -V, --version            chook-trace's version.\n"
"\n"
"Exit status: the program's own; 128+N when a signal N ended it; 2 when\n"
"chook-trace could not trace it: bad options, a program that is missing, static\n"
"(LD_PRELOAD cannot load the agent) or set-user-ID/set-group-ID (the loader\n"
"ignores LD_PRELOAD), a pattern that matches nothing, or functions that cannot be\n"
"hooked (the reason is printed); the program does not run then.\n"
"\n"
"Limits: functions are hooked in the modules loaded when the program starts\n"
"(libraries loaded later by dlopen are not traced); a function inlined into its\n"
"callers is only seen where it is called; attaching to a running process (-p)\n"
"is not supported.\n"
"\n"
"Examples:\n"
"  chook-trace -f 'libc.so.6:open*' -f 'libc.so.6:read' -- cat /etc/hostname\n"
"  chook-trace -l -f 'libc.so.6:malloc' -f 'libc.so.6:free' -- ls\n"
"  chook-trace -f ':parse_*' -x '*_debug' --sort=calls --json -o out.json -- ./prog\n";

static void usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "chook-trace: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'chook-trace --help'.\n");
    exit(TRACE_EXIT_USAGE);
}

/* The agent: --agent, $CHOOK_TRACE_AGENT, next to this executable, or where
 * make install puts it relative to the executable. */
static int find_agent(const char *given, char *out, size_t cap)
{
    if (!given) given = getenv("CHOOK_TRACE_AGENT");
    if (given) return strlen(given) < cap && realpath(given, out) ? 0 : -1;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return -1;
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (!slash) return -1;
    *slash = 0;
    const char *tries[] = { AGENT_NAME, "trace/" AGENT_NAME, CHOOK_TRACE_AGENT_REL };
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/%s", self, tries[i]);
        if (access(path, R_OK) == 0 && realpath(path, out)) return 0;
    }
    return -1;
}

/* PROGRAM as execvp would find it. */
static int find_program(const char *prog, char *out, size_t cap)
{
    if (strchr(prog, '/')) {
        snprintf(out, cap, "%s", prog);
        return access(out, F_OK) == 0 ? 0 : -1;
    }
    const char *path = getenv("PATH");
    if (!path) path = "/usr/local/bin:/usr/bin:/bin";
    char *copy = strdup(path);
    for (char *dir = strtok(copy, ":"); dir; dir = strtok(NULL, ":")) {
        snprintf(out, cap, "%s/%s", *dir ? dir : ".", prog);
        if (access(out, X_OK) == 0) {
            free(copy);
            return 0;
        }
    }
    free(copy);
    return -1;
}

/* Refuses what LD_PRELOAD cannot reach: static and set-ID programs. A script
 * ("#!") is run by its interpreter, which is checked instead. */
static void check_program(const char *path, int depth)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "chook-trace: %s: %s\n", path, strerror(errno));
        exit(TRACE_EXIT_USAGE);
    }
    if (!S_ISREG(st.st_mode) || access(path, X_OK) != 0) {
        fprintf(stderr, "chook-trace: %s: not an executable file\n", path);
        exit(TRACE_EXIT_USAGE);
    }
    if (((st.st_mode & S_ISUID) && st.st_uid != getuid()) ||
        ((st.st_mode & S_ISGID) && st.st_gid != getgid())) {
        fprintf(stderr, "chook-trace: %s is set-user-ID or set-group-ID: the dynamic loader "
                "ignores LD_PRELOAD for it, so it cannot be traced\n", path);
        exit(TRACE_EXIT_USAGE);
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    unsigned char head[512];
    ssize_t n = fd >= 0 ? read(fd, head, sizeof head) : -1;
    if (n >= 2 && head[0] == '#' && head[1] == '!' && depth == 0) {
        close(fd);
        char interp[256] = "";
        size_t i = 2, k = 0;
        while (i < (size_t)n && head[i] == ' ') i++;
        while (i < (size_t)n && head[i] != ' ' && head[i] != '\n' && k + 1 < sizeof interp)
            interp[k++] = (char)head[i++];
        interp[k] = 0;
        if (interp[0]) check_program(interp, 1);
        return;
    }
    if (n < (ssize_t)sizeof(Elf64_Ehdr) || memcmp(head, ELFMAG, SELFMAG) != 0) {
        if (fd >= 0) close(fd);
        fprintf(stderr, "chook-trace: %s: not an ELF program\n", path);
        exit(TRACE_EXIT_USAGE);
    }
    Elf64_Ehdr eh;
    memcpy(&eh, head, sizeof eh);
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64) {
        close(fd);
        fprintf(stderr, "chook-trace: %s: not an x86-64 program (the agent is)\n", path);
        exit(TRACE_EXIT_USAGE);
    }
    int dynamic = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) !=
            (ssize_t)sizeof ph)
            break;
        if (ph.p_type == PT_INTERP) dynamic = 1;
    }
    close(fd);
    if (!dynamic) {
        fprintf(stderr, "chook-trace: %s is statically linked: the agent cannot be loaded into "
                "it (LD_PRELOAD needs the dynamic loader)\n", path);
        exit(TRACE_EXIT_USAGE);
    }
}

struct optbuf {
    char *s;
    size_t n, cap;
};

static void opt_add(struct optbuf *b, const char *key, const char *value)
{
    if (strchr(value, '\n')) usage_error("option value must not contain a newline: %s", value);
    size_t need = strlen(key) + strlen(value) + 3;
    if (b->n + need >= b->cap) {
        b->cap = (b->cap + need) * 2;
        b->s = realloc(b->s, b->cap);
        if (!b->s) {
            perror("chook-trace");
            exit(TRACE_EXIT_USAGE);
        }
    }
    b->n += (size_t)sprintf(b->s + b->n, "%s=%s\n", key, value);
}

int main(int argc, char **argv)
{
    enum { O_PER_THREAD = 256, O_SORT, O_JSON, O_AGENT, O_LIST };
    static const struct option longs[] = {
        { "function", required_argument, 0, 'f' }, { "exclude", required_argument, 0, 'x' },
        { "point", required_argument, 0, 'P' },    { "signature", required_argument, 0, 's' },
        { "log", no_argument, 0, 'l' },            { "output", required_argument, 0, 'o' },
        { "follow-fork", no_argument, 0, 'F' },    { "all-symbols", no_argument, 0, 'a' },
        { "quiet", no_argument, 0, 'q' },          { "per-thread", no_argument, 0, O_PER_THREAD },
        { "sort", required_argument, 0, O_SORT },  { "json", no_argument, 0, O_JSON },
        { "agent", required_argument, 0, O_AGENT }, { "list", no_argument, 0, O_LIST },
        { "help", no_argument, 0, 'h' },           { "version", no_argument, 0, 'V' },
        { "pid", required_argument, 0, 'p' },      { 0, 0, 0, 0 },
    };
    struct optbuf b = { 0 };
    const char *agent_opt = NULL;
    int chosen = 0, c;
    while ((c = getopt_long(argc, argv, "+f:x:P:s:lo:Faqp:hV", longs, NULL)) != -1) {
        switch (c) {
        case 'f':
            opt_add(&b, "f", optarg);
            chosen = 1;
            break;
        case 'x': opt_add(&b, "x", optarg); break;
        case 'P':
            opt_add(&b, "P", optarg);
            chosen = 1;
            break;
        case 's': {
            char name[128], err[160];
            unsigned char args[16], ret;
            unsigned nargs;
            if (trace_parse_signature(optarg, name, sizeof name, args, &nargs, 16, &ret, err,
                                      sizeof err) != 0) {
                fprintf(stderr, "chook-trace: signature '%s': %s\n", optarg, err);
                return TRACE_EXIT_USAGE;
            }
            opt_add(&b, "s", optarg);
            break;
        }
        case 'l': opt_add(&b, "log", "1"); break;
        case 'o': {
            char abs[PATH_MAX];
            if (optarg[0] != '/' && getcwd(abs, sizeof abs - strlen(optarg) - 2)) {
                strcat(abs, "/");
                strcat(abs, optarg);
                opt_add(&b, "out", abs);
            } else {
                opt_add(&b, "out", optarg);
            }
            break;
        }
        case 'F': opt_add(&b, "follow", "1"); break;
        case 'a': opt_add(&b, "all", "1"); break;
        case 'q': opt_add(&b, "quiet", "1"); break;
        case O_PER_THREAD: opt_add(&b, "per-thread", "1"); break;
        case O_JSON: opt_add(&b, "json", "1"); break;
        case O_LIST: opt_add(&b, "list", "1"); break;
        case O_AGENT: agent_opt = optarg; break;
        case O_SORT:
            if (strcmp(optarg, "total") && strcmp(optarg, "self") && strcmp(optarg, "calls") &&
                strcmp(optarg, "avg") && strcmp(optarg, "max") && strcmp(optarg, "name"))
                usage_error("--sort: unknown key '%s' (total, self, calls, avg, max, name)",
                            optarg);
            opt_add(&b, "sort", optarg);
            break;
        case 'p':
            usage_error("-p %s: attaching to a running process is not supported; start the "
                        "program under chook-trace", optarg);
            break;
        case 'h': fputs(usage_text, stdout); return 0;
        case 'V': printf("chook-trace %s\n", CHOOK_VERSION); return 0;
        default: fprintf(stderr, "Try 'chook-trace --help'.\n"); return TRACE_EXIT_USAGE;
        }
    }
    if (optind >= argc) usage_error("%s", "no program to run (chook-trace [OPTIONS] -- PROGRAM)");
    if (!chosen) opt_add(&b, "f", ":*");
    char agent[PATH_MAX], prog[PATH_MAX];
    if (find_agent(agent_opt, agent, sizeof agent) != 0) {
        fprintf(stderr, "chook-trace: cannot find the agent %s (give --agent=PATH)\n",
                agent_opt ? agent_opt : AGENT_NAME);
        return TRACE_EXIT_USAGE;
    }
    if (find_program(argv[optind], prog, sizeof prog) != 0) {
        fprintf(stderr, "chook-trace: %s: program not found\n", argv[optind]);
        return TRACE_EXIT_USAGE;
    }
    check_program(prog, 0);

    int status_pipe[2];
    if (pipe2(status_pipe, O_CLOEXEC) != 0) {
        perror("chook-trace: pipe");
        return TRACE_EXIT_USAGE;
    }
    const char *pre = getenv("LD_PRELOAD");
    char *preload = malloc(strlen(agent) + (pre ? strlen(pre) : 0) + 2);
    sprintf(preload, "%s%s%s", agent, pre && *pre ? ":" : "", pre && *pre ? pre : "");

    /* Ctrl-C goes to the whole foreground group: the agent reports and the
     * program ends; chook-trace waits for it and passes its status on. */
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    pid_t pid = fork();
    if (pid < 0) {
        perror("chook-trace: fork");
        return TRACE_EXIT_USAGE;
    }
    if (pid == 0) {
        signal(SIGINT, SIG_DFL);
        signal(SIGQUIT, SIG_DFL);
        int fd = dup(status_pipe[1]); /* without O_CLOEXEC: the agent gets it */
        char fdtext[16];
        snprintf(fdtext, sizeof fdtext, "%d", fd);
        setenv(TRACE_ENV_STATUS, fdtext, 1);
        setenv(TRACE_ENV_OPTS, b.s, 1);
        setenv("LD_PRELOAD", preload, 1);
        execv(prog, argv + optind);
        fprintf(stderr, "chook-trace: %s: %s\n", prog, strerror(errno));
        _exit(TRACE_EXIT_ERROR);
    }
    close(status_pipe[1]);
    char st[32] = "";
    ssize_t n = 0, r;
    while ((r = read(status_pipe[0], st + n, sizeof st - 1 - (size_t)n)) > 0 ||
           (r < 0 && errno == EINTR))
        if (r > 0) n += r;
    st[n > 0 ? n : 0] = 0;
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    if (!st[0]) {
        if (WIFEXITED(ws) && WEXITSTATUS(ws) == TRACE_EXIT_ERROR) return TRACE_EXIT_USAGE;
        fprintf(stderr, "chook-trace: the agent was not loaded into %s: nothing was traced\n",
                prog);
        return TRACE_EXIT_USAGE;
    }
    int agent_status = atoi(st);
    if (agent_status == TRACE_ST_LISTED) return 0;
    if (agent_status != TRACE_ST_OK) return TRACE_EXIT_USAGE;
    if (WIFSIGNALED(ws)) return 128 + WTERMSIG(ws);
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : TRACE_EXIT_USAGE;
}
