/*
 * chook loaded late: a program that does not link libchook dlopen()s it (as an
 * agent injected into a running program is), then hooks one of its functions and
 * attaches a listener to another, through the symbols dlsym() finds.
 *
 *   late_dlopen PATH_TO_LIBCHOOK     exit status 0 when every step worked
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdint.h>

/* The prototypes of chook.h, as pointers (nothing of chook is linked). */
typedef int (*install_fn)(void *, void *, void **);
typedef int (*uninstall_fn)(void *);
typedef int (*attach_fn)(void *, int (*)(void *, void *), void (*)(void *, void *), void *,
                         void **);
typedef int (*detach_fn)(void *);
typedef const char *(*last_error_fn)(void);

__attribute__((noipa)) int late_target(int x)
{
    return x + 1;
}

__attribute__((noipa)) int late_listened(int x)
{
    return x * 2;
}

static int (*orig_target)(int);
static int late_replacement(int x)
{
    return orig_target(x) * 100;
}

static int enters;
static int on_enter(void *call, void *data)
{
    (void)call;
    (void)data;
    enters++;
    return 0;
}

#define STEP(cond, ...)                                                        \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "late_dlopen: " __VA_ARGS__);                      \
            fputc('\n', stderr);                                               \
            return 1;                                                          \
        }                                                                      \
    } while (0)

int main(int argc, char **argv)
{
    STEP(argc == 2, "usage: late_dlopen PATH_TO_LIBCHOOK");
    STEP(!dlsym(RTLD_DEFAULT, "chook_install"), "libchook is loaded already");
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    STEP(lib, "dlopen: %s", dlerror());
    install_fn install = (install_fn)(uintptr_t)dlsym(lib, "chook_install");
    uninstall_fn uninstall = (uninstall_fn)(uintptr_t)dlsym(lib, "chook_uninstall");
    attach_fn attach = (attach_fn)(uintptr_t)dlsym(lib, "chook_attach");
    detach_fn detach = (detach_fn)(uintptr_t)dlsym(lib, "chook_detach");
    last_error_fn last_error = (last_error_fn)(uintptr_t)dlsym(lib, "chook_last_error");
    STEP(install && uninstall && attach && detach && last_error, "missing symbols");

    STEP(install((void *)(uintptr_t)late_target, (void *)(uintptr_t)late_replacement,
                 (void **)&orig_target) == 0, "chook_install: %s", last_error());
    STEP(late_target(1) == 200, "the hook did not run (%d)", late_target(1));
    STEP(uninstall((void *)(uintptr_t)late_target) == 0, "chook_uninstall: %s", last_error());
    STEP(late_target(1) == 2, "the original is not back");

    void *listener = NULL;
    STEP(attach((void *)(uintptr_t)late_listened, on_enter, NULL, NULL, &listener) == 0,
         "chook_attach: %s", last_error());
    STEP(late_listened(3) == 6 && enters == 1, "the listener did not run (%d)", enters);
    STEP(detach(listener) == 0, "chook_detach: %s", last_error());
    STEP(late_listened(3) == 6 && enters == 1, "the listener still runs");
    printf("late_dlopen: hooked and intercepted through a libchook loaded by dlopen\n");
    return 0;
}
