# Hook point tests: a library with points, built in both modes and loaded by
# dlopen(); it includes chook_point.h but does not link chook (points need no
# runtime on the instrumented side).
foreach(mode branch jump)
  add_library(chook_pointlib_${mode} SHARED ${CMAKE_CURRENT_SOURCE_DIR}/point/pointlib.c)
  target_include_directories(chook_pointlib_${mode} PRIVATE
    ${CMAKE_SOURCE_DIR}/include ${CMAKE_CURRENT_SOURCE_DIR}/point)
  target_compile_options(chook_pointlib_${mode} PRIVATE -Wall -Wextra -Werror -O2)
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
