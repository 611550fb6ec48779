/*
 * Function-pointer slots of C ops structs: writable and read-only (const, after
 * RELRO) structs, chaining, and removal.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "chook.h"
#include "internal.h"

struct file_ops {
    int (*read)(int);
    int (*write)(int);
};

__attribute__((noipa)) static int real_read(int x) { return x + 1; }
__attribute__((noipa)) static int real_write(int x) { return x + 2; }

/* Writable, and const: the latter holds relocated pointers, so it lands in
 * .data.rel.ro, read-only after RELRO. */
static struct file_ops rw_ops = { real_read, real_write };
static const struct file_ops ro_ops = { real_read, real_write };

/* Calls through the struct as its users elsewhere do: the pointer is loaded each
 * time (noipa: the compiler may not fold the const struct's contents in). */
__attribute__((noipa)) static int call_read(const struct file_ops *ops, int x)
{
    return ops->read(x);
}

static int (*orig_read)(int);
static int hooked_read(int x) { return orig_read(x) * 10; }
static int (*orig_read2)(int);
static int hooked_read2(int x) { return orig_read2(x) + 5; }

TestSuite(slots, .timeout = 30);

static int prot_of(const void *p)
{
    chook__region r;
    cr_assert_eq(chook__maps_find((uintptr_t)p, &r), CHOOK_OK);
    return r.prot;
}

Test(slots, writable_ops_slot_is_swapped_and_restored)
{
    chook_slot_hook *h = NULL;
    cr_assert_eq(chook_slot_install((void **)&rw_ops.read, (void *)hooked_read,
                                    (void **)&orig_read, &h), CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq((void *)orig_read, (void *)real_read);
    cr_expect_eq(call_read(&rw_ops, 1), 20);
    cr_expect_eq((void *)rw_ops.write, (void *)real_write, "the neighbouring slot is untouched");
    cr_assert_eq(chook_slot_remove(h), CHOOK_OK);
    cr_expect_eq(call_read(&rw_ops, 1), 2);
}

Test(slots, read_only_ops_slot_is_swapped_and_its_page_stays_read_only)
{
    int prot = prot_of(&ro_ops);
    cr_assert_eq(prot & PROT_WRITE, 0, "const ops with pointers are read-only after RELRO");
    chook_slot_hook *h = NULL;
    cr_assert_eq(chook_slot_install((void **)&ro_ops.read, (void *)hooked_read,
                                    (void **)&orig_read, &h), CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(prot_of(&ro_ops), prot, "protection given back exactly");
    cr_expect_eq(call_read(&ro_ops, 2), 30);
    cr_assert_eq(chook_slot_remove(h), CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(prot_of(&ro_ops), prot);
    cr_expect_eq(call_read(&ro_ops, 2), 3);
}

Test(slots, hooks_on_one_slot_chain_and_are_removed_newest_first)
{
    chook_slot_hook *a = NULL, *b = NULL;
    cr_assert_eq(chook_slot_install((void **)&rw_ops.read, (void *)hooked_read,
                                    (void **)&orig_read, &a), CHOOK_OK);
    cr_assert_eq(chook_slot_install((void **)&rw_ops.read, (void *)hooked_read2,
                                    (void **)&orig_read2, &b), CHOOK_OK);
    cr_expect_eq(call_read(&rw_ops, 1), 25, "newest first: (1 + 1) * 10 + 5");
    cr_expect_eq(chook_slot_remove(a), CHOOK_EBUSY);
    cr_expect_eq(call_read(&rw_ops, 1), 25, "a refused removal changes nothing");
    cr_expect_eq(chook_slot_remove(b), CHOOK_OK);
    cr_expect_eq(chook_slot_remove(a), CHOOK_OK);
    cr_expect_eq(call_read(&rw_ops, 1), 2);
}

Test(slots, bad_slots_are_refused_without_change)
{
    chook_slot_hook *h = NULL;
    cr_expect_eq(chook_slot_install(NULL, (void *)hooked_read, NULL, &h), CHOOK_EINVAL);
    cr_expect_eq(chook_slot_install((void **)&rw_ops.read, NULL, NULL, &h), CHOOK_EINVAL);
    cr_expect_eq(chook_slot_install((void **)((char *)&rw_ops + 3), (void *)hooked_read, NULL, &h),
                 CHOOK_EINVAL, "misaligned");
    cr_expect_eq(chook_slot_install((void **)16, (void *)hooked_read, NULL, &h), CHOOK_EUNMAPPED);
    cr_expect_eq(chook_slot_install((void **)&rw_ops.read, (void *)real_read, NULL, &h),
                 CHOOK_ESELF, "the slot already holds it");
    cr_assert_eq(chook_slot_install((void **)&rw_ops.read, (void *)hooked_read,
                                    (void **)&orig_read, &h), CHOOK_OK);
    chook_slot_hook *again = NULL;
    cr_expect_eq(chook_slot_install((void **)&rw_ops.read, (void *)hooked_read, NULL, &again),
                 CHOOK_EEXIST);
    cr_expect_eq(call_read(&rw_ops, 1), 20);
    cr_assert_eq(chook_slot_remove(h), CHOOK_OK);
    cr_expect_eq(chook_slot_remove(h), CHOOK_ENOTHOOKED);
    cr_expect_eq(chook_slot_remove(NULL), CHOOK_EINVAL);
}

Test(slots, slot_changed_by_someone_else_is_not_overwritten_on_removal)
{
    chook_slot_hook *h = NULL;
    cr_assert_eq(chook_slot_install((void **)&rw_ops.write, (void *)hooked_read,
                                    (void **)&orig_read, &h), CHOOK_OK);
    rw_ops.write = real_read; /* someone else's store */
    cr_expect_eq(chook_slot_remove(h), CHOOK_EPATCH);
    cr_expect_eq((void *)rw_ops.write, (void *)real_read, "left as someone else set it");
    rw_ops.write = hooked_read;
    cr_expect_eq(chook_slot_remove(h), CHOOK_OK);
    cr_expect_eq((void *)rw_ops.write, (void *)real_write);
}

/* An object whose vtable (no symbol names it) ends where its mapping ends: an index
 * past the mapped slots is out of range, the object still has a vtable. */
Test(slots, vtable_index_past_the_readable_slots_is_reported_as_out_of_range)
{
    long page = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    cr_assert_neq(m, MAP_FAILED);
    cr_assert_eq(munmap(m + page, (size_t)page), 0);
    void **vtable = (void **)(m + page) - 2;
    vtable[0] = (void *)real_read;
    vtable[1] = (void *)real_write;
    void *object[1] = { vtable };
    chook_slot_hook *h = NULL;
    cr_assert_eq(chook_vtable_install(object, 2, (void *)hooked_read, (void **)&orig_read, &h),
                 CHOOK_EINVAL);
    cr_expect(strstr(chook_last_error(), "slot 2 is out of range"), "%s", chook_last_error());
    cr_assert_eq(chook_vtable_install(object, 1, (void *)hooked_read, (void **)&orig_read, &h),
                 CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(((int (*)(int))vtable[1])(1), 30);
    cr_assert_eq(chook_slot_remove(h), CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(vtable[1], (void *)real_write);
    munmap(m, (size_t)page);
}
