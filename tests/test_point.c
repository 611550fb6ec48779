/*
 * Compiled-in hook points: typed prologs and epilogs, aborts, nesting, lookup by
 * name and module, iteration, points in libraries loaded with dlopen(), and the
 * rules attach/detach/wait enforce.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

#include "chook_point.h"
#include "pointlib.h"

/* ---- instrumented functions ------------------------------------------------- */

static int scale_bodies; /* how many times the body of pt_scale ran */

CHOOK_POINT(pt_scale, int, int, const char *);

__attribute__((noinline)) int pt_scale(int a, const char *b)
{
    CHOOK_ENTER(pt_scale, a, b);
    scale_bodies++;
    int r = a * 100 + (int)strlen(b);
    CHOOK_RETURN(pt_scale, r);
}

/* Nesting: pt_outer calls pt_inner; both have points. */
CHOOK_POINT(pt_inner, int, int);

__attribute__((noinline)) int pt_inner(int x)
{
    CHOOK_ENTER(pt_inner, x);
    CHOOK_RETURN(pt_inner, x + 1);
}

CHOOK_POINT(pt_outer, int, int);

__attribute__((noinline)) int pt_outer(int x)
{
    CHOOK_ENTER(pt_outer, x);
    int r = pt_inner(x) * 2;
    CHOOK_RETURN(pt_outer, r);
}

/* Recursion: the same point nested in itself. */
CHOOK_POINT(pt_sum, unsigned, unsigned);

__attribute__((noinline)) unsigned pt_sum(unsigned n)
{
    CHOOK_ENTER(pt_sum, n);
    unsigned r = n == 0 ? 0 : n + pt_sum(n - 1);
    CHOOK_RETURN(pt_sum, r);
}

/* A void function with two return paths. */
static int log_total;

CHOOK_POINT_VOID(pt_log, int);

__attribute__((noinline)) void pt_log(int v)
{
    CHOOK_ENTER_VOID(pt_log, v);
    if (v < 0) return;
    log_total += v;
}

/* A non-void function with a return that bypasses CHOOK_RETURN. */
CHOOK_POINT(pt_early, int, int);

__attribute__((noinline)) int pt_early(int v)
{
    CHOOK_ENTER(pt_early, v);
    if (v == 0) return -1;
    CHOOK_RETURN(pt_early, v);
}

/* No arguments, struct return. */
struct pair { int a, b; };

CHOOK_POINT(pt_pair, struct pair);

__attribute__((noinline)) struct pair pt_pair(void)
{
    CHOOK_ENTER(pt_pair);
    struct pair p = { 1, 2 };
    CHOOK_RETURN(pt_pair, p);
}

static chook_point *find(const char *name)
{
    chook_point *p = NULL;
    int st = chook_point_find(name, &p);
    cr_assert_eq(st, CHOOK_OK, "find %s: %s", name, chook_last_error());
    cr_assert_not_null(p);
    return p;
}

/* ---- typed prologs and epilogs --------------------------------------------------- */

static int double_a(void *data, chook_point_epilog_pt_scale *ep, int *r, int *a,
                    const char **b)
{
    (void)ep;
    (void)r;
    *a *= 2;
    *b = (const char *)data;
    return CHOOK_POINT_CONTINUE;
}

Test(point_typed, prolog_rewrites_arguments)
{
    chook_point *p = find("pt_scale");
    cr_assert_eq(pt_scale(3, "xy"), 302);
    cr_assert_eq(chook_point_attach_pt_scale(p, double_a, "hello"), CHOOK_OK, "%s",
                 chook_last_error());
    cr_assert_eq(pt_scale(3, "xy"), 605, "a doubled, b replaced by the data");
    cr_assert_eq(chook_point_detach(p), CHOOK_OK);
    cr_assert_eq(pt_scale(3, "xy"), 302, "detached: the function is itself again");
    cr_assert_eq(chook_point_wait(p, 1000), CHOOK_OK);
}

