/*
 * Bad input, table by table: every public function of chook.h and chook_point.h
 * given NULL, unmapped, non-executable, mid-instruction, garbage and stale
 * arguments, removed twice, and transactions misused. Every row must return its
 * named status, leave a message in chook_last_error() that names the problem,
 * and leave the process intact: the targets still work and hold their original
 * bytes, and chook reports nothing hooked on them.
 *
 * One test per group of rows; each row is one call (with its setup).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "chook.h"
#include "chook_point.h"

/* chook's own (hidden) setter: a row that cleans up after its failing call puts
 * that call's message back for the row's check. */
void chook__set_last_error(const char *message);

/* ---- targets -------------------------------------------------------------- */

__attribute__((noipa)) int bi_target(int x)
{
    volatile int k = x;
    return k * 3 + 1;
}

__attribute__((noipa)) int bi_other(int x)
{
    volatile int k = x;
    return k * 5 + 2;
}

__attribute__((noipa)) int bi_repl(int x) { return x + 1000; }
__attribute__((noipa)) int bi_repl2(int x) { return x + 2000; }

/* A 10-byte movabs: 2 bytes into it, the bytes do not start an instruction
 * (ff ff ...). */
__asm__(".text\n"
        ".globl bi_movabs\n"
        ".type bi_movabs, @function\n"
        "bi_movabs:\n"
        "    movabsq $-1, %rax\n"
        "    ret\n"
        "    .rept 16\n"
        "    int3\n"
        "    .endr\n"
        ".size bi_movabs, . - bi_movabs\n");
int bi_movabs(void);

static char data_blob[64] = { 1 };  /* mapped rw-, not code */
#define UNMAPPED ((void *)(uintptr_t)0x1000) /* below mmap_min_addr: never mapped */

static int on_enter_count(chook_call *call, void *data)
{
    (void)call;
    ++*(int *)data;
    return CHOOK_CONTINUE;
}

static void *bi_slot = (void *)bi_target;  /* an ops-struct-like slot */

CHOOK_POINT(bi_point, int, int);

__attribute__((noipa)) int bi_pointed(int x)
{
    CHOOK_ENTER(bi_point, x);
    CHOOK_RETURN(bi_point, x + 1);
}

/* ---- the process is intact -------------------------------------------------- */

struct watched {
    const char *name;
    void *fn;
    uint8_t bytes[32];
};
static struct watched watched[] = {
    { "bi_target", (void *)bi_target, { 0 } },
    { "bi_other", (void *)bi_other, { 0 } },
    { "bi_movabs", (void *)bi_movabs, { 0 } },
};

static void snapshot(void)
{
    for (size_t i = 0; i < sizeof watched / sizeof *watched; i++)
        memcpy(watched[i].bytes, watched[i].fn, sizeof watched[i].bytes);
}

static void check_intact(const char *row)
{
    for (size_t i = 0; i < sizeof watched / sizeof *watched; i++) {
        cr_expect_eq(memcmp(watched[i].bytes, watched[i].fn, sizeof watched[i].bytes), 0,
                     "%s: %s was left patched", row, watched[i].name);
        chook_probe_info info;
        cr_expect_eq(chook_probe(watched[i].fn, &info), CHOOK_OK);
        cr_expect_eq(info.hooked, 0, "%s: chook still hooks %s", row, watched[i].name);
    }
    cr_expect_eq(bi_target(5), 16, "%s: bi_target does not work", row);
    cr_expect_eq(bi_other(5), 27, "%s: bi_other does not work", row);
    cr_expect_eq(bi_movabs(), -1, "%s: bi_movabs does not work", row);
    cr_expect_eq(bi_pointed(1), 2, "%s: bi_pointed does not work", row);
    cr_expect_eq(bi_slot, (void *)bi_target, "%s: the slot was left changed", row);
    cr_expect_eq(data_blob[0], 1, "%s: data was written", row);
}

/* ---- rows -------------------------------------------------------------------- */

#define ANY_ERROR 1 /* any negative named status (for inputs whose status another
                       check may refine, e.g. mid-instruction targets) */

typedef struct row {
    const char *what;            /* the call, as written in the row */
    int (*call)(const struct row *r);
    void *arg;                   /* for the call */
    int expect;                  /* the status, or ANY_ERROR */
    const char *msg[3];          /* substrings of chook_last_error() */
} row;

static void run(const row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const row *r = &rows[i];
        snapshot();
        int st = r->call(r);
        char msg[512];
        snprintf(msg, sizeof msg, "%s", chook_last_error());
        if (r->expect == ANY_ERROR)
            cr_expect_lt(st, 0, "%s: returned %d", r->what, st);
        else
            cr_expect_eq(st, r->expect, "%s: returned %d (%s), not %d (%s): %s", r->what, st,
                         chook_strerror(st), r->expect, chook_strerror(r->expect), msg);
        cr_expect_neq(strcmp(chook_strerror(st), "unknown status"), 0,
                      "%s: status %d has no name", r->what, st);
        if (r->expect == CHOOK_OK)
            cr_expect_eq(msg[0], 0, "%s: success leaves no message: %s", r->what, msg);
        else
            cr_expect_neq(msg[0], 0, "%s: no message", r->what);
        for (size_t k = 0; k < 3 && r->msg[k]; k++)
            cr_expect(strstr(msg, r->msg[k]), "%s: the message does not say \"%s\": %s", r->what,
                      r->msg[k], msg);
        check_intact(r->what);
    }
}

#define RUN(rows) run(rows, sizeof(rows) / sizeof(rows)[0])
#define CALL(name, expr)                                                       \
    static int name(const row *r)                                              \
    {                                                                          \
        (void)r;                                                               \
        return (expr);                                                         \
    }

TestSuite(bad_input, .timeout = 60);

/* ---- NULL ------------------------------------------------------------------ */

static chook_hook *hk;
static chook_listener *ls;
static chook_import *im;
static chook_slot_hook *sh;
static chook_pending *pd;
static chook_point *pt;
static const chook_closure *cl;
static chook_typed *ty;
static const chook_module *md;

