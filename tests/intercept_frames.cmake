# The -fipa-ra program of test_intercept_frames: built at -O2 with -fipa-ra (GCC's
# default at -O2, named so the test does not depend on the build type).
target_sources(test_intercept_frames PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/intercept_ipa/ipa_ra_prog.c)
set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/intercept_ipa/ipa_ra_prog.c PROPERTIES
  COMPILE_OPTIONS "-O2;-fipa-ra;-fno-sanitize=all")
