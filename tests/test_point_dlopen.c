/*
 * Hook points of libraries loaded with dlopen(): found once loaded, gone once
 * unloaded, told apart by module when two libraries define the same names, in
 * both modes (the library is built once in branch mode, once in jump mode).
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <string.h>

#include "chook_point.h"

CHOOK_POINT_TYPES(lib_add, long, long, long);
CHOOK_POINT_VOID_TYPES(lib_event, int);

typedef struct {
    void *handle;
    long (*add)(long, long);
    void (*event)(int);
    int (*events)(void);
    const char *(*mode)(void);
} lib;

static lib load(const char *path)
{
    lib l = { 0 };
    l.handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    cr_assert_not_null(l.handle, "dlopen %s: %s", path, dlerror());
    l.add = (long (*)(long, long))dlsym(l.handle, "lib_add");
    l.event = (void (*)(int))dlsym(l.handle, "lib_event");
    l.events = (int (*)(void))dlsym(l.handle, "lib_events");
    l.mode = (const char *(*)(void))dlsym(l.handle, "lib_mode");
    cr_assert(l.add && l.event && l.events && l.mode);
    return l;
}

static const char *base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int add_prolog(void *data, chook_point_epilog_lib_add *ep, long *r, long *a, long *b)
{
    (void)ep, (void)r;
    *a += (long)(intptr_t)data;
    *b = 0;
    return CHOOK_POINT_CONTINUE;
}

static int event_epilogs;
static void event_epilog(void *data) { (void)data; event_epilogs++; }

static int event_prolog(void *data, chook_point_epilog_lib_event *ep, int *kind)
{
    (void)data;
    *kind *= 10;
    ep->fn = event_epilog;
    return CHOOK_POINT_CONTINUE;
}

static void exercise(const char *path, const char *mode)
{
    chook_point *p;
    lib l = load(path);
    cr_assert_str_eq(l.mode(), mode);
    cr_assert_eq(chook_point_find_in(base(path), "lib_add", &p), CHOOK_OK, "%s",
                 chook_last_error());
    chook_point_info info;
    cr_assert_eq(chook_point_get_info(p, &info), CHOOK_OK);
    cr_assert(strstr(info.module, base(path)) != NULL, "module %s", info.module);
    cr_assert_str_eq(info.signature, "long (long, long)");

    cr_assert_eq(l.add(1, 2), 3);
    cr_assert_eq(chook_point_attach_lib_add(p, add_prolog, (void *)(intptr_t)100), CHOOK_OK,
                 "%s", chook_last_error());
    cr_assert_eq(l.add(1, 2), 101);
    cr_assert_eq(chook_point_detach(p), CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(l.add(1, 2), 3);
    cr_assert_eq(chook_point_wait(p, 1000), CHOOK_OK);

    chook_point *ev;
    cr_assert_eq(chook_point_find_in(base(path), "lib_event", &ev), CHOOK_OK);
    cr_assert_eq(chook_point_attach_lib_event(ev, event_prolog, NULL), CHOOK_OK);
    event_epilogs = 0;
    l.event(2);
    l.event(-1);
    cr_assert_eq(l.events(), 20);
    cr_assert_eq(event_epilogs, 2, "the epilog ran on both return paths");
    cr_assert_eq(chook_point_detach(ev), CHOOK_OK);
    cr_assert_eq(chook_point_wait(ev, 1000), CHOOK_OK);
    cr_assert_eq(dlclose(l.handle), 0);
}

Test(point_dlopen, points_of_a_branch_mode_library_are_found_once_it_is_loaded)
{
    chook_point *p;
    cr_assert_eq(chook_point_find("lib_add", &p), CHOOK_ENOSYM, "not loaded yet");
    exercise(CHOOK_POINTLIB_BRANCH, "branch");
}

Test(point_dlopen, points_of_a_jump_mode_library_are_found_and_patched)
{
    exercise(CHOOK_POINTLIB_JUMP, "jump");
}

Test(point_dlopen, points_are_gone_once_their_library_is_unloaded)
{
    lib l = load(CHOOK_POINTLIB_BRANCH);
    chook_point *p;
    cr_assert_eq(chook_point_find("lib_add", &p), CHOOK_OK);
    cr_assert_eq(dlclose(l.handle), 0);
    cr_assert_eq(chook_point_find("lib_add", &p), CHOOK_ENOSYM);
    cr_assert_eq(chook_point_detach(p), CHOOK_EINVAL, "a point of an unloaded module");
}

Test(point_dlopen, the_same_name_in_two_libraries_is_ambiguous_until_the_module_is_named)
{
    lib b = load(CHOOK_POINTLIB_BRANCH), j = load(CHOOK_POINTLIB_JUMP);
    chook_point *p, *pb, *pj;
    cr_assert_eq(chook_point_find("lib_add", &p), CHOOK_EAMBIGUOUS);
    cr_assert(strstr(chook_last_error(), base(CHOOK_POINTLIB_BRANCH)) != NULL &&
              strstr(chook_last_error(), base(CHOOK_POINTLIB_JUMP)) != NULL,
              "the message names both: %s", chook_last_error());
    cr_assert_eq(chook_point_find_in(base(CHOOK_POINTLIB_BRANCH), "lib_add", &pb), CHOOK_OK);
    cr_assert_eq(chook_point_find_in(CHOOK_POINTLIB_JUMP, "lib_add", &pj), CHOOK_OK,
                 "the full path names a module too");
    cr_assert_neq(pb, pj);

    /* Attaching one leaves the other alone. */
    cr_assert_eq(chook_point_attach_lib_add(pj, add_prolog, (void *)(intptr_t)5), CHOOK_OK);
    cr_assert_eq(j.add(1, 1), 6);
    cr_assert_eq(b.add(1, 1), 2);
    cr_assert_eq(chook_point_detach(pj), CHOOK_OK);
    cr_assert_eq(chook_point_find_in(base(CHOOK_POINTLIB_BRANCH), "lib_nothing", &p),
                 CHOOK_ENOSYM);
    dlclose(j.handle);
    dlclose(b.handle);
}

static int count_lib_points(const chook_point_info *info, void *ctx)
{
    if (strstr(info->module, base(CHOOK_POINTLIB_BRANCH))) ++*(int *)ctx;
    return 0;
}

Test(point_dlopen, iteration_includes_a_loaded_library)
{
    int n = 0;
    cr_assert_eq(chook_point_each(count_lib_points, &n), CHOOK_OK);
    cr_assert_eq(n, 0);
    lib l = load(CHOOK_POINTLIB_BRANCH);
    cr_assert_eq(chook_point_each(count_lib_points, &n), CHOOK_OK);
    cr_assert_eq(n, 3, "lib_add, lib_event, lib_mode");
    dlclose(l.handle);
}
