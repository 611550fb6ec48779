/*
 * What chook-trace and its agent share: the environment they talk through, the
 * agent's status codes, and the signature language of -s.
 *
 * Signature: NAME(TYPE,TYPE,...)->TYPE, e.g. "open(s,flags,mode)->fd". Types:
 *   i d   int            l      long            u     unsigned int
 *   zu    size_t         zd     ssize_t         x     hexadecimal
 *   p     pointer        s      C string        c     char
 *   f     double (floating-point register)      fd    file descriptor
 *   flags open(2) flags  mode   octal mode      v     void (return only)
 */
#ifndef CHOOK_TRACE_COMMON_H
#define CHOOK_TRACE_COMMON_H

#include <stdio.h>
#include <string.h>

#define TRACE_ENV_OPTS "CHOOK_TRACE_OPTS"
#define TRACE_ENV_STATUS "CHOOK_TRACE_STATUS_FD"

/* What the agent tells chook-trace once set up (before main runs). */
enum {
    TRACE_ST_OK = 0,      /* tracing */
    TRACE_ST_USAGE = 1,   /* bad option value (signature, output file) */
    TRACE_ST_NOMATCH = 3, /* a pattern or point matches nothing */
    TRACE_ST_HOOK = 4,    /* nothing of a pattern can be hooked, or the engine failed */
    TRACE_ST_LISTED = 5,  /* --list: printed the functions, the program did not run */
};
/* Exit status of the traced program when the agent stops it before main. */
#define TRACE_EXIT_ERROR 127
/* chook-trace's own exit status for its errors (usage, setup, agent). */
#define TRACE_EXIT_USAGE 2

enum {
    T_NONE = 0, T_INT, T_LONG, T_UINT, T_SIZE, T_SSIZE, T_HEX, T_PTR, T_STR, T_CHAR, T_DBL,
    T_FD, T_FLAGS, T_MODE, T_VOID,
};

static inline int trace_type(const char *s, size_t n)
{
    static const struct { const char *name; int type; } types[] = {
        { "i", T_INT },     { "d", T_INT },    { "l", T_LONG },   { "u", T_UINT },
        { "zu", T_SIZE },   { "zd", T_SSIZE }, { "x", T_HEX },    { "p", T_PTR },
        { "s", T_STR },     { "c", T_CHAR },   { "f", T_DBL },    { "fd", T_FD },
        { "flags", T_FLAGS }, { "mode", T_MODE }, { "v", T_VOID },
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strlen(types[i].name) == n && !strncmp(types[i].name, s, n)) return types[i].type;
    return T_NONE;
}

/* Parses "name(a,b)->r" (the "->r" may be left out: hexadecimal). Returns 0, or
 * -1 with a message in err. */
static inline int trace_parse_signature(const char *text, char *name, size_t name_cap,
                                        unsigned char *args, unsigned *nargs, unsigned max_args,
                                        unsigned char *ret, char *err, size_t err_cap)
{
    const char *open = strchr(text, '('), *close = open ? strchr(open, ')') : NULL;
    if (!open || !close || open == text) {
        snprintf(err, err_cap, "expected NAME(TYPES)->TYPE");
        return -1;
    }
    snprintf(name, name_cap, "%.*s", (int)(open - text), text);
    *nargs = 0;
    const char *p = open + 1;
    while (p < close) {
        const char *e = p;
        while (e < close && *e != ',') e++;
        while (p < e && *p == ' ') p++;
        size_t n = (size_t)(e - p);
        while (n && p[n - 1] == ' ') n--;
        int t = trace_type(p, n);
        if (!n && e == close && *nargs == 0) break; /* "f()" */
        if (t == T_NONE || t == T_VOID) {
            snprintf(err, err_cap, "unknown argument type '%.*s' (types: i d l u zu zd x p s c f "
                     "fd flags mode)", (int)n, p);
            return -1;
        }
        if (*nargs >= max_args) {
            snprintf(err, err_cap, "more than %u arguments", max_args);
            return -1;
        }
        args[(*nargs)++] = (unsigned char)t;
        p = e < close ? e + 1 : e;
    }
    *ret = T_HEX;
    const char *r = close + 1;
    if (*r) {
        if (r[0] != '-' || r[1] != '>') {
            snprintf(err, err_cap, "expected '->' after ')'");
            return -1;
        }
        int t = trace_type(r + 2, strlen(r + 2));
        if (t == T_NONE) {
            snprintf(err, err_cap, "unknown return type '%s'", r + 2);
            return -1;
        }
        *ret = (unsigned char)t;
    }
    return 0;
}

