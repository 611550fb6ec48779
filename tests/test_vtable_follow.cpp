/*
 * A class-wide vtable hook and objects with a private vtable: a copy made while
 * the class hook is installed follows the class's slot, so removing the class
 * hook reaches those objects too (they used to keep running the replacement).
 */
#include <criterion/criterion.h>
#include <cstring>

#include "chook.h"

// Types with external linkage: within an anonymous namespace GCC sees every
// class of the hierarchy and calls the only override directly.
namespace follow {

struct Shape {
    virtual ~Shape() {}
    virtual int area() const { return 0; }
    virtual int sides() const { return 0; }
};

struct Square : Shape {
    explicit Square(int s) : side(s) {}
    int area() const override { return side * side; }
    int sides() const override { return 4; }
    int side;
};

}  // namespace follow

using follow::Shape;
using follow::Square;

namespace {

// Calls through the vtable as real code does (no devirtualisation).
__attribute__((noipa)) int area_of(const Shape *s) { return s->area(); }
__attribute__((noipa)) int sides_of(const Shape *s) { return s->sides(); }

int (*class_orig_area)(const Square *);
int class_area(const Square *self) { return class_orig_area(self) + 1000; }

int (*object_orig_area)(const Square *);
int object_area(const Square *self) { return object_orig_area(self) * 2; }

int (*object_orig_sides)(const Square *);
int object_sides(const Square *self) { return object_orig_sides(self) + 100; }

const size_t AREA = chook_vtable_index(&Shape::area);
const size_t SIDES = chook_vtable_index(&Shape::sides);

}  // namespace

TestSuite(vtable_follow, .timeout = 30);

Test(vtable_follow, removing_a_class_hook_reaches_objects_copied_while_it_was_installed)
{
    Square a(3), b(4);
    chook_slot_hook *cls = nullptr, *obj = nullptr;
    cr_assert_eq(chook_vtable_install(&a, AREA, (void *)class_area, (void **)&class_orig_area,
                                      &cls), CHOOK_OK, "%s", chook_last_error());
    // a gets a private vtable for another slot while the class hook is installed.
    cr_assert_eq(chook_object_install(&a, SIDES, (void *)object_sides,
                                      (void **)&object_orig_sides, &obj),
                 CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(area_of(&a), 1009, "the object sees the class hook");
    cr_expect_eq(sides_of(&a), 104);
    cr_expect_eq(area_of(&b), 1016);

    cr_assert_eq(chook_slot_remove(cls), CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(area_of(&b), 16);
    cr_expect_eq(area_of(&a), 9, "the class hook is gone from the private vtable too");
    cr_expect_eq(sides_of(&a), 104, "the object's own hook stays");

    // Hooking the class slot again reaches the object as well.
    cr_assert_eq(chook_vtable_install(&b, AREA, (void *)class_area, (void **)&class_orig_area,
                                      &cls), CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(area_of(&a), 1009);
    cr_assert_eq(chook_slot_remove(cls), CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(chook_slot_remove(obj), CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(area_of(&a), 9);
    cr_expect_eq(sides_of(&a), 4);
}

Test(vtable_follow, an_object_hook_over_a_class_hook_calls_what_the_class_slot_holds)
{
    Square a(3);
    chook_slot_hook *cls = nullptr, *obj = nullptr;
    cr_assert_eq(chook_vtable_install(&a, AREA, (void *)class_area, (void **)&class_orig_area,
                                      &cls), CHOOK_OK, "%s", chook_last_error());
    cr_assert_eq(chook_object_install(&a, AREA, (void *)object_area,
                                      (void **)&object_orig_area, &obj),
                 CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(area_of(&a), 2018, "object hook, then the class hook, then the method");
    cr_assert_eq(chook_slot_remove(cls), CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(area_of(&a), 18, "the object's original now reaches the method itself");
    cr_expect_eq(object_orig_area(&a), 9);
    cr_assert_eq(chook_slot_remove(obj), CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(area_of(&a), 9);
}

Test(vtable_follow, stale_and_garbage_slot_handles_are_refused)
{
    Square a(3);
    chook_slot_hook *h = nullptr;
    cr_assert_eq(chook_object_install(&a, AREA, (void *)object_area,
                                      (void **)&object_orig_area, &h), CHOOK_OK);
    cr_assert_eq(chook_slot_remove(h), CHOOK_OK);
    cr_expect_eq(chook_slot_remove(h), CHOOK_ENOTHOOKED);
    cr_expect(strstr(chook_last_error(), "stale"), "%s", chook_last_error());
    chook_slot_hook *again = nullptr;
    cr_assert_eq(chook_object_install(&a, AREA, (void *)object_area,
                                      (void **)&object_orig_area, &again), CHOOK_OK);
    cr_expect_eq(chook_slot_remove(h), CHOOK_ENOTHOOKED, "the stale handle is not the new hook");
    cr_expect_eq(area_of(&a), 18, "the new hook is still installed");
    long junk[4] = { 0x1234, 0, 0, 0 };
    cr_expect_eq(chook_slot_remove((chook_slot_hook *)junk), CHOOK_EINVAL);
    cr_expect_eq(chook_slot_remove((chook_slot_hook *)(uintptr_t)0xdeadbeefcafe0004ull),
                 CHOOK_EINVAL);
    cr_assert_eq(chook_slot_remove(again), CHOOK_OK);
    cr_expect_eq(area_of(&a), 9);
}
