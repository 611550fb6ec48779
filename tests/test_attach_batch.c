/*
 * Listeners in batches: attach and detach inside transactions (all or nothing,
 * claims against other threads), chook_attach_pattern (aliases, exclusions,
 * unhookable functions, clones), exported-only enumeration, compiler clones in
 * lookups, and chook_detach_wait() from an atexit handler while exit() itself
 * is intercepted.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chook.h"

#define NOINLINE __attribute__((noinline, noclone))
#define BODY(k)                                                                                  \
    long r = a * (k) + 1;                                                                        \
    __asm__ volatile("" : "+r"(r));                                                              \
    return r;

NOINLINE long batch_fn_0(long a) { BODY(2) }
NOINLINE long batch_fn_1(long a) { BODY(3) }
NOINLINE long batch_fn_2(long a) { BODY(4) }
NOINLINE long batch_fn_3(long a) { BODY(5) }
NOINLINE long batch_fn_4(long a) { BODY(6) }
NOINLINE long batch_fn_5(long a) { BODY(7) }
/* An alias: one function, two names. */
long batch_fn_alias(long a) __attribute__((alias("batch_fn_5")));
/* Not exported: local binding. */
NOINLINE static long batch_local_fn(long a) { BODY(8) }

/* Functions named as GCC names its clones. */
NOINLINE long cl_one_impl(long a) __asm__("clone_one.constprop.0");
NOINLINE long cl_one_impl(long a) { BODY(9) }
NOINLINE long cl_two_a(long a) __asm__("clone_two.isra.0");
NOINLINE long cl_two_a(long a) { BODY(10) }
NOINLINE long cl_two_b(long a) __asm__("clone_two.part.0");
NOINLINE long cl_two_b(long a) { BODY(11) }
NOINLINE long cl_two_cold(long a) __asm__("clone_two.cold");
NOINLINE long cl_two_cold(long a) { BODY(12) }

typedef long (*fn_t)(long);
static fn_t volatile fns[6] = { batch_fn_0, batch_fn_1, batch_fn_2,
                                batch_fn_3, batch_fn_4, batch_fn_5 };
static fn_t volatile p_local = batch_local_fn;
static fn_t volatile p_clone_one = cl_one_impl;
static fn_t volatile p_two_a = cl_two_a, p_two_b = cl_two_b;

static int counts[16];

static int count_enter(chook_call *call, void *data)
{
    (void)call;
    __atomic_add_fetch((int *)data, 1, __ATOMIC_RELAXED);
    return CHOOK_CONTINUE;
}

static void call_all(void)
{
    for (int i = 0; i < 6; i++) fns[i](1);
}

