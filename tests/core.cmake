# A shared library the core tests hook into, linked by test_core_*.
add_library(chook_testlib SHARED ${CMAKE_CURRENT_SOURCE_DIR}/lib/testlib.c)
target_compile_options(chook_testlib PRIVATE -O2 -fno-inline)
foreach(t test_core_api test_core_real)
  if(TARGET ${t})
    target_link_libraries(${t} PRIVATE chook_testlib)
    target_include_directories(${t} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/lib)
  endif()
endforeach()

# test_corpus runs the chook-corpus tool and links zlib.
if(TARGET test_corpus)
  find_package(ZLIB REQUIRED)
  target_link_libraries(test_corpus PRIVATE ZLIB::ZLIB)
  if(TARGET chook-corpus)
    add_dependencies(test_corpus chook-corpus)
  endif()
endif()