/* Signatures known without -s. */
static const char *const trace_builtin_signatures[] = {
    "open(s,flags,mode)->fd", "open64(s,flags,mode)->fd", "openat(fd,s,flags,mode)->fd",
    "openat64(fd,s,flags,mode)->fd", "creat(s,mode)->fd", "close(fd)->i",
    "read(fd,p,zu)->zd", "write(fd,p,zu)->zd", "pread64(fd,p,zu,l)->zd",
    "pwrite64(fd,p,zu,l)->zd", "lseek(fd,l,i)->l", "dup(fd)->fd", "dup2(fd,fd)->fd",
    "pipe(p)->i", "unlink(s)->i", "rename(s,s)->i", "mkdir(s,mode)->i", "rmdir(s)->i",
    "chdir(s)->i", "access(s,i)->i", "stat(s,p)->i", "lstat(s,p)->i", "fstat(fd,p)->i",
    "malloc(zu)->p", "calloc(zu,zu)->p", "realloc(p,zu)->p", "free(p)->v",
    "reallocarray(p,zu,zu)->p", "posix_memalign(p,zu,zu)->i", "aligned_alloc(zu,zu)->p",
    "strlen(s)->zu", "strcmp(s,s)->i", "strncmp(s,s,zu)->i", "strcasecmp(s,s)->i",
    "strcpy(p,s)->p", "strncpy(p,s,zu)->p", "strcat(p,s)->p", "strchr(s,c)->p",
    "strrchr(s,c)->p", "strstr(s,s)->p", "strdup(s)->s", "strndup(s,zu)->s",
    "memcpy(p,p,zu)->p", "memmove(p,p,zu)->p", "memset(p,c,zu)->p", "memcmp(p,p,zu)->i",
    "memchr(p,c,zu)->p", "atoi(s)->i", "atol(s)->l", "strtol(s,p,i)->l",
    "strtoul(s,p,i)->zu", "getenv(s)->s", "setenv(s,s,i)->i", "puts(s)->i",
    "fputs(s,p)->i", "printf(s)->i", "fprintf(p,s)->i", "sprintf(p,s)->i",
    "snprintf(p,zu,s)->i", "fopen(s,s)->p", "fopen64(s,s)->p", "fdopen(fd,s)->p",
    "fclose(p)->i", "fflush(p)->i", "fread(p,zu,zu,p)->zu", "fwrite(p,zu,zu,p)->zu",
    "fgets(p,i,p)->p", "fputc(c,p)->i", "putchar(c)->i", "getc(p)->i", "fgetc(p)->i",
    "getline(p,p,p)->zd", "mmap(p,zu,i,i,fd,l)->p", "mmap64(p,zu,i,i,fd,l)->p",
    "munmap(p,zu)->i", "mprotect(p,zu,i)->i", "exit(i)->v", "_exit(i)->v",
    "qsort(p,zu,zu,p)->v", "bsearch(p,p,zu,zu,p)->p", "sleep(u)->u", "usleep(u)->i",
    "getpid()->i", "fork()->i", "execve(s,p,p)->i", "execvp(s,p)->i", "waitpid(i,p,i)->i",
    "kill(i,i)->i", "signal(i,p)->p", "socket(i,i,i)->fd", "connect(fd,p,u)->i",
    "bind(fd,p,u)->i", "listen(fd,i)->i", "accept(fd,p,p)->fd", "send(fd,p,zu,i)->zd",
    "recv(fd,p,zu,i)->zd", "dlopen(s,i)->p", "dlsym(p,s)->p", "dlclose(p)->i",
    "pthread_create(p,p,p,p)->i", "pthread_join(zu,p)->i", "pthread_mutex_lock(p)->i",
    "pthread_mutex_unlock(p)->i", "sqrt(f)->f", "sin(f)->f", "cos(f)->f", "exp(f)->f",
    "log(f)->f", "pow(f,f)->f", "deflate(p,i)->i", "inflate(p,i)->i",
    "compress(p,p,p,zu)->i", "uncompress(p,p,p,zu)->i", "gzopen(s,s)->p",
    "gzwrite(p,p,u)->i", "gzread(p,p,u)->i", "gzclose(p)->i",
    NULL,
};

#endif /* CHOOK_TRACE_COMMON_H */
