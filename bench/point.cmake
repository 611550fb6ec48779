# bench_point also measures points compiled in jump mode, whatever CHOOK_POINT_MODE is.
if(TARGET bench_point)
  target_sources(bench_point PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/point/jumpfns.c)
  target_include_directories(bench_point PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
endif()
