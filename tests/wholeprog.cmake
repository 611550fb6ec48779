# Whole-program pass-through test (scripts/wholeprog.sh): an agent preloaded into
# real programs attaches listeners to every function of libc, libstdc++ or the
# program itself. The programs it runs besides the system's own: a fork/exec
# loop, a C++ program, and a generated C program built at -O2 with and without
# -fipa-ra. Not in the sanitizer build: an ASan runtime must come first in a
# process, so an instrumented agent cannot be preloaded into other programs.
if(NOT CHOOK_SANITIZE)
  set(WP ${CMAKE_CURRENT_SOURCE_DIR}/wholeprog)
  add_library(wp_agent MODULE ${WP}/agent.c)
  target_compile_options(wp_agent PRIVATE -Wall -Wextra -Werror -O2)
  target_link_libraries(wp_agent PRIVATE chook Threads::Threads)
  set_target_properties(wp_agent PROPERTIES PREFIX "" LIBRARY_OUTPUT_DIRECTORY
    ${CMAKE_CURRENT_BINARY_DIR}/wholeprog)

  add_executable(wp_forkexec ${WP}/forkexec.c)
  target_compile_options(wp_forkexec PRIVATE -Wall -Wextra -Werror -O2)

  enable_language(CXX)
  add_executable(wp_cxx ${WP}/cxx.cpp)
  target_compile_options(wp_cxx PRIVATE -Wall -Wextra -Werror -O2)
  target_link_libraries(wp_cxx PRIVATE Threads::Threads)

  # The generated program, with exactly the flags named (not the build type's).
  set(WP_GEN_C ${CMAKE_CURRENT_BINARY_DIR}/wholeprog/wp_gen.c)
  add_custom_command(OUTPUT ${WP_GEN_C}
    COMMAND bash ${WP}/gen_prog.sh 24 > ${WP_GEN_C}
    DEPENDS ${WP}/gen_prog.sh VERBATIM)
  foreach(variant ipa_ra no_ipa_ra)
    set(flags -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror)
    if(variant STREQUAL "no_ipa_ra")
      list(APPEND flags -fno-ipa-ra)
    else()
      list(APPEND flags -fipa-ra)
    endif()
    add_custom_command(OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/wholeprog/wp_gen_${variant}
      COMMAND ${CMAKE_C_COMPILER} ${flags} -o wp_gen_${variant} ${WP_GEN_C}
      DEPENDS ${WP_GEN_C}
      WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/wholeprog VERBATIM)
    list(APPEND WP_GEN_OUT ${CMAKE_CURRENT_BINARY_DIR}/wholeprog/wp_gen_${variant})
  endforeach()
  add_custom_target(wp_gen ALL DEPENDS ${WP_GEN_OUT})
  set_target_properties(wp_forkexec wp_cxx PROPERTIES RUNTIME_OUTPUT_DIRECTORY
    ${CMAKE_CURRENT_BINARY_DIR}/wholeprog)

  add_test(NAME wholeprog COMMAND ${CMAKE_SOURCE_DIR}/scripts/wholeprog.sh --short ${CMAKE_BINARY_DIR})
  set_tests_properties(wholeprog PROPERTIES TIMEOUT 240)
endif()