static int abort_with_42(void *data, chook_point_epilog_pt_scale *ep, int *r, int *a,
                         const char **b)
{
    (void)data, (void)ep, (void)a, (void)b;
    cr_assert_eq(*r, 0, "the return value starts zeroed");
    *r = 42;
    return CHOOK_POINT_ABORT;
}

Test(point_typed, abort_returns_the_prologs_value_without_running_the_body)
{
    chook_point *p = find("pt_scale");
    cr_assert_eq(chook_point_attach_pt_scale(p, abort_with_42, NULL), CHOOK_OK);
    int before = scale_bodies;
    cr_assert_eq(pt_scale(3, "xy"), 42);
    cr_assert_eq(scale_bodies, before, "the body did not run");
    cr_assert_eq(chook_point_detach(p), CHOOK_OK);
}

static void add_1000(void *data, int *r)
{
    (void)data;
    *r += 1000;
}

static int with_epilog(void *data, chook_point_epilog_pt_scale *ep, int *r, int *a,
                       const char **b)
{
    (void)r, (void)a, (void)b;
    ep->fn = add_1000;
    ep->data = data;
    return CHOOK_POINT_CONTINUE;
}

Test(point_typed, epilog_rewrites_the_return_value)
{
    chook_point *p = find("pt_scale");
    cr_assert_eq(chook_point_attach_pt_scale(p, with_epilog, NULL), CHOOK_OK);
    cr_assert_eq(pt_scale(3, "xy"), 1302);
    cr_assert_eq(chook_point_detach(p), CHOOK_OK);
}

static void check_and_add(void *data, int *r)
{
    cr_assert_eq(*r, 42, "the epilog sees the value the prolog aborted with");
    *r += *(int *)data;
}

static int abort_with_epilog(void *data, chook_point_epilog_pt_scale *ep, int *r, int *a,
                             const char **b)
{
    (void)a, (void)b;
    ep->fn = check_and_add;
    ep->data = data;
    *r = 42;
    return CHOOK_POINT_ABORT;
}

Test(point_typed, epilog_runs_after_an_abort)
{
    chook_point *p = find("pt_scale");
    int add = 7;
    cr_assert_eq(chook_point_attach_pt_scale(p, abort_with_epilog, &add), CHOOK_OK);
    int before = scale_bodies;
    cr_assert_eq(pt_scale(1, ""), 49);
    cr_assert_eq(scale_bodies, before);
    cr_assert_eq(chook_point_detach(p), CHOOK_OK);
}

/* The epilog's data is the prolog's closure: per call, not per attachment. */
struct call_note { int a_seen; };

static void closure_epilog(void *data, int *r)
{
    struct call_note *n = data;
    *r = n->a_seen;
    free(n);
}

static int closure_prolog(void *data, chook_point_epilog_pt_scale *ep, int *r, int *a,
                          const char **b)
{
    (void)data, (void)r, (void)b;
    struct call_note *n = malloc(sizeof *n);
    cr_assert_not_null(n);
    n->a_seen = *a;
    ep->fn = closure_epilog;
    ep->data = n;
    return CHOOK_POINT_CONTINUE;
}

Test(point_typed, epilog_data_carries_state_from_its_own_call)
{
    chook_point *p = find("pt_scale");
    cr_assert_eq(chook_point_attach_pt_scale(p, closure_prolog, NULL), CHOOK_OK);
    cr_assert_eq(pt_scale(5, "abc"), 5);
    cr_assert_eq(pt_scale(9, "abc"), 9);
    cr_assert_eq(chook_point_detach(p), CHOOK_OK);
}

static int struct_prolog(void *data, chook_point_epilog_pt_pair *ep, struct pair *r)
{
    (void)data, (void)ep;
    r->a = 10;
    r->b = 20;
    return CHOOK_POINT_ABORT;
}

Test(point_typed, no_arguments_and_a_struct_return)
{
    chook_point *p = find("pt_pair");
    cr_assert_eq(chook_point_attach_pt_pair(p, struct_prolog, NULL), CHOOK_OK);
    struct pair r = pt_pair();
    cr_assert_eq(r.a, 10);
    cr_assert_eq(r.b, 20);
    cr_assert_eq(chook_point_detach(p), CHOOK_OK);
    r = pt_pair();
    cr_assert_eq(r.a, 1);
    cr_assert_eq(r.b, 2);
}