CALL(null_install_target, chook_install(NULL, (void *)bi_repl, NULL))
CALL(null_install_repl, chook_install((void *)bi_target, NULL, NULL))
CALL(null_install_ex, chook_install_ex(NULL, (void *)bi_repl, NULL, &hk))
CALL(null_remove, chook_remove(NULL))
CALL(null_uninstall, chook_uninstall(NULL))
CALL(null_probe, chook_probe((void *)bi_target, NULL))
CALL(null_configure, chook_configure(NULL))
CALL(null_attach_target, chook_attach(NULL, on_enter_count, NULL, NULL, &ls))
CALL(null_attach_handle, chook_attach((void *)bi_target, on_enter_count, NULL, NULL, NULL))
CALL(null_attach_callbacks, chook_attach((void *)bi_target, NULL, NULL, NULL, &ls))
CALL(null_detach, chook_detach(NULL))
CALL(null_skip, chook_skip(NULL, 1))
CALL(null_replace_out, chook_replace((void *)bi_target, (void *)bi_repl, NULL, NULL))
CALL(null_replace_target, chook_replace(NULL, (void *)bi_repl, NULL, &cl))
CALL(null_typed_attach, chook_typed_attach((void *)bi_target, (void *)bi_repl, NULL, NULL, NULL, &ty))
CALL(null_typed_detach, chook_typed_detach(NULL))
CALL(null_module_each, chook_module_each(NULL, NULL))
CALL(null_module_find, chook_module_find(NULL, &md))
CALL(null_symbol_lookup, chook_symbol_lookup(NULL, NULL, NULL, NULL))
CALL(null_symbol_each, chook_symbol_each(NULL, NULL, NULL))
CALL(null_install_name_symbol, chook_install_name(NULL, NULL, (void *)bi_repl, NULL, NULL))
CALL(null_install_name_repl, chook_install_name(NULL, "bi_target", NULL, NULL, NULL))
CALL(null_uninstall_name, chook_uninstall_name(NULL, NULL))
CALL(null_attach_name, chook_attach_name(NULL, NULL, on_enter_count, NULL, NULL, NULL, &ls))
CALL(null_import_module, chook_import_install(NULL, "getppid", (void *)bi_repl, NULL, &im))
CALL(null_import_remove, chook_import_remove(NULL))
CALL(null_slot_install, chook_slot_install(NULL, (void *)bi_repl, NULL, &sh))
CALL(null_slot_repl, chook_slot_install(&bi_slot, NULL, NULL, &sh))
CALL(null_vtable_object, chook_vtable_install(NULL, 0, (void *)bi_repl, NULL, &sh))
CALL(null_object_object, chook_object_install(NULL, 0, (void *)bi_repl, NULL, &sh))
CALL(null_slot_remove, chook_slot_remove(NULL))
CALL(null_deferred, chook_install_deferred(NULL, "f", (void *)bi_repl, NULL, &pd))
CALL(null_pending_remove, chook_pending_remove(NULL))
CALL(null_pending_status, chook_pending_status(NULL))
CALL(null_point_find, chook_point_find(NULL, &pt))
CALL(null_point_find_in, chook_point_find_in(NULL, "bi_point", NULL))
CALL(null_point_info, chook_point_get_info(NULL, NULL))
CALL(null_point_each, chook_point_each(NULL, NULL))
CALL(null_point_attach, chook_point_attach_typed(NULL, "int (int)", NULL, NULL))
CALL(null_point_detach, chook_point_detach(NULL))
CALL(null_point_wait, chook_point_wait(NULL, 0))
CALL(null_point_generic, chook_point_attach_generic(NULL, on_enter_count, NULL, NULL))

