# Hook point tests: a library with points, built in both modes and loaded by
# dlopen(); it includes chook_point.h but does not link chook (points need no
# runtime on the instrumented side).
foreach(mode branch jump)
  add_library(chook_pointlib_${mode} SHARED ${CMAKE_CURRENT_SOURCE_DIR}/point/pointlib.c)
  target_include_directories(chook_pointlib_${mode} PRIVATE
    ${CMAKE_SOURCE_DIR}/include ${CMAKE_CURRENT_SOURCE_DIR}/point)
  target_compile_options(chook_pointlib_${mode} PRIVATE -Wall -Wextra -O2)
  target_compile_definitions(chook_pointlib_${mode} PRIVATE CHOOK_POINT_MODE_${mode}=1)
  target_link_options(chook_pointlib_${mode} PRIVATE -Wl,--no-undefined -Wl,--gc-sections)
endforeach()

foreach(t test_point test_point_dlopen test_point_threads test_point_generic)
  if(TARGET ${t})
    add_dependencies(${t} chook_pointlib_branch chook_pointlib_jump)
    target_include_directories(${t} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/point)
    target_compile_definitions(${t} PRIVATE
      CHOOK_POINTLIB_BRANCH="$<TARGET_FILE:chook_pointlib_branch>"
      CHOOK_POINTLIB_JUMP="$<TARGET_FILE:chook_pointlib_jump>")
  endif()
endforeach()

# test_point also holds a point compiled in jump mode, whatever CHOOK_POINT_MODE is.
if(TARGET test_point)
  target_sources(test_point PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/point/jumpfns.c)
endif()
if(TARGET test_point_threads)
  target_sources(test_point_threads PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/point/jumpwork.c)
endif()

# The rules the macros enforce at compile time: each file under point/compile/
# breaks one (named by the file) and must be refused with the expected message;
# ok_control.c uses the same shapes correctly and must compile.
set(POINT_COMPILE ${CMAKE_C_COMPILER} -std=gnu11 -Wall -Wextra -Werror -fsyntax-only
  -I${CMAKE_SOURCE_DIR}/include)
set(POINT_RULES
  "enter_argument_of_another_type\;does not have the type the point declares"
  "enter_void_on_a_value_point\;returns a value: use CHOOK_ENTER"
  "enter_on_a_void_point\;returns void: use CHOOK_ENTER_VOID"
  "enter_with_too_few_arguments\;must name every parameter"
  "attach_prolog_of_another_type\;incompatible-pointer-types|incompatible pointer type"
  "point_defined_twice\;redefinition")
foreach(rule ${POINT_RULES})
  list(GET rule 0 name)
  list(GET rule 1 expect)
  add_test(NAME point_rule_${name}
    COMMAND ${POINT_COMPILE} ${CMAKE_CURRENT_SOURCE_DIR}/point/compile/${name}.c)
  set_tests_properties(point_rule_${name} PROPERTIES PASS_REGULAR_EXPRESSION "${expect}")
endforeach()
add_test(NAME point_rule_ok_control
  COMMAND ${POINT_COMPILE} ${CMAKE_CURRENT_SOURCE_DIR}/point/compile/ok_control.c)
