# Each public header compiles alone, as C and as C++, with -Wall -Wextra -Werror
# -Wpedantic (scripts/check-headers.sh).
enable_language(CXX)
add_test(NAME headers_standalone
  COMMAND ${CMAKE_SOURCE_DIR}/scripts/check-headers.sh ${CMAKE_C_COMPILER} ${CMAKE_CXX_COMPILER})
