# chook-trace end to end: a program with known calls (tests/trace/trace_target.c),
# traced by the installed-layout tool from the build tree (tests/trace/test_trace.sh).
if(CHOOK_TOOLS)
  add_executable(trace_target ${CMAKE_CURRENT_SOURCE_DIR}/trace/trace_target.c)
  # GCC's interprocedural ABI shortcuts, which break when a function of the same
  # program is intercepted (see README, chook-trace, "Limits"): -fipa-ra lets
  # callers keep values in caller-saved registers the callee leaves alone, and
  # -fipa-stack-alignment lets them call it with a misaligned stack.
  set(trace_abi -fno-ipa-ra -fno-ipa-stack-alignment)
  target_compile_options(trace_target PRIVATE -O2 -g ${trace_abi} -Wall -Wextra -Werror)
  target_link_libraries(trace_target PRIVATE Threads::Threads)
  set(trace_static "")
  if(EXISTS /usr/lib/x86_64-linux-gnu/libc.a)
    add_executable(trace_target_static ${CMAKE_CURRENT_SOURCE_DIR}/trace/trace_target.c)
    target_compile_options(trace_target_static PRIVATE -O2 ${trace_abi} -Wall -Wextra -Werror)
    target_link_options(trace_target_static PRIVATE -static)
    target_link_libraries(trace_target_static PRIVATE Threads::Threads)
    set(trace_static $<TARGET_FILE:trace_target_static>)
  endif()
  add_test(NAME trace_tool
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/trace/test_trace.sh
            ${CMAKE_BINARY_DIR}/tools/chook-trace $<TARGET_FILE:trace_target> "${trace_static}")
  set_tests_properties(trace_tool PROPERTIES TIMEOUT 300)
endif()
