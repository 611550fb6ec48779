# bench_core needs the generated targets.
if(TARGET bench_core)
  target_sources(bench_core PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/targets.S)
  target_include_directories(bench_core PRIVATE ${CHOOK_PRIVATE_INCLUDE_DIRS})
endif()
