# bench_hook_libc needs its generated pass-through thunks.
if(TARGET bench_hook_libc)
  target_sources(bench_hook_libc PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/hookall_thunks.S)
endif()