/* ---- nesting -------------------------------------------------------------------- */

static char trace[64];

static void trace_add(char c)
{
    size_t n = strlen(trace);
    cr_assert_lt(n + 1, sizeof trace);
    trace[n] = c;
}

static void inner_epilog(void *data, int *r) { (void)data, (void)r; trace_add('i'); }
static void outer_epilog(void *data, int *r) { (void)data, (void)r; trace_add('o'); }

static int inner_prolog(void *data, chook_point_epilog_pt_inner *ep, int *r, int *x)
{
    (void)data, (void)r;
    trace_add('I');
    *x += 1;
    ep->fn = inner_epilog;
    return CHOOK_POINT_CONTINUE;
}

static int outer_prolog(void *data, chook_point_epilog_pt_outer *ep, int *r, int *x)
{
    (void)data, (void)r;
    trace_add('O');
    *x += 10;
    ep->fn = outer_epilog;
    return CHOOK_POINT_CONTINUE;
}

Test(point_nesting, nested_points_run_their_callbacks_in_call_order)
{
    chook_point *in = find("pt_inner"), *out = find("pt_outer");
    cr_assert_eq(chook_point_attach_pt_inner(in, inner_prolog, NULL), CHOOK_OK);
    cr_assert_eq(chook_point_attach_pt_outer(out, outer_prolog, NULL), CHOOK_OK);
    trace[0] = 0;
    cr_assert_eq(pt_outer(1), ((1 + 10) + 1 + 1) * 2);
    cr_assert_str_eq(trace, "OIio");
    cr_assert_eq(chook_point_detach(in), CHOOK_OK);
    cr_assert_eq(chook_point_detach(out), CHOOK_OK);
}

/* Each level of the recursion sees its own closure, released in LIFO order. */
static unsigned sum_depth, sum_max_depth;

static void sum_epilog(void *data, unsigned *r)
{
    unsigned level = (unsigned)(uintptr_t)data;
    cr_assert_eq(level, sum_depth, "epilogs run innermost first");
    sum_depth--;
    *r += 1; /* one per level */
}

static int sum_prolog(void *data, chook_point_epilog_pt_sum *ep, unsigned *r, unsigned *n)
{
    (void)data, (void)r, (void)n;
    sum_depth++;
    if (sum_depth > sum_max_depth) sum_max_depth = sum_depth;
    ep->fn = sum_epilog;
    ep->data = (void *)(uintptr_t)sum_depth;
    return CHOOK_POINT_CONTINUE;
}

Test(point_nesting, a_point_nested_in_itself_keeps_one_closure_per_level)
{
    chook_point *p = find("pt_sum");
    cr_assert_eq(chook_point_attach_pt_sum(p, sum_prolog, NULL), CHOOK_OK);
    /* Level k returns (sum of 0..n at that level) plus the epilogs below it. */
    unsigned r = pt_sum(5);
    cr_assert_eq(sum_max_depth, 6);
    cr_assert_eq(sum_depth, 0);
    cr_assert_eq(r, 15 + 6, "each level adds one");
    cr_assert_eq(chook_point_detach(p), CHOOK_OK);
}

/* ---- void points and returns that bypass CHOOK_RETURN ---------------------------- */

static int log_epilogs;

static void log_epilog(void *data) { (void)data; log_epilogs++; }

static int log_prolog(void *data, chook_point_epilog_pt_log *ep, int *v)
{
    (void)data;
    ep->fn = log_epilog;
    if (*v == 99) return CHOOK_POINT_ABORT;
    return CHOOK_POINT_CONTINUE;
}