Test(bad_input, null_arguments)
{
    static const row rows[] = {
        { "chook_install(NULL, r, NULL)", null_install_target, NULL, CHOOK_EINVAL, { "target is NULL" } },
        { "chook_install(f, NULL, NULL)", null_install_repl, NULL, CHOOK_EINVAL, { "replacement is NULL" } },
        { "chook_install_ex(NULL, ...)", null_install_ex, NULL, CHOOK_EINVAL, { "target is NULL" } },
        { "chook_remove(NULL)", null_remove, NULL, CHOOK_EINVAL, { "hook handle is NULL" } },
        { "chook_uninstall(NULL)", null_uninstall, NULL, CHOOK_EINVAL, { "target is NULL" } },
        { "chook_probe(f, NULL)", null_probe, NULL, CHOOK_EINVAL, { "info is NULL" } },
        { "chook_configure(NULL)", null_configure, NULL, CHOOK_EINVAL, { "config is NULL" } },
        { "chook_attach(NULL, ...)", null_attach_target, NULL, CHOOK_EINVAL, { "target is NULL" } },
        { "chook_attach(f, ..., NULL)", null_attach_handle, NULL, CHOOK_EINVAL, { "listener", "NULL" } },
        { "chook_attach(f, NULL, NULL, ...)", null_attach_callbacks, NULL, CHOOK_EINVAL, { "on_enter or on_leave" } },
        { "chook_detach(NULL)", null_detach, NULL, CHOOK_EINVAL, { "listener handle is NULL" } },
        { "chook_skip(NULL, 1)", null_skip, NULL, CHOOK_EINVAL, { "call is NULL" } },
        { "chook_replace(f, r, NULL, NULL)", null_replace_out, NULL, CHOOK_EINVAL, { "NULL" } },
        { "chook_replace(NULL, ...)", null_replace_target, NULL, CHOOK_EINVAL, { "target is NULL" } },
        { "chook_typed_attach(no callbacks)", null_typed_attach, NULL, CHOOK_EINVAL, { "prolog or an epilog" } },
        { "chook_typed_detach(NULL)", null_typed_detach, NULL, CHOOK_EINVAL, { "NULL" } },
        { "chook_module_each(NULL, ...)", null_module_each, NULL, CHOOK_EINVAL, { "fn is NULL" } },
        { "chook_module_find(NULL, ...)", null_module_find, NULL, CHOOK_EINVAL, { "name is NULL" } },
        { "chook_symbol_lookup(NULL, NULL, ...)", null_symbol_lookup, NULL, CHOOK_EINVAL, { "name is NULL" } },
        { "chook_symbol_each(NULL, NULL, ...)", null_symbol_each, NULL, CHOOK_EINVAL, { "NULL" } },
        { "chook_install_name(NULL, NULL, ...)", null_install_name_symbol, NULL, CHOOK_EINVAL, { "symbol is NULL" } },
        { "chook_install_name(.., NULL repl)", null_install_name_repl, NULL, CHOOK_EINVAL, { "replacement is NULL" } },
        { "chook_uninstall_name(NULL, NULL)", null_uninstall_name, NULL, CHOOK_EINVAL, { "symbol is NULL" } },
        { "chook_attach_name(NULL, NULL, ...)", null_attach_name, NULL, CHOOK_EINVAL, { "symbol is NULL" } },
        { "chook_import_install(NULL, ...)", null_import_module, NULL, CHOOK_EINVAL, { "module is NULL" } },
        { "chook_import_remove(NULL)", null_import_remove, NULL, CHOOK_EINVAL, { "import hook handle is NULL" } },
        { "chook_slot_install(NULL, ...)", null_slot_install, NULL, CHOOK_EINVAL, { "slot is NULL" } },
        { "chook_slot_install(s, NULL, ...)", null_slot_repl, NULL, CHOOK_EINVAL, { "replacement is NULL" } },
        { "chook_vtable_install(NULL, ...)", null_vtable_object, NULL, CHOOK_EINVAL, { "object is NULL" } },
        { "chook_object_install(NULL, ...)", null_object_object, NULL, CHOOK_EINVAL, { "object is NULL" } },
        { "chook_slot_remove(NULL)", null_slot_remove, NULL, CHOOK_EINVAL, { "slot hook handle is NULL" } },
        { "chook_install_deferred(NULL, ...)", null_deferred, NULL, CHOOK_EINVAL, { "module is NULL" } },
        { "chook_pending_remove(NULL)", null_pending_remove, NULL, CHOOK_EINVAL, { "pending hook handle is NULL" } },
        { "chook_pending_status(NULL)", null_pending_status, NULL, CHOOK_EINVAL, { "pending hook handle is NULL" } },
        { "chook_point_find(NULL, ...)", null_point_find, NULL, CHOOK_EINVAL, { "name is NULL" } },
        { "chook_point_find_in(.., NULL)", null_point_find_in, NULL, CHOOK_EINVAL, { "point is NULL" } },
        { "chook_point_get_info(NULL, NULL)", null_point_info, NULL, CHOOK_EINVAL, { "info is NULL" } },
        { "chook_point_each(NULL, NULL)", null_point_each, NULL, CHOOK_EINVAL, { "fn is NULL" } },
        { "chook_point_attach_typed(NULL, ...)", null_point_attach, NULL, CHOOK_EINVAL, { "point is NULL" } },
        { "chook_point_detach(NULL)", null_point_detach, NULL, CHOOK_EINVAL, { "point is NULL" } },
        { "chook_point_wait(NULL, 0)", null_point_wait, NULL, CHOOK_EINVAL, { "point is NULL" } },
        { "chook_point_attach_generic(NULL, ...)", null_point_generic, NULL, CHOOK_EINVAL, { "point is NULL" } },
    };
    RUN(rows);
}

/* ---- unmapped and non-executable addresses ----------------------------------------- */

CALL(unmapped_install, chook_install(UNMAPPED, (void *)bi_repl, NULL))
CALL(unmapped_install_repl, chook_install((void *)bi_target, UNMAPPED, NULL))
CALL(unmapped_attach, chook_attach(UNMAPPED, on_enter_count, NULL, NULL, &ls))
CALL(unmapped_uninstall, chook_uninstall(UNMAPPED))
CALL(unmapped_replace, chook_replace(UNMAPPED, (void *)bi_repl, NULL, &cl))
CALL(unmapped_slot, chook_slot_install((void **)UNMAPPED, (void *)bi_repl, NULL, &sh))
CALL(unmapped_vtable, chook_vtable_install(UNMAPPED, 0, (void *)bi_repl, NULL, &sh))
CALL(unmapped_object, chook_object_install(UNMAPPED, 0, (void *)bi_repl, NULL, &sh))
static int unmapped_probe(const row *r)
{
    (void)r;
    chook_probe_info info;
    int st = chook_probe(UNMAPPED, &info);
    cr_expect_eq(st, CHOOK_OK, "chook_probe itself succeeds");
    cr_expect(strstr(info.reason, "not mapped"), "%s", info.reason);
    /* The verdict is the row's status; its message is the reason. */
    char reason[sizeof info.reason];
    memcpy(reason, info.reason, sizeof reason);
    chook_module_find(reason, &md); /* any failing call, to carry a message */
    return info.status;
}
CALL(data_install, chook_install(data_blob, (void *)bi_repl, NULL))
CALL(data_install_repl, chook_install((void *)bi_target, data_blob, NULL))
CALL(data_attach, chook_attach(data_blob, on_enter_count, NULL, NULL, &ls))
CALL(data_vtable, chook_vtable_install(data_blob, 0, (void *)bi_repl, NULL, &sh))

