# Mocks (chook_mock.h): the Criterion test calls zlib, whose calls of libc it mocks.
if(TARGET test_mock)
  target_link_libraries(test_mock PRIVATE z)
endif()

# The same mocks under other test frameworks (tests/mock/): cmocka, GoogleTest and
# a plain main() with assert(); each links the code under test and zlib.
add_library(chook_mock_cut STATIC ${CMAKE_CURRENT_SOURCE_DIR}/mock/code_under_test.c)
target_compile_options(chook_mock_cut PRIVATE -Wall -Wextra -O2)
target_link_libraries(chook_mock_cut PUBLIC z)

function(chook_mock_framework_test name src)
  add_executable(${name} ${src})
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/mock)
  target_compile_options(${name} PRIVATE -Wall -Wextra)
  target_link_libraries(${name} PRIVATE chook chook_mock_cut Threads::Threads ${ARGN})
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES TIMEOUT ${CHOOK_TEST_TIMEOUT})
endfunction()

chook_mock_framework_test(mock_assert ${CMAKE_CURRENT_SOURCE_DIR}/mock/assert_mock.c)

pkg_check_modules(CMOCKA IMPORTED_TARGET cmocka)
if(CMOCKA_FOUND)
  chook_mock_framework_test(mock_cmocka ${CMAKE_CURRENT_SOURCE_DIR}/mock/cmocka_mock.c
    PkgConfig::CMOCKA)
else()
  message(STATUS "cmocka not found: mock_cmocka is not built (scripts/deps.sh test installs it)")
endif()

find_package(GTest QUIET)
if(GTest_FOUND)
  enable_language(CXX)
  chook_mock_framework_test(mock_gtest ${CMAKE_CURRENT_SOURCE_DIR}/mock/gtest_mock.cpp
    GTest::gtest GTest::gtest_main)
  set_target_properties(mock_gtest PROPERTIES CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON)
else()
  message(STATUS "GoogleTest not found: mock_gtest is not built (scripts/deps.sh test installs it)")
endif()

# CHOOK_MOCK refuses, at compile time, a replacement of another type.
add_test(NAME mock_rule_replacement_of_another_type
  COMMAND ${CMAKE_C_COMPILER} -std=gnu11 -Wall -Wextra -Werror -fsyntax-only
    -I${CMAKE_SOURCE_DIR}/include
    ${CMAKE_CURRENT_SOURCE_DIR}/mock/compile/replacement_of_another_type.c)
set_tests_properties(mock_rule_replacement_of_another_type PROPERTIES
  PASS_REGULAR_EXPRESSION "the replacement and the mocked function differ in type")
