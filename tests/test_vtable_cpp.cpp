/*
 * C++ virtual methods: the vtable slot of a class (every object) and one object's
 * private vtable, with the original callable, typeid and dynamic_cast intact.
 */
#include <criterion/criterion.h>
#include <typeinfo>

#include "chook.h"

namespace {

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

struct Triangle : Shape {
    int area() const override { return 6; }
    int sides() const override { return 3; }
};

// Calls through the vtable as real code does (no devirtualisation).
__attribute__((noipa)) int area_of(const Shape *s) { return s->area(); }
__attribute__((noipa)) int sides_of(const Shape *s) { return s->sides(); }

int (*orig_area)(const Square *);
int doubled_area(const Square *self) { return orig_area(self) * 2; }

int (*orig_sides)(const Square *);
int many_sides(const Square *self) { return orig_sides(self) + 100; }

}  // namespace

TestSuite(vtable, .timeout = 30);

Test(vtable, index_of_a_virtual_method_follows_declaration_order)
{
    // Two slots for the virtual destructor (complete and deleting), then area, sides.
    cr_expect_eq(chook_vtable_index(&Shape::area), 2u);
    cr_expect_eq(chook_vtable_index(&Shape::sides), 3u);
}

Test(vtable, class_wide_hook_affects_every_object_of_the_class_only)
{
    Square a(3), b(4);
    Triangle t;
    chook_slot_hook *h = nullptr;
    cr_assert_eq(chook_vtable_install(&a, chook_vtable_index(&Shape::area),
                                      (void *)doubled_area, (void **)&orig_area, &h),
                 CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(area_of(&a), 18);
    cr_expect_eq(area_of(&b), 32, "another object of the class");
    cr_expect_eq(area_of(&t), 6, "another class is untouched");
    cr_expect_eq(orig_area(&b), 16, "the original is callable");
    Square later(5);
    cr_expect_eq(area_of(&later), 50, "objects created afterwards too");
    cr_assert_eq(chook_slot_remove(h), CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(area_of(&a), 9);
    cr_expect_eq(area_of(&later), 25);
}

Test(vtable, single_object_hook_leaves_other_objects_and_rtti_alone)
{
    Square a(3), b(4);
    void *class_vptr = *(void **)&a;
    chook_slot_hook *h = nullptr;
    cr_assert_eq(chook_object_install(&a, chook_vtable_index(&Shape::area),
                                      (void *)doubled_area, (void **)&orig_area, &h),
                 CHOOK_OK, "%s", chook_last_error());
    cr_expect_neq(*(void **)&a, class_vptr, "the object has its own vtable");
    cr_expect_eq(area_of(&a), 18);
    cr_expect_eq(area_of(&b), 16, "other objects are untouched");
    cr_expect_eq(orig_area(&a), 9, "the original is callable");
    cr_expect_eq(sides_of(&a), 4, "other methods still work");
    const Shape *as_shape = &a;
    cr_expect(typeid(*as_shape) == typeid(Square), "typeid sees the copied RTTI");
    cr_expect_eq(dynamic_cast<const Square *>(as_shape), &a);

    // A second hook on the same object shares its private vtable.
    chook_slot_hook *h2 = nullptr;
    cr_assert_eq(chook_object_install(&a, chook_vtable_index(&Shape::sides),
                                      (void *)many_sides, (void **)&orig_sides, &h2),
                 CHOOK_OK, "%s", chook_last_error());
    cr_expect_eq(sides_of(&a), 104);
    cr_expect_eq(sides_of(&b), 4);
    cr_assert_eq(chook_slot_remove(h2), CHOOK_OK);
    cr_expect_eq(*(void **)&a, *(void **)&a, "still private while a hook remains");
    cr_expect_neq(*(void **)&a, class_vptr);
    cr_assert_eq(chook_slot_remove(h), CHOOK_OK);
    cr_expect_eq(*(void **)&a, class_vptr, "the vptr is switched back");
    cr_expect_eq(area_of(&a), 9);
}

Test(vtable, object_and_class_hooks_combine)
{
    Square a(2), b(3);
    chook_slot_hook *cls = nullptr, *obj = nullptr;
    cr_assert_eq(chook_vtable_install(&b, chook_vtable_index(&Shape::sides),
                                      (void *)many_sides, (void **)&orig_sides, &cls), CHOOK_OK);
    cr_assert_eq(chook_object_install(&a, chook_vtable_index(&Shape::area),
                                      (void *)doubled_area, (void **)&orig_area, &obj), CHOOK_OK);
    cr_expect_eq(area_of(&a), 8);
    cr_expect_eq(area_of(&b), 9);
    cr_expect_eq(sides_of(&b), 104);
    cr_assert_eq(chook_slot_remove(obj), CHOOK_OK);
    cr_assert_eq(chook_slot_remove(cls), CHOOK_OK);
    cr_expect_eq(sides_of(&b), 4);
    cr_expect_eq(area_of(&a), 4);
}

Test(vtable, bad_objects_and_indexes_are_refused)
{
    Square a(3);
    chook_slot_hook *h = nullptr;
    cr_expect_eq(chook_vtable_install(nullptr, 2, (void *)doubled_area, nullptr, &h), CHOOK_EINVAL);
    cr_expect_eq(chook_vtable_install(&a, 2, nullptr, nullptr, &h), CHOOK_EINVAL);
    cr_expect_eq(chook_vtable_install(&a, 4000, (void *)doubled_area, nullptr, &h), CHOOK_EINVAL,
                 "an index past the vtable");
    cr_expect_eq(chook_object_install(&a, (size_t)-1, (void *)doubled_area, nullptr, &h),
                 CHOOK_EINVAL, "an index that would overflow");
    long not_an_object = 12345;
    cr_expect_eq(chook_object_install(&not_an_object, 0, (void *)doubled_area, nullptr, &h),
                 CHOOK_EINVAL, "an object whose first word is no vtable");
    cr_expect_eq(area_of(&a), 9);
}