Test(bad_input, unmapped_and_non_executable_addresses)
{
    static const row rows[] = {
        { "chook_install(unmapped, ...)", unmapped_install, NULL, CHOOK_EUNMAPPED, { "not mapped" } },
        { "chook_install(f, unmapped, ...)", unmapped_install_repl, NULL, CHOOK_EUNMAPPED, { "replacement", "not mapped" } },
        { "chook_attach(unmapped, ...)", unmapped_attach, NULL, CHOOK_EUNMAPPED, { "not mapped" } },
        { "chook_uninstall(unmapped)", unmapped_uninstall, NULL, CHOOK_ENOTHOOKED, { "not hooked" } },
        { "chook_replace(unmapped, ...)", unmapped_replace, NULL, CHOOK_EUNMAPPED, { "not mapped" } },
        { "chook_slot_install(unmapped, ...)", unmapped_slot, NULL, CHOOK_EUNMAPPED, { "0x1000" } },
        { "chook_vtable_install(unmapped, ...)", unmapped_vtable, NULL, CHOOK_EUNMAPPED, { "not readable" } },
        { "chook_object_install(unmapped, ...)", unmapped_object, NULL, CHOOK_EUNMAPPED, { "not readable" } },
        { "chook_probe(unmapped, &info)", unmapped_probe, NULL, CHOOK_EUNMAPPED, { "" } },
        { "chook_install(data, ...)", data_install, NULL, CHOOK_ENOTEXEC, { "not executable" } },
        { "chook_install(f, data, ...)", data_install_repl, NULL, CHOOK_ENOTEXEC, { "replacement", "not executable" } },
        { "chook_attach(data, ...)", data_attach, NULL, CHOOK_ENOTEXEC, { "not executable" } },
        { "chook_vtable_install(data, ...)", data_vtable, NULL, CHOOK_EINVAL, { "has no vtable" } },
    };
    RUN(rows);
}

/* ---- mid-instruction targets ------------------------------------------------------ */

static char mid_addr[32];

CALL(mid_install, chook_install((char *)bi_movabs + 2, (void *)bi_repl, NULL))
CALL(mid_attach, chook_attach((char *)bi_movabs + 2, on_enter_count, NULL, NULL, &ls))
CALL(mid_replace, chook_replace((char *)bi_movabs + 2, (void *)bi_repl, NULL, &cl))
static int mid_probe(const row *r)
{
    (void)r;
    chook_probe_info info;
    cr_expect_eq(chook_probe((char *)bi_movabs + 2, &info), CHOOK_OK);
    cr_expect_neq(info.reason[0], 0);
    chook_install((char *)bi_movabs + 2, (void *)bi_repl, NULL); /* the message */
    return info.status;
}

Test(bad_input, mid_instruction_targets)
{
    snprintf(mid_addr, sizeof mid_addr, "%lx", (unsigned long)(uintptr_t)((char *)bi_movabs + 2));
    const row rows[] = {
        { "chook_install(movabs + 2, ...)", mid_install, NULL, ANY_ERROR, { mid_addr } },
        { "chook_attach(movabs + 2, ...)", mid_attach, NULL, ANY_ERROR, { mid_addr } },
        { "chook_replace(movabs + 2, ...)", mid_replace, NULL, ANY_ERROR, { mid_addr } },
        { "chook_probe(movabs + 2, &info)", mid_probe, NULL, ANY_ERROR, { mid_addr } },
    };
    RUN(rows);
}

/* ---- garbage handles ---------------------------------------------------------- */

static int g_remove(const row *r) { return chook_remove((chook_hook *)r->arg); }
static int g_active(const row *r)
{
    /* No status to return: 0 for anything that is not an installed hook. */
    cr_expect_eq(chook_hook_active((const chook_hook *)r->arg), 0, "%s", r->what);
    return chook_remove((chook_hook *)r->arg);
}
static int g_detach(const row *r) { return chook_detach((chook_listener *)r->arg); }
static int g_import_remove(const row *r) { return chook_import_remove((chook_import *)r->arg); }
static int g_slot_remove(const row *r) { return chook_slot_remove((chook_slot_hook *)r->arg); }
static int g_pending_remove(const row *r) { return chook_pending_remove((chook_pending *)r->arg); }
static int g_pending_status(const row *r)
{
    return chook_pending_status((const chook_pending *)r->arg);
}
static int g_typed_detach(const row *r) { return chook_typed_detach((chook_typed *)r->arg); }
static int g_point_info(const row *r)
{
    chook_point_info info;
    return chook_point_get_info((const chook_point *)r->arg, &info);
}
static int g_point_detach(const row *r) { return chook_point_detach((chook_point *)r->arg); }
static int g_point_wait(const row *r) { return chook_point_wait((chook_point *)r->arg, 0); }
static int g_point_attach(const row *r)
{
    return chook_point_attach_generic((chook_point *)r->arg, on_enter_count, NULL, NULL);
}

Test(bad_input, garbage_handles)
{
    /* Values no chook function gave out: readable junk, unmapped addresses, an
     * odd value, the top of the address space, and handles of another kind. */
    snapshot();
    static uint8_t junk[256];
    memset(junk, 0x41, sizeof junk);
    int count = 0;
    chook_listener *listener;
    cr_assert_eq(chook_attach((void *)bi_other, on_enter_count, NULL, &count, &listener), CHOOK_OK);
    chook_hook *hook;
    cr_assert_eq(chook_install_ex((void *)bi_target, (void *)bi_repl, NULL, &hook), CHOOK_OK);
    void *values[] = { junk, junk + 3, UNMAPPED, (void *)(uintptr_t)0xdead0001u,
                       (void *)(uintptr_t)-8, (void *)(uintptr_t)0x41414141414141ull };
    struct { const char *what; int (*call)(const row *); const char *msg; } apis[] = {
        { "chook_remove", g_remove, "not a valid hook handle" },
        { "chook_hook_active+remove", g_active, "not a valid hook handle" },
        { "chook_detach", g_detach, "not a valid listener handle" },
        { "chook_import_remove", g_import_remove, "not a valid import hook handle" },
        { "chook_slot_remove", g_slot_remove, "not a valid slot hook handle" },
        { "chook_pending_remove", g_pending_remove, "not a valid pending hook handle" },
        { "chook_pending_status", g_pending_status, "not a valid pending hook handle" },
        { "chook_typed_detach", g_typed_detach, "not a typed listener" },
        { "chook_point_get_info", g_point_info, "is not a hook point" },
        { "chook_point_detach", g_point_detach, "is not a hook point" },
        { "chook_point_wait", g_point_wait, "is not a hook point" },
        { "chook_point_attach_generic", g_point_attach, "is not a hook point" },
    };
    row rows[sizeof apis / sizeof *apis * (sizeof values / sizeof *values + 1)];
    char names[sizeof rows / sizeof *rows][96];
    size_t n = 0;
    for (size_t a = 0; a < sizeof apis / sizeof *apis; a++) {
        for (size_t v = 0; v <= sizeof values / sizeof *values; v++) {
            /* The last value: a live handle of the wrong kind. */
            void *value = v < sizeof values / sizeof *values ? values[v]
                          : (apis[a].call == g_detach ? (void *)hook : (void *)listener);
            snprintf(names[n], sizeof names[n], "%s(%p)", apis[a].what, value);
            rows[n] = (row){ names[n], apis[a].call, value, CHOOK_EINVAL, { apis[a].msg } };
            n++;
        }
    }
    /* The live hook and listener make the targets differ: check them by hand, then
     * run the rows with both still installed (nothing may touch them). */
    cr_expect_eq(bi_target(5), 1005);
    for (size_t i = 0; i < n; i++) {
        int st = rows[i].call(&rows[i]);
        char msg[512];
        snprintf(msg, sizeof msg, "%s", chook_last_error());
        cr_expect_eq(st, CHOOK_EINVAL, "%s: returned %d (%s): %s", rows[i].what, st,
                     chook_strerror(st), msg);
        cr_expect(strstr(msg, rows[i].msg[0]), "%s: the message does not say \"%s\": %s",
                  rows[i].what, rows[i].msg[0], msg);
        cr_expect_eq(chook_hook_active(hook), 1, "%s: the live hook was touched", rows[i].what);
        cr_expect_eq(bi_target(5), 1005, "%s", rows[i].what);
    }
    int before = count;
    cr_expect_eq(bi_other(1), 7);
    cr_expect_eq(count, before + 1, "the live listener still runs");
    cr_assert_eq(chook_remove(hook), CHOOK_OK);
    cr_assert_eq(chook_detach(listener), CHOOK_OK);
    cr_assert_eq(chook_detach_wait(1000), CHOOK_OK);
    check_intact("garbage handles");
}

