# bench_trace runs chook-trace (tools/) on tests/trace/trace_target (tests/).
if(TARGET bench_trace)
  if(TARGET trace_target AND CHOOK_TOOLS)
    target_compile_definitions(bench_trace PRIVATE
      TRACE_TOOL="${CMAKE_BINARY_DIR}/tools/chook-trace"
      TRACE_TARGET="$<TARGET_FILE:trace_target>")
  else()
    target_compile_definitions(bench_trace PRIVATE TRACE_TOOL="" TRACE_TARGET="")
  endif()
endif()
