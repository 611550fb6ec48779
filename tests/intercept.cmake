# The C++ interception test: an exception unwinding through the dispatcher.
enable_language(CXX)
chook_add_test(test_intercept_cxx SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_intercept_cxx.cpp)
target_compile_options(test_intercept_cxx PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra>)