/* ---- stale handles and double removes ---------------------------------------- */

static int stale_hook_reused(const row *r)
{
    (void)r;
    chook_hook *old, *now;
    cr_assert_eq(chook_install_ex((void *)bi_target, (void *)bi_repl, NULL, &old), CHOOK_OK);
    cr_assert_eq(chook_remove(old), CHOOK_OK);
    /* The same target again: the core reuses the removed hook's record. */
    cr_assert_eq(chook_install_ex((void *)bi_target, (void *)bi_repl2, NULL, &now), CHOOK_OK);
    cr_expect_neq((void *)old, (void *)now, "a new handle");
    int st = chook_remove(old);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", chook_last_error());
    cr_expect_eq(chook_hook_active(old), 0);
    cr_expect_eq(chook_hook_active(now), 1, "the newer hook is untouched");
    cr_expect_eq(bi_target(5), 2005);
    cr_assert_eq(chook_remove(now), CHOOK_OK);
    chook__set_last_error(msg); /* the row checks the failing call's message */
    return st;
}

static int count_a, count_b;

static int stale_listener_reused(const row *r)
{
    (void)r;
    chook_listener *old, *now;
    cr_assert_eq(chook_attach((void *)bi_target, on_enter_count, NULL, &count_a, &old), CHOOK_OK);
    cr_assert_eq(chook_detach(old), CHOOK_OK);
    cr_assert_eq(chook_detach_wait(1000), CHOOK_OK); /* frees the record for reuse */
    cr_assert_eq(chook_attach((void *)bi_target, on_enter_count, NULL, &count_b, &now), CHOOK_OK);
    int st = chook_detach(old);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", chook_last_error());
    int before = count_b;
    bi_target(1);
    cr_expect_eq(count_b, before + 1, "the newer listener still runs");
    cr_assert_eq(chook_detach(now), CHOOK_OK);
    cr_assert_eq(chook_detach_wait(1000), CHOOK_OK);
    chook__set_last_error(msg); /* the row checks the failing call's message */
    return st;
}

static int twice_remove(const row *r)
{
    (void)r;
    chook_hook *h;
    cr_assert_eq(chook_install_ex((void *)bi_target, (void *)bi_repl, NULL, &h), CHOOK_OK);
    cr_assert_eq(chook_remove(h), CHOOK_OK);
    return chook_remove(h);
}

static int twice_uninstall(const row *r)
{
    (void)r;
    cr_assert_eq(chook_install((void *)bi_target, (void *)bi_repl, NULL), CHOOK_OK);
    cr_assert_eq(chook_uninstall((void *)bi_target), CHOOK_OK);
    return chook_uninstall((void *)bi_target);
}

static int twice_detach(const row *r)
{
    (void)r;
    chook_listener *l;
    cr_assert_eq(chook_attach((void *)bi_target, on_enter_count, NULL, &count_a, &l), CHOOK_OK);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
    int st = chook_detach(l);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", chook_last_error());
    cr_assert_eq(chook_detach_wait(1000), CHOOK_OK);
    chook__set_last_error(msg); /* the row checks the failing call's message */
    return st;
}

static int twice_detach_after_wait(const row *r)
{
    (void)r;
    chook_listener *l;
    cr_assert_eq(chook_attach((void *)bi_target, on_enter_count, NULL, &count_a, &l), CHOOK_OK);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
    cr_assert_eq(chook_detach_wait(1000), CHOOK_OK);
    return chook_detach(l);
}

static int twice_typed_detach(const row *r)
{
    (void)r;
    /* A closure replacement: removed through its hook, twice. */
    cr_assert_eq(chook_replace((void *)bi_target, (void *)bi_repl, NULL, &cl), CHOOK_OK);
    cr_assert_eq(chook_remove(cl->hook), CHOOK_OK);
    return chook_remove(cl->hook);
}

static int twice_slot_remove(const row *r)
{
    (void)r;
    chook_slot_hook *h;
    cr_assert_eq(chook_slot_install(&bi_slot, (void *)bi_repl, NULL, &h), CHOOK_OK);
    cr_assert_eq(chook_slot_remove(h), CHOOK_OK);
    return chook_slot_remove(h);
}