Test(batch, attaches_many_functions_at_one_commit)
{
    chook_listener *l[6];
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(chook_attach((void *)fns[i], count_enter, NULL, &counts[i], &l[i]), CHOOK_OK,
                     "%s", chook_last_error());
    /* Two listeners on one target in the same transaction. */
    chook_listener *extra;
    cr_assert_eq(chook_attach((void *)fns[0], count_enter, NULL, &counts[6], &extra), CHOOK_OK);
    call_all();
    for (int i = 0; i < 7; i++) cr_expect_eq(counts[i], 0, "nothing before the commit (%d)", i);
    cr_assert_eq(chook_transaction_commit(), CHOOK_OK, "%s", chook_last_error());
    call_all();
    for (int i = 0; i < 7; i++) cr_expect_eq(counts[i], 1, "listener %d", i);
    for (int i = 0; i < 6; i++) cr_expect_eq(fns[i](2), 2 * (i + 2) + 1, "results unchanged");

    /* Detach them all in one transaction: the targets' bytes come back. */
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    for (int i = 0; i < 6; i++) cr_assert_eq(chook_detach(l[i]), CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(chook_detach(extra), CHOOK_OK, "%s", chook_last_error());
    call_all();
    cr_expect_eq(counts[3], 3, "still attached before the commit");
    cr_assert_eq(chook_transaction_commit(), CHOOK_OK, "%s", chook_last_error());
    call_all();
    cr_expect_eq(counts[3], 3, "detached");
    cr_expect_eq(counts[6], 3);
    for (int i = 0; i < 6; i++) {
        chook_probe_info info = { .size = sizeof info };
        cr_assert_eq(chook_probe((void *)fns[i], &info), CHOOK_OK);
        cr_expect_eq(info.hooked, 0, "target %d restored", i);
    }
    cr_expect_eq(chook_detach_wait(1000), CHOOK_OK);
}

Test(batch, a_failing_operation_attaches_nothing)
{
    static const char data_not_code[32] = { 0 };
    chook_listener *a, *b;
    memset(counts, 0, sizeof counts);
    uint8_t before[16];
    memcpy(before, (void *)batch_fn_1, sizeof before);
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    cr_assert_eq(chook_attach((void *)fns[1], count_enter, NULL, &counts[1], &a), CHOOK_OK);
    cr_expect_eq(chook_attach((void *)data_not_code, count_enter, NULL, &counts[2], &b),
                 CHOOK_ENOTEXEC, "%s", chook_last_error());
    cr_expect_eq(chook_transaction_commit(), CHOOK_ENOTEXEC);
    fns[1](1);
    cr_expect_eq(counts[1], 0, "the good one was not attached either");
    cr_expect_arr_eq(before, (void *)batch_fn_1, sizeof before);
    /* And an abort: nothing either; the target can be attached afterwards. */
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    cr_assert_eq(chook_attach((void *)fns[1], count_enter, NULL, &counts[1], &a), CHOOK_OK);
    cr_assert_eq(chook_transaction_abort(), CHOOK_OK);
    fns[1](1);
    cr_expect_eq(counts[1], 0);
    cr_assert_eq(chook_attach((void *)fns[1], count_enter, NULL, &counts[1], &a), CHOOK_OK,
                 "%s", chook_last_error());
    fns[1](1);
    cr_expect_eq(counts[1], 1);
    cr_assert_eq(chook_detach(a), CHOOK_OK);
}

static void *attach_from_other_thread(void *arg)
{
    chook_listener *l;
    int st = chook_attach((void *)fns[2], count_enter, NULL, &counts[9], &l);
    *(int *)arg = st;
    if (st == CHOOK_OK) chook_detach(l);
    return NULL;
}

Test(batch, another_thread_cannot_touch_a_target_claimed_by_a_transaction)
{
    chook_listener *l, *m;
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    cr_assert_eq(chook_attach((void *)fns[2], count_enter, NULL, &counts[2], &l), CHOOK_OK);
    int st = 0;
    pthread_t t;
    pthread_create(&t, NULL, attach_from_other_thread, &st);
    pthread_join(t, NULL);
    cr_expect_eq(st, CHOOK_EBUSY);
    cr_assert_eq(chook_transaction_commit(), CHOOK_OK, "%s", chook_last_error());
    /* Attach and detach of one target do not mix in one transaction. */
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
    cr_expect_eq(chook_attach((void *)fns[2], count_enter, NULL, &counts[2], &m), CHOOK_ETXN);
    cr_expect_eq(chook_transaction_commit(), CHOOK_ETXN);
    /* The failed commit kept l attached. */
    counts[2] = 0;
    fns[2](1);
    cr_expect_eq(counts[2], 1);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
    pthread_create(&t, NULL, attach_from_other_thread, &st);
    pthread_join(t, NULL);
    cr_expect_eq(st, CHOOK_OK, "free again");
}

Test(batch, a_refused_detach_fails_the_transaction)
{
    chook_listener *l, *m;
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    cr_assert_eq(chook_attach((void *)fns[4], count_enter, NULL, &counts[4], &l), CHOOK_OK);
    cr_expect_eq(chook_detach(l), CHOOK_ETXN, "not committed yet");
    cr_expect_eq(chook_transaction_commit(), CHOOK_ETXN);
    cr_assert_eq(chook_attach((void *)fns[4], count_enter, NULL, &counts[4], &l), CHOOK_OK);
    cr_assert_eq(chook_attach((void *)fns[4], count_enter, NULL, &counts[5], &m), CHOOK_OK);
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
    cr_expect_eq(chook_detach(l), CHOOK_ENOTHOOKED, "queued once");
    cr_expect_eq(chook_transaction_commit(), CHOOK_ENOTHOOKED);
    counts[4] = counts[5] = 0;
    fns[4](1);
    cr_expect(counts[4] == 1 && counts[5] == 1, "both still attached");
    cr_assert_eq(chook_transaction_begin(), CHOOK_OK);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
    cr_assert_eq(chook_transaction_commit(), CHOOK_OK, "%s", chook_last_error());
    fns[4](1);
    cr_expect(counts[4] == 1 && counts[5] == 2, "only l went");
    cr_assert_eq(chook_detach(m), CHOOK_OK);
}

struct seen {
    char names[1024];
    int selected, reported, attached;
};

static int select_not_3(chook_pattern_match *m, void *arg)
{
    struct seen *s = arg;
    s->selected++;
    if (!strcmp(m->symbol->name, "batch_fn_3")) return 0;
    m->data = &counts[m->symbol->name[strlen(m->symbol->name) - 1] - '0'];
    return 1;
}

static int note(chook_pattern_match *m, void *arg)
{
    struct seen *s = arg;
    s->reported++;
    s->attached += m->status == CHOOK_OK;
    char line[128];
    snprintf(line, sizeof line, "%s=%d;", m->symbol->name, m->status);
    strncat(s->names, line, sizeof s->names - strlen(s->names) - 1);
    return 0;
}

Test(batch, pattern_attaches_every_match_once_and_reports_each)
{
    memset(counts, 0, sizeof counts);
    struct seen s = { "" };
    size_t n = 0;
    /* batch_fn_5 sorts before batch_fn_alias: the alias is reported, not attached. */
    cr_assert_eq(chook_attach_pattern(":batch_fn_*", CHOOK_EACH_EXPORTED, count_enter, NULL,
                                      NULL, NULL, select_not_3, note, &s, &n),
                 CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(s.selected, 7);
    cr_expect_eq(s.reported, 6, "batch_fn_3 excluded");
    cr_expect_eq(n, 5);
    cr_expect_eq(s.attached, 5);
    cr_expect(strstr(s.names, "batch_fn_alias=-10;") != NULL, "%s", s.names);
    cr_expect(strstr(s.names, "batch_fn_3") == NULL, "%s", s.names);
    call_all();
    cr_expect_eq(counts[3], 0);
    cr_expect_eq(counts[0] + counts[1] + counts[2] + counts[4], 4);
    cr_expect_eq(chook_attach_pattern(":no_such_fn_*", 0, count_enter, NULL, NULL, NULL, NULL,
                                      NULL, NULL, &n),
                 CHOOK_ENOSYM);
    cr_expect_eq(chook_attach_pattern("libnot-loaded.so:*", 0, count_enter, NULL, NULL, NULL,
                                      NULL, NULL, NULL, &n),
                 CHOOK_ENOMODULE);
}

static int count_sym(const chook_symbol *sym, void *arg)
{
    (void)sym;
    ++*(int *)arg;
    return 0;
}

Test(batch, exported_only_enumeration_leaves_local_functions_out)
{
    int all = 0, exported = 0;
    cr_assert_eq(chook_symbol_each(":batch_local_fn", count_sym, &all), CHOOK_OK);
    cr_expect_eq(all, 1);
    cr_expect_eq(chook_symbol_each_ex(":batch_local_fn", CHOOK_EACH_EXPORTED, count_sym,
                                      &exported),
                 CHOOK_ENOSYM);
    cr_expect_eq(exported, 0);
    cr_expect_eq(chook_symbol_each_ex(":batch_local_fn", 1u << 9, count_sym, &exported),
                 CHOOK_EINVAL);
    p_local(1);
}

Test(batch, a_plain_name_finds_the_compiler_clones)
{
    void *addr = NULL;
    chook_symbol sym = { .size_of_struct = sizeof sym };
    cr_assert_eq(chook_symbol_lookup(NULL, "clone_one", &sym, &addr), CHOOK_OK, "%s",
                 chook_last_error());
    cr_expect_eq(addr, (void *)cl_one_impl);
    cr_expect_str_eq(sym.name, "clone_one.constprop.0");
    /* Several clones: the lookup names them (the cold part is not one to call). */
    cr_expect_eq(chook_symbol_lookup(NULL, "clone_two", NULL, &addr), CHOOK_EAMBIGUOUS);
    cr_expect(strstr(chook_last_error(), "clone_two.isra.0") != NULL, "%s", chook_last_error());
    cr_expect(strstr(chook_last_error(), "cold") == NULL, "%s", chook_last_error());
    /* chook_attach_name on the only clone. */
    chook_listener *l;
    memset(counts, 0, sizeof counts);
    cr_assert_eq(chook_attach_name(NULL, "clone_one", count_enter, NULL, &counts[0], NULL, &l),
                 CHOOK_OK, "%s", chook_last_error());
    p_clone_one(1);
    cr_expect_eq(counts[0], 1);
    cr_assert_eq(chook_detach(l), CHOOK_OK);
    /* The pattern reaches every clone, says which, and leaves the cold part. */
    struct seen s = { "" };
    size_t n;
    cr_assert_eq(chook_attach_pattern(":clone_two", CHOOK_EACH_CLONES, count_enter, NULL,
                                      &counts[1], NULL, NULL, note, &s, &n),
                 CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(n, 2);
    cr_expect(strstr(s.names, "clone_two.isra.0=0;") != NULL, "%s", s.names);
    cr_expect(strstr(s.names, "clone_two.part.0=0;") != NULL, "%s", s.names);
    cr_expect(strstr(s.names, "clone_two.cold=-20;") != NULL, "%s", s.names);
    p_two_a(1);
    p_two_b(1);
    cr_expect_eq(counts[1], 2);
    /* Without the flag a plain name is only itself. */
    cr_expect_eq(chook_attach_pattern(":clone_two", 0, count_enter, NULL, NULL, NULL, NULL, NULL,
                                      NULL, &n),
                 CHOOK_ENOSYM);
}

/* ---- exit ----------------------------------------------------------------------- */

static int exit_pipe = -1;
static chook_listener *exit_listener;

static void exit_leave(chook_call *call, void *data)
{
    (void)call;
    (void)data;
}

static void report_at_exit(void)
{
    int st = chook_detach(exit_listener);
    if (st == CHOOK_OK) st = chook_detach_wait(1000);
    if (write(exit_pipe, &st, sizeof st) != sizeof st) _exit(3);
}

Test(batch, detach_wait_from_an_atexit_handler_while_exit_is_intercepted)
{
    int fd[2];
    cr_assert_eq(pipe(fd), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        close(fd[0]);
        exit_pipe = fd[1];
        atexit(report_at_exit);
        if (chook_attach((void *)exit, count_enter, exit_leave, &counts[0], &exit_listener) !=
            CHOOK_OK)
            _exit(2);
        exit(0);
    }
    close(fd[1]);
    int st = 12345;
    cr_expect_eq(read(fd[0], &st, sizeof st), (ssize_t)sizeof st);
    int ws;
    waitpid(pid, &ws, 0);
    cr_expect(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "status %d", ws);
    cr_expect_eq(st, CHOOK_OK, "chook_detach_wait in the atexit handler: %d", st);
}
