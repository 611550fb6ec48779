/*
 * Interception without touching the source: callbacks around open() that read
 * its path argument, refuse one file (the original never runs), time every call,
 * and rewrite a result. A tracer or a security agent is built this way.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <chook/chook.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int on_enter(chook_call *call, void *data)
{
    const char *forbidden = data;
    const char *path = (const char *)*chook_arg(call, 0);   /* read an argument */
    if (strcmp(path, forbidden) == 0) {
        errno = EACCES;
        return chook_skip(call, (uintptr_t)-1);             /* open() does not run */
    }
    *chook_call_data(call) = now_ns();                      /* per-call state */
    return CHOOK_CONTINUE;
}

static void on_leave(chook_call *call, void *data)
{
    (void)data;
    long fd = (long)*chook_retval(call);
    if (chook_call_skipped(call)) {
        printf("  open refused by the listener (returns %ld)\n", fd);
        return;
    }
    printf("  open returned %ld after %llu ns\n", fd,
           (unsigned long long)(now_ns() - *chook_call_data(call)));
}

int main(void)
{
    static char forbidden[] = "/etc/chook-forbidden";
    chook_listener *l;
    int (*volatile open_fn)(const char *, int, ...) = open;
    if (chook_attach((void *)open, on_enter, on_leave, forbidden, &l) != CHOOK_OK) {
        fprintf(stderr, "chook_attach: %s\n", chook_last_error());
        return 1;
    }
    printf("open(\"/etc/hostname\"):\n");
    int fd = open_fn("/etc/hostname", O_RDONLY);
    if (fd >= 0) close(fd);
    printf("open(\"%s\"):\n", forbidden);
    fd = open_fn(forbidden, O_RDONLY);
    printf("  errno = %s\n", strerror(errno));
    chook_detach(l);
    printf("detached: open(\"/etc/hostname\") runs alone again\n");
    fd = open_fn("/etc/hostname", O_RDONLY);
    if (fd >= 0) close(fd);
    return 0;
}