static int stale_slot_reused(const row *r)
{
    (void)r;
    chook_slot_hook *old, *now;
    cr_assert_eq(chook_slot_install(&bi_slot, (void *)bi_repl, NULL, &old), CHOOK_OK);
    cr_assert_eq(chook_slot_remove(old), CHOOK_OK);
    cr_assert_eq(chook_slot_install(&bi_slot, (void *)bi_repl2, NULL, &now), CHOOK_OK);
    int st = chook_slot_remove(old);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", chook_last_error());
    cr_expect_eq(bi_slot, (void *)bi_repl2, "the newer slot hook is untouched");
    cr_assert_eq(chook_slot_remove(now), CHOOK_OK);
    chook__set_last_error(msg); /* the row checks the failing call's message */
    return st;
}

__attribute__((noipa)) static pid_t call_getppid(void) { return getppid(); }
static pid_t fake_getppid(void) { return 4242; }

static int twice_import_remove(const row *r)
{
    (void)r;
    chook_import *h;
    int st = chook_import_install("", "getppid", (void *)fake_getppid, NULL, &h);
    cr_assert_eq(st, CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(call_getppid(), 4242);
    cr_assert_eq(chook_import_remove(h), CHOOK_OK);
    cr_expect_neq(call_getppid(), 4242);
    return chook_import_remove(h);
}

static int twice_pending_remove(const row *r)
{
    (void)r;
    chook_pending *p;
    cr_assert_eq(chook_install_deferred("libchook_never_loaded.so", "f", (void *)bi_repl, NULL, &p),
                 CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(chook_pending_status(p), 0, "waits for its module");
    cr_assert_eq(chook_pending_remove(p), CHOOK_OK);
    cr_expect_eq(chook_pending_status(p), CHOOK_ENOTHOOKED);
    return chook_pending_remove(p);
}

static int twice_point_detach(const row *r)
{
    (void)r;
    chook_point *p;
    cr_assert_eq(chook_point_find("bi_point", &p), CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(chook_point_attach_generic(p, on_enter_count, NULL, &count_a), CHOOK_OK);
    cr_assert_eq(chook_point_detach(p), CHOOK_OK);
    int st = chook_point_detach(p); /* documented: CHOOK_OK when nothing is attached */
    cr_expect_eq(chook_point_wait(p, 1000), CHOOK_OK);
    return st;
}

Test(bad_input, stale_handles_and_double_removes)
{
    static const row rows[] = {
        { "chook_remove(stale, record reused)", stale_hook_reused, NULL, CHOOK_ENOTHOOKED, { "stale" } },
        { "chook_detach(stale, record reused)", stale_listener_reused, NULL, CHOOK_ENOTHOOKED, { "stale" } },
        { "chook_slot_remove(stale, reused)", stale_slot_reused, NULL, CHOOK_ENOTHOOKED, { "stale" } },
        { "chook_remove twice", twice_remove, NULL, CHOOK_ENOTHOOKED, { "hook handle", "stale" } },
        { "chook_uninstall twice", twice_uninstall, NULL, CHOOK_ENOTHOOKED, { "not hooked" } },
        { "chook_detach twice", twice_detach, NULL, CHOOK_ENOTHOOKED, { "listener handle", "stale" } },
        { "chook_detach after detach_wait", twice_detach_after_wait, NULL, CHOOK_ENOTHOOKED, { "stale" } },
        { "chook_remove(closure->hook) twice", twice_typed_detach, NULL, CHOOK_ENOTHOOKED, { "stale" } },
        { "chook_slot_remove twice", twice_slot_remove, NULL, CHOOK_ENOTHOOKED, { "slot hook handle", "stale" } },
        { "chook_import_remove twice", twice_import_remove, NULL, CHOOK_ENOTHOOKED, { "import hook handle", "stale" } },
        { "chook_pending_remove twice", twice_pending_remove, NULL, CHOOK_ENOTHOOKED, { "pending hook handle", "stale" } },
        { "chook_point_detach twice", twice_point_detach, NULL, CHOOK_OK, { NULL } },
    };
    RUN(rows);
}

/* ---- transactions ---------------------------------------------------------------- */

/* Each row opens a transaction, queues a good install first (which must not be
 * applied), makes one failing call, and returns what the commit says. */
static int txn_with(int (*failing)(void), int expect_at_call)
{
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    cr_assert_eq(chook_install((void *)bi_other, (void *)bi_repl, NULL), CHOOK_OK);
    int st = failing();
    char msg[512];
    snprintf(msg, sizeof msg, "%s", chook_last_error());
    cr_expect_eq(st, expect_at_call, "the call itself: %d (%s): %s", st, chook_strerror(st), msg);
    cr_expect_eq(bi_other(5), 27, "nothing applied before the commit");
    int commit = chook_transaction_commit();
    snprintf(msg, sizeof msg, "%s", chook_last_error());
    cr_expect_eq(chook_transaction_commit(), CHOOK_ETXN, "the failed commit closed it");
    chook__set_last_error(msg);
    return commit;
}

static int f_install_null_repl(void) { return chook_install((void *)bi_target, NULL, NULL); }
static int f_install_null_target(void) { return chook_install(NULL, (void *)bi_repl, NULL); }
static int f_install_self(void) { return chook_install((void *)bi_target, (void *)bi_target, NULL); }
static int f_install_unmapped(void) { return chook_install(UNMAPPED, (void *)bi_repl, NULL); }
static int f_install_data(void) { return chook_install(data_blob, (void *)bi_repl, NULL); }
static int f_install_data_repl(void) { return chook_install((void *)bi_target, data_blob, NULL); }
static int f_install_mid(void) { return chook_install((char *)bi_movabs + 2, (void *)bi_repl, NULL); }
static int f_remove_null(void) { return chook_remove(NULL); }
static int f_remove_garbage(void) { return chook_remove((chook_hook *)data_blob); }
static int f_remove_twice(void)
{
    chook_hook *h;
    cr_assert_eq(chook_install_ex((void *)bi_target, (void *)bi_repl2, NULL, &h), CHOOK_OK);
    cr_assert_eq(chook_remove(h), CHOOK_OK);
    return chook_remove(h);
}
static int f_install_twice(void)
{
    /* Found at commit: the chain already holds this replacement. */
    cr_assert_eq(chook_install((void *)bi_target, (void *)bi_repl2, NULL), CHOOK_OK);
    return chook_install((void *)bi_target, (void *)bi_repl2, NULL);
}
static int f_uninstall_unhooked(void) { return chook_uninstall((void *)bi_target); }
static int f_uninstall_null(void) { return chook_uninstall(NULL); }
static int f_install_name(void)
{
    return chook_install_name(NULL, "bi_no_such_symbol", (void *)bi_repl, NULL, NULL);
}
static int f_uninstall_name(void) { return chook_uninstall_name("", "bi_no_such_symbol"); }
static int f_replace_self(void)
{
    return chook_replace((void *)bi_target, (void *)bi_target, NULL, &cl);
}
static int f_typed_attach(void)
{
    return chook_typed_attach((void *)bi_target, (void *)bi_repl, NULL, NULL, NULL, &ty);
}
static int f_typed_detach(void) { return chook_typed_detach(NULL); }
static int f_begin_again(void) { return chook_transaction_begin(); }

#define TXN_ROW(name, fn, at_call)                                             \
    static int name(const row *r)                                              \
    {                                                                          \
        (void)r;                                                               \
        return txn_with(fn, at_call);                                          \
    }
TXN_ROW(t_install_null_repl, f_install_null_repl, CHOOK_EINVAL)
TXN_ROW(t_install_null_target, f_install_null_target, CHOOK_EINVAL)
TXN_ROW(t_install_self, f_install_self, CHOOK_ESELF)
TXN_ROW(t_install_unmapped, f_install_unmapped, CHOOK_EUNMAPPED)
TXN_ROW(t_install_data, f_install_data, CHOOK_ENOTEXEC)
TXN_ROW(t_install_data_repl, f_install_data_repl, CHOOK_ENOTEXEC)
TXN_ROW(t_remove_null, f_remove_null, CHOOK_EINVAL)
TXN_ROW(t_remove_garbage, f_remove_garbage, CHOOK_EINVAL)
TXN_ROW(t_remove_twice, f_remove_twice, CHOOK_ENOTHOOKED)
TXN_ROW(t_install_twice, f_install_twice, CHOOK_OK)
TXN_ROW(t_uninstall_unhooked, f_uninstall_unhooked, CHOOK_ENOTHOOKED)
TXN_ROW(t_uninstall_null, f_uninstall_null, CHOOK_EINVAL)
TXN_ROW(t_install_name, f_install_name, CHOOK_ENOSYM)
TXN_ROW(t_uninstall_name, f_uninstall_name, CHOOK_ENOSYM)
TXN_ROW(t_replace_self, f_replace_self, CHOOK_ESELF)
TXN_ROW(t_typed_attach, f_typed_attach, CHOOK_EINVAL)
TXN_ROW(t_typed_detach, f_typed_detach, CHOOK_EINVAL)
TXN_ROW(t_begin_again, f_begin_again, CHOOK_ETXN)

static int t_install_mid(const row *r)
{
    (void)r;
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    int at_call = f_install_mid();
    cr_expect_lt(at_call, 0);
    int commit = chook_transaction_commit();
    cr_expect_eq(commit, at_call, "the commit fails with the call's status");
    return commit;
}

CALL(t_commit_alone, chook_transaction_commit())
CALL(t_abort_alone, chook_transaction_abort())
static int t_abort_after_failure(const row *r)
{
    (void)r;
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    cr_expect_eq(chook_install((void *)bi_target, NULL, NULL), CHOOK_EINVAL);
    int st = chook_transaction_abort();
    /* A new transaction starts clean. */
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    cr_assert_eq(chook_transaction_commit(), CHOOK_OK, "%s", chook_last_error());
    return st;
}

Test(bad_input, transaction_misuse_and_failing_calls_inside)
{
    static const row rows[] = {
        { "commit without begin", t_commit_alone, NULL, CHOOK_ETXN, { "no open transaction" } },
        { "abort without begin", t_abort_alone, NULL, CHOOK_ETXN, { "no open transaction" } },
        { "begin twice", t_begin_again, NULL, CHOOK_ETXN, { "do not nest" } },
        { "abort after a failing call", t_abort_after_failure, NULL, CHOOK_OK, { NULL } },
        { "chook_install(f, NULL, NULL) inside", t_install_null_repl, NULL, CHOOK_EINVAL, { "replacement is NULL" } },
        { "chook_install(NULL, r) inside", t_install_null_target, NULL, CHOOK_EINVAL, { "target is NULL" } },
        { "chook_install(f, f) inside", t_install_self, NULL, CHOOK_ESELF, { "target itself" } },
        { "chook_install(unmapped) inside", t_install_unmapped, NULL, CHOOK_EUNMAPPED, { "not mapped" } },
        { "chook_install(data) inside", t_install_data, NULL, CHOOK_ENOTEXEC, { "not executable" } },
        { "chook_install(f, data) inside", t_install_data_repl, NULL, CHOOK_ENOTEXEC, { "replacement", "not executable" } },
        { "chook_install(mid-instruction) inside", t_install_mid, NULL, ANY_ERROR, { NULL } },
        { "chook_remove(NULL) inside", t_remove_null, NULL, CHOOK_EINVAL, { "hook handle is NULL" } },
        { "chook_remove(garbage) inside", t_remove_garbage, NULL, CHOOK_EINVAL, { "not a valid hook handle" } },
        { "chook_remove twice inside", t_remove_twice, NULL, CHOOK_ENOTHOOKED, { "removed already in this transaction" } },
        { "the same install twice inside", t_install_twice, NULL, CHOOK_EEXIST, { "already installed" } },
        { "chook_uninstall(unhooked) inside", t_uninstall_unhooked, NULL, CHOOK_ENOTHOOKED, { "not hooked" } },
        { "chook_uninstall(NULL) inside", t_uninstall_null, NULL, CHOOK_EINVAL, { "target is NULL" } },
        { "chook_install_name(unknown) inside", t_install_name, NULL, CHOOK_ENOSYM, { "bi_no_such_symbol" } },
        { "chook_uninstall_name(unknown) inside", t_uninstall_name, NULL, CHOOK_ENOSYM, { "bi_no_such_symbol" } },
        { "chook_replace(f, f) inside", t_replace_self, NULL, CHOOK_ESELF, { "target itself" } },
        { "chook_typed_attach(no callbacks) inside", t_typed_attach, NULL, CHOOK_EINVAL, { "prolog or an epilog" } },
        { "chook_typed_detach(NULL) inside", t_typed_detach, NULL, CHOOK_EINVAL, { "NULL" } },
    };
    RUN(rows);
}

/* ---- a successful call leaves no message ------------------------------------- */

static void fail_first(void) { chook_install(NULL, NULL, NULL); }

static int ok_probe(const row *r)
{
    (void)r;
    chook_probe_info info;
    fail_first();
    return chook_probe(UNMAPPED, &info); /* the verdict is in info, not in the error */
}
static int ok_install(const row *r)
{
    (void)r;
    fail_first();
    int st = chook_install((void *)bi_target, (void *)bi_repl, NULL);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", chook_last_error());
    cr_assert_eq(chook_uninstall((void *)bi_target), CHOOK_OK);
    chook__set_last_error(msg);
    return st;
}
static int ok_lookup(const row *r)
{
    (void)r;
    fail_first();
    return chook_symbol_lookup(NULL, "bi_target", NULL, NULL);
}
static int ok_module_find(const row *r)
{
    (void)r;
    fail_first();
    return chook_module_find("", &md);
}
static int ok_point_find(const row *r)
{
    (void)r;
    fail_first();
    return chook_point_find("bi_point", &pt);
}
static int ok_txn(const row *r)
{
    (void)r;
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    fail_first(); /* fails the transaction... */
    cr_expect_eq(chook_transaction_commit(), CHOOK_EINVAL);
    return chook_transaction_begin() ?: chook_transaction_abort(); /* ...not the next one */
}
static int walk_fails(const chook_module *m, void *data)
{
    (void)m;
    (void)data;
    fail_first();
    return 1;
}
static int ok_module_each(const row *r)
{
    (void)r;
    return chook_module_each(walk_fails, NULL);
}

Test(bad_input, success_clears_the_last_error)
{
    static const row rows[] = {
        { "chook_probe after a failure", ok_probe, NULL, CHOOK_OK, { NULL } },
        { "chook_install after a failure", ok_install, NULL, CHOOK_OK, { NULL } },
        { "chook_symbol_lookup after a failure", ok_lookup, NULL, CHOOK_OK, { NULL } },
        { "chook_module_find after a failure", ok_module_find, NULL, CHOOK_OK, { NULL } },
        { "chook_point_find after a failure", ok_point_find, NULL, CHOOK_OK, { NULL } },
        { "a transaction after a failed one", ok_txn, NULL, CHOOK_OK, { NULL } },
        { "chook_module_each whose callback failed", ok_module_each, NULL, CHOOK_OK, { NULL } },
    };
    RUN(rows);
}

/* ---- unknown names ------------------------------------------------------------- */

CALL(n_install_name, chook_install_name("libc.so.6", "bi_no_such_fn", (void *)bi_repl, NULL, NULL))
CALL(n_install_module, chook_install_name("libbi_not_loaded.so", "f", (void *)bi_repl, NULL, NULL))
CALL(n_uninstall_name, chook_uninstall_name("libc.so.6", "bi_no_such_fn"))
CALL(n_attach_name, chook_attach_name(NULL, "bi_no_such_fn", on_enter_count, NULL, NULL, NULL, &ls))
CALL(n_deferred, chook_install_deferred("libc.so.6", "bi_no_such_fn", (void *)bi_repl, NULL, &pd))
CALL(n_import, chook_import_install("", "bi_not_imported", (void *)bi_repl, NULL, &im))
CALL(n_lookup, chook_symbol_lookup(NULL, "bi_no_such_fn", NULL, NULL))
CALL(n_module, chook_module_find("libbi_not_loaded.so", &md))
CALL(n_point, chook_point_find("bi_no_such_point", &pt))
static int n_deferred_in_txn(const row *r)
{
    (void)r;
    /* A hook applied now to a loaded module cannot wait for the open transaction;
     * the failure is the deferred hook's own and leaves the transaction alone. */
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    int st = chook_install_deferred("libc.so.6", "getppid", (void *)bi_repl, NULL, &pd);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", chook_last_error());
    cr_expect_eq(chook_transaction_commit(), CHOOK_OK, "%s", chook_last_error());
    chook__set_last_error(msg);
    return st;
}

Test(bad_input, unknown_names)
{
    static const row rows[] = {
        { "chook_install_name(libc, unknown)", n_install_name, NULL, CHOOK_ENOSYM, { "bi_no_such_fn" } },
        { "chook_install_name(not loaded, f)", n_install_module, NULL, CHOOK_ENOMODULE, { "libbi_not_loaded.so" } },
        { "chook_uninstall_name(libc, unknown)", n_uninstall_name, NULL, CHOOK_ENOSYM, { "bi_no_such_fn" } },
        { "chook_attach_name(NULL, unknown)", n_attach_name, NULL, CHOOK_ENOSYM, { "bi_no_such_fn" } },
        { "chook_install_deferred(libc, unknown)", n_deferred, NULL, CHOOK_ENOSYM, { "bi_no_such_fn" } },
        { "chook_install_deferred inside a transaction", n_deferred_in_txn, NULL, CHOOK_ETXN, { "getppid", "transaction open" } },
        { "chook_import_install(\"\", not imported)", n_import, NULL, CHOOK_ENOSYM, { "bi_not_imported" } },
        { "chook_symbol_lookup(NULL, unknown)", n_lookup, NULL, CHOOK_ENOSYM, { "bi_no_such_fn" } },
        { "chook_module_find(not loaded)", n_module, NULL, CHOOK_ENOMODULE, { "libbi_not_loaded.so" } },
        { "chook_point_find(unknown)", n_point, NULL, CHOOK_ENOSYM, { "bi_no_such_point" } },
    };
    RUN(rows);
}
