# chook-trace end to end: a program with known calls (tests/trace/trace_target.c),
# traced by the installed-layout tool from the build tree (tests/trace/test_trace.sh).
if(CHOOK_TOOLS)
  add_executable(trace_target ${CMAKE_CURRENT_SOURCE_DIR}/trace/trace_target.c)
  # Plain -O2: GCC's interprocedural shortcuts (-fipa-ra, -fipa-stack-alignment)
  # stay on, as in the programs users trace.
  # -fno-builtin-labs: labs stays a call into libc (the benchmarks trace it).
  target_compile_options(trace_target PRIVATE -O2 -g -fno-builtin-labs -Wall -Wextra -Werror)
  target_link_libraries(trace_target PRIVATE Threads::Threads)
  set(trace_static "")
  if(EXISTS /usr/lib/x86_64-linux-gnu/libc.a AND NOT CHOOK_SANITIZE)
    add_executable(trace_target_static ${CMAKE_CURRENT_SOURCE_DIR}/trace/trace_target.c)
    target_compile_options(trace_target_static PRIVATE -O2 -Wall -Wextra -Werror)
    target_link_options(trace_target_static PRIVATE -static)
    target_link_libraries(trace_target_static PRIVATE Threads::Threads)
    set(trace_static $<TARGET_FILE:trace_target_static>)
  endif()
  # Not in a sanitizer build: an agent with ASan inside cannot be preloaded into
  # programs built without it (the ASan runtime must come first).
  if(NOT CHOOK_SANITIZE)
  add_test(NAME trace_tool
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/trace/test_trace.sh
            ${CMAKE_BINARY_DIR}/tools/chook-trace $<TARGET_FILE:trace_target> "${trace_static}")
  set_tests_properties(trace_tool PROPERTIES TIMEOUT 300)
  endif()
endif()
