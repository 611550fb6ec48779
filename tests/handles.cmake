# Handles, transactions and errors (issue 9, classes 8-11): the C++ vtable test.
chook_add_test(test_vtable_follow SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_vtable_follow.cpp)
target_compile_options(test_vtable_follow PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Werror>)
