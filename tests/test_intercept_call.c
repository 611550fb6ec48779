/*
 * The call context shared with compiled-in hook points: a context built over
 * argument arrays (chook__call_init_values) is read and written through the same
 * public accessors as an intercepted call, and the engine reads the results
 * back. Also: per-thread records of exited threads are reused.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <pthread.h>

#include "call.h"
#include "chook.h"
#include "intercept.h"

static int point_enter(chook_call *call, void *data)
{
    (void)data;
    *chook_arg(call, 1) *= 10;
    *chook_arg_fp(call, 0) += 0.5;
    *chook_call_data(call) = 5;
    cr_expect_null(chook_arg(call, 3), "no argument past the point's own");
    cr_expect_null(chook_arg_fp(call, 1));
    cr_expect_null(chook_arg_at(call, 0), "no signature");
    cr_expect_null(chook_call_return_address(call));
    return chook_skip(call, 77);
}

Test(call, a_context_over_argument_arrays_is_read_and_written_in_place)
{
    uint64_t ints[3] = { 1, 2, 3 };
    double fps[1] = { 1.0 };
    uint64_t slot = 0;
    int point_identity;
    chook_call call;
    chook__call_init_values(&call, ints, 3, fps, 1, &point_identity);
    cr_expect_eq(chook__call_ret(&call, 0), 0, "return values start at zero");
    cr_expect_eq(chook__call_fret(&call, 0), 0.0);
    chook__call_set_listener(&call, &slot, NULL);
    cr_expect_eq(point_enter(&call, NULL), CHOOK_SKIP);
    cr_expect_eq(ints[1], 20);
    cr_expect_eq(fps[0], 1.5);
    cr_expect_eq(slot, 5);
    cr_expect(chook__call_skipped(&call));
    cr_expect_eq(chook__call_ret(&call, 0), 77);
    cr_expect_eq(chook_call_target(&call), &point_identity);
    *chook_retval_fp(&call) = 2.25;
    cr_expect_eq(chook__call_fret(&call, 0), 2.25);
}

Test(call, accessors_tolerate_a_null_context)
{
    cr_expect_null(chook_arg(NULL, 0));
    cr_expect_null(chook_arg_fp(NULL, 0));
    cr_expect_null(chook_arg_at(NULL, 0));
    cr_expect_null(chook_retval(NULL));
    cr_expect_null(chook_retval_fp(NULL));
    cr_expect_null(chook_call_data(NULL));
    /* No call to skip: an error with a message, not CHOOK_SKIP. */
    cr_expect_eq(chook_skip(NULL, 1), CHOOK_EINVAL);
    cr_expect(strstr(chook_last_error(), "call is NULL"), "%s", chook_last_error());
    cr_expect_eq(chook_call_skipped(NULL), 0);
}

/* ---- per-thread records ---- */

static void *touch_record(void *arg)
{
    (void)arg;
    return chook__ithread_self();
}

static size_t count_records(void)
{
    size_t n = 0;
    for (struct chook__ithread *t = chook__ithread_first(); t; t = t->next) n++;
    return n;
}

static size_t owned_records(void)
{
    size_t n = 0;
    for (struct chook__ithread *t = chook__ithread_first(); t; t = t->next)
        n += __atomic_load_n(&t->owner, __ATOMIC_ACQUIRE) != 0;
    return n;
}

Test(call, records_of_exited_threads_are_given_back_and_reused)
{
    cr_assert_not_null(chook__ithread_self());
    size_t before = count_records(), owned = owned_records();
    for (int i = 0; i < 300; i++) {
        pthread_t th;
        void *rec;
        cr_assert_eq(pthread_create(&th, NULL, touch_record, NULL), 0);
        pthread_join(th, &rec);
        cr_assert_not_null(rec);
    }
    cr_expect_eq(count_records(), before, "no new records for sequential threads");
    cr_expect_eq(owned_records(), owned, "every exited thread gave its record back");
}