Test(point_void, epilog_runs_on_every_return_of_a_void_function)
{
    chook_point *p = find("pt_log");
    cr_assert_eq(chook_point_attach_pt_log(p, log_prolog, NULL), CHOOK_OK);
    log_total = 0;
    pt_log(5);   /* falls off the end */
    pt_log(-1);  /* early return */
    pt_log(99);  /* aborted */
    cr_assert_eq(log_total, 5);
    cr_assert_eq(log_epilogs, 3);
    cr_assert_eq(chook_point_detach(p), CHOOK_OK);
}

static int early_epilogs;

static void early_epilog(void *data, int *r) { (void)data, (void)r; early_epilogs++; }

static int early_prolog(void *data, chook_point_epilog_pt_early *ep, int *r, int *v)
{
    (void)data, (void)r, (void)v;
    ep->fn = early_epilog;
    return CHOOK_POINT_CONTINUE;
}

Test(point_void, plain_return_skips_the_epilog_but_ends_the_call)
{
    chook_point *p = find("pt_early");
    cr_assert_eq(chook_point_attach_pt_early(p, early_prolog, NULL), CHOOK_OK);
    cr_assert_eq(pt_early(0), -1);
    cr_assert_eq(early_epilogs, 0, "no value for the epilog to see");
    cr_assert_eq(pt_early(3), 3);
    cr_assert_eq(early_epilogs, 1);
    cr_assert_eq(chook_point_detach(p), CHOOK_OK);
    /* The call is not left counted in flight: waiting succeeds at once. */
    cr_assert_eq(chook_point_wait(p, 0), CHOOK_OK, "%s", chook_last_error());
}

/* ---- find, info, iteration ----------------------------------------------------------- */

Test(point_find, finds_a_point_by_name_and_describes_it)
{
    chook_point *p = find("pt_scale");
    chook_point_info info;
    cr_assert_eq(chook_point_get_info(p, &info), CHOOK_OK);
    cr_assert_eq(info.point, p);
    cr_assert_str_eq(info.name, "pt_scale");
    cr_assert_str_eq(info.signature, "int (int, const char *)");
    cr_assert_eq(info.nargs, 2);
    cr_assert_eq(info.returns_void, 0);
    cr_assert_eq(info.state, CHOOK_POINT_DETACHED);
    cr_assert(strstr(info.file, "test_point.c") != NULL, "file %s", info.file);
    cr_assert_gt(info.line, 0);
    cr_assert(strstr(info.module, "test_point") != NULL, "module %s", info.module);

    cr_assert_eq(chook_point_attach_pt_scale(p, double_a, "x"), CHOOK_OK);
    cr_assert_eq(chook_point_get_info(p, &info), CHOOK_OK);
    cr_assert_eq(info.state, CHOOK_POINT_TYPED);
    cr_assert_eq(chook_point_detach(p), CHOOK_OK);

    cr_assert_eq(chook_point_get_info(find("pt_log"), &info), CHOOK_OK);
    cr_assert_str_eq(info.signature, "void (int)");
    cr_assert_eq(info.returns_void, 1);
    cr_assert_eq(chook_point_get_info(find("pt_pair"), &info), CHOOK_OK);
    cr_assert_str_eq(info.signature, "struct pair (void)");
    cr_assert_eq(info.nargs, 0);
}

Test(point_find, unknown_name_is_ENOSYM)
{
    chook_point *p = (chook_point *)0x1;
    cr_assert_eq(chook_point_find("pt_no_such_point", &p), CHOOK_ENOSYM);
    cr_assert_eq(p, (chook_point *)0x1, "output untouched on failure");
    cr_assert(strstr(chook_last_error(), "pt_no_such_point") != NULL, "%s",
              chook_last_error());
}

Test(point_find, null_arguments_are_EINVAL)
{
    chook_point *p;
    cr_assert_eq(chook_point_find(NULL, &p), CHOOK_EINVAL);
    cr_assert_eq(chook_point_find("pt_scale", NULL), CHOOK_EINVAL);
    cr_assert_eq(chook_point_get_info(NULL, &(chook_point_info){ 0 }), CHOOK_EINVAL);
    cr_assert_eq(chook_point_get_info(find("pt_scale"), NULL), CHOOK_EINVAL);
    cr_assert_eq(chook_point_each(NULL, NULL), CHOOK_EINVAL);
}

