# The type-safe forms: the example files are built with -Wpedantic -Werror (C and
# C++) into test_typesafe; each file under typesafe/compile/ breaks one rule and
# must be refused with the expected message (the *_ok_control files must compile).
enable_language(CXX)
if(TARGET test_typesafe)
  target_sources(test_typesafe PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/typesafe/example.c
    ${CMAKE_CURRENT_SOURCE_DIR}/typesafe/example.cpp)
  set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/typesafe/example.c
    ${CMAKE_CURRENT_SOURCE_DIR}/typesafe/example.cpp
    PROPERTIES COMPILE_OPTIONS "-Wall;-Wextra;-Wpedantic;-Werror")
  set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/typesafe/example.cpp
    PROPERTIES COMPILE_OPTIONS "-Wall;-Wextra;-Wpedantic;-Werror;-std=c++17")
endif()
set(TYPESAFE_C ${CMAKE_C_COMPILER} -std=c11 -Wall -Wextra -Wpedantic -Werror -fsyntax-only
  -I${CMAKE_SOURCE_DIR}/include)
set(TYPESAFE_CXX ${CMAKE_CXX_COMPILER} -std=c++17 -Wall -Wextra -Wpedantic -Werror -fsyntax-only
  -I${CMAKE_SOURCE_DIR}/include)
set(TYPESAFE_RULES
  "c_replacement_of_another_type.c\;the replacement must have the target's type"
  "c_original_of_another_type.c\;original must point to a pointer of the target's type"
  "cpp_replacement_of_another_type.cpp\;invalid conversion from|no matching function|cannot initialize")
foreach(rule ${TYPESAFE_RULES})
  list(GET rule 0 file)
  list(GET rule 1 expect)
  get_filename_component(name ${file} NAME_WE)
  if(file MATCHES "\\.cpp$")
    set(cc ${TYPESAFE_CXX})
  else()
    set(cc ${TYPESAFE_C})
  endif()
  add_test(NAME typesafe_rule_${name} COMMAND ${cc} ${CMAKE_CURRENT_SOURCE_DIR}/typesafe/compile/${file})
  set_tests_properties(typesafe_rule_${name} PROPERTIES PASS_REGULAR_EXPRESSION "${expect}")
endforeach()
add_test(NAME typesafe_rule_c_ok_control
  COMMAND ${TYPESAFE_C} ${CMAKE_CURRENT_SOURCE_DIR}/typesafe/compile/c_ok_control.c)
add_test(NAME typesafe_rule_cpp_ok_control
  COMMAND ${TYPESAFE_CXX} ${CMAKE_CURRENT_SOURCE_DIR}/typesafe/compile/cpp_ok_control.cpp)
