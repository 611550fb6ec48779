# bench_commit needs its 10,000 generated targets.
if(TARGET bench_commit)
  target_sources(bench_commit PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/commit_targets.S)
endif()