Test(point_find, the_empty_module_name_is_the_main_program)
{
    chook_point *p;
    cr_assert_eq(chook_point_find_in("", "pt_scale", &p), CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(p, find("pt_scale"));
}

Test(point_find, unknown_module_is_ENOMODULE)
{
    chook_point *p;
    cr_assert_eq(chook_point_find_in("libno_such_module.so", "pt_scale", &p),
                 CHOOK_ENOMODULE);
}

struct seen { int scale, log, pair, other; int stop_after; int visited; };

static int count_point(const chook_point_info *info, void *ctx)
{
    struct seen *s = ctx;
    s->visited++;
    if (strcmp(info->name, "pt_scale") == 0) {
        s->scale++;
        cr_assert_eq(info->state, CHOOK_POINT_TYPED, "iteration reports the state");
        cr_assert_str_eq(info->signature, "int (int, const char *)");
    } else if (strcmp(info->name, "pt_log") == 0) {
        s->log++;
        cr_assert_eq(info->state, CHOOK_POINT_DETACHED);
    } else if (strcmp(info->name, "pt_pair") == 0) {
        s->pair++;
    } else {
        s->other++;
    }
    return s->stop_after && s->visited == s->stop_after;
}

Test(point_find, iteration_visits_every_point_once_with_its_state)
{
    chook_point *p = find("pt_scale");
    cr_assert_eq(chook_point_attach_pt_scale(p, double_a, "x"), CHOOK_OK);
    struct seen s = { 0 };
    cr_assert_eq(chook_point_each(count_point, &s), CHOOK_OK);
    cr_assert_eq(s.scale, 1);
    cr_assert_eq(s.log, 1);
    cr_assert_eq(s.pair, 1);
    cr_assert_eq(s.other, 5, "pt_inner, pt_outer, pt_sum, pt_early, pt_jump");
    struct seen first2 = { .stop_after = 2 };
    cr_assert_eq(chook_point_each(count_point, &first2), CHOOK_OK);
    cr_assert_eq(first2.visited, 2, "a non-zero return stops the walk");
    cr_assert_eq(chook_point_detach(p), CHOOK_OK);
}

/* ---- attach rules -------------------------------------------------------------------- */

Test(point_rules, attach_refuses_a_prolog_of_another_signature)
{
    chook_point *p = find("pt_scale");
    int st = chook_point_attach_typed(p, "int (long, const char *)", (chook_point_fn)double_a,
                                      NULL);
    cr_assert_eq(st, CHOOK_EINVAL);
    cr_assert(strstr(chook_last_error(), "int (long, const char *)") != NULL, "%s",
              chook_last_error());
    chook_point_info info;
    cr_assert_eq(chook_point_get_info(p, &info), CHOOK_OK);
    cr_assert_eq(info.state, CHOOK_POINT_DETACHED, "the point is as it was");
    cr_assert_eq(pt_scale(3, "xy"), 302);
}

Test(point_rules, signatures_compare_ignoring_spaces_that_do_not_separate_words)
{
    chook_point *p = find("pt_scale");
    cr_assert_eq(chook_point_attach_typed(p, " int(int,const char*) ",
                                          (chook_point_fn)double_a, "q"), CHOOK_OK,
                 "%s", chook_last_error());
    cr_assert_eq(pt_scale(1, ""), 201);
    cr_assert_eq(chook_point_attach_typed(p, "int (int, constchar *)",
                                          (chook_point_fn)double_a, "q"), CHOOK_EINVAL);
    cr_assert_eq(chook_point_detach(p), CHOOK_OK);
}

Test(point_rules, attach_refuses_what_is_not_a_point)
{
    static struct chook_point fake; /* never registered */
    int x = 0;
    cr_assert_eq(chook_point_attach_pt_scale((chook_point *)&x, double_a, NULL), CHOOK_EINVAL);
    cr_assert_eq(chook_point_attach_pt_scale(&fake, double_a, NULL), CHOOK_EINVAL);
    cr_assert_eq(chook_point_attach_pt_scale(NULL, double_a, NULL), CHOOK_EINVAL);
    cr_assert_eq(chook_point_detach((chook_point *)0x10), CHOOK_EINVAL);
    cr_assert_eq(chook_point_wait((chook_point *)&x, 0), CHOOK_EINVAL);
    cr_assert_eq(chook_point_attach_typed(find("pt_scale"), NULL, (chook_point_fn)double_a,
                                          NULL), CHOOK_EINVAL);
}

Test(point_rules, attaching_null_detaches)
{
    chook_point *p = find("pt_scale");
    cr_assert_eq(chook_point_attach_pt_scale(p, double_a, "x"), CHOOK_OK);
    cr_assert_eq(chook_point_attach_pt_scale(p, NULL, NULL), CHOOK_OK);
    cr_assert_eq(pt_scale(3, "xy"), 302);
    cr_assert_eq(chook_point_detach(p), CHOOK_OK, "detaching a detached point is fine");
}

static int wait_status;

static int waiting_prolog(void *data, chook_point_epilog_pt_scale *ep, int *r, int *a,
                          const char **b)
{
    (void)ep, (void)r, (void)a, (void)b;
    wait_status = chook_point_wait((chook_point *)data, 20);
    return CHOOK_POINT_CONTINUE;
}

Test(point_rules, wait_from_inside_its_own_callback_is_EBUSY_at_the_timeout)
{
    chook_point *p = find("pt_scale");
    cr_assert_eq(chook_point_attach_pt_scale(p, waiting_prolog, p), CHOOK_OK);
    cr_assert_eq(pt_scale(3, "xy"), 302);
    cr_assert_eq(wait_status, CHOOK_EBUSY);
    cr_assert(strstr(chook_last_error(), "pt_scale") != NULL, "%s", chook_last_error());
    cr_assert_eq(chook_point_detach(p), CHOOK_OK);
    cr_assert_eq(chook_point_wait(p, 1000), CHOOK_OK);
}

/* ---- jump mode ----------------------------------------------------------------------- */

/* pt_jump is compiled in jump mode whatever the build's default
 * (point/jumpfns.c). */
CHOOK_POINT_TYPES(pt_jump, int, int);
int pt_jump(int x);

static int negate_prolog(void *data, chook_point_epilog_pt_jump *ep, int *r, int *x)
{
    (void)data, (void)ep, (void)r;
    *x = -*x;
    return CHOOK_POINT_CONTINUE;
}

Test(point_jump, attaching_rewrites_the_site_and_detaching_restores_it_exactly)
{
    chook_point *p = find("pt_jump");
    /* The whole function, by its symbol size (the site is somewhere in it). */
    Dl_info dli;
    const ElfW(Sym) *sym = NULL;
    cr_assert(dladdr1((void *)pt_jump, &dli, (void **)&sym, RTLD_DL_SYMENT) && sym);
    size_t size = sym->st_size;
    cr_assert(size > 0 && size <= 4096, "size %zu", size);
    unsigned char before[4096], during[4096], after[4096];
    memcpy(before, (const void *)pt_jump, size);
    cr_assert_eq(pt_jump(2), 6);
    cr_assert_eq(chook_point_attach_pt_jump(p, negate_prolog, NULL), CHOOK_OK, "%s",
                 chook_last_error());
    memcpy(during, (const void *)pt_jump, size);
    cr_assert_neq(memcmp(before, during, size), 0, "a site became a jump");
    cr_assert_eq(pt_jump(2), -6);
    cr_assert_eq(chook_point_attach_pt_jump(p, negate_prolog, NULL), CHOOK_OK,
                 "replacing an attachment keeps the jump");
    cr_assert_eq(pt_jump(2), -6);
    cr_assert_eq(chook_point_detach(p), CHOOK_OK, "%s", chook_last_error());
    memcpy(after, (const void *)pt_jump, size);
    cr_assert_eq(memcmp(before, after, size), 0, "the no-op is back, byte for byte");
    cr_assert_eq(pt_jump(2), 6);
}
