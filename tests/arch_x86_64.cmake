# The x86-64 mechanism tests (test_arch_plan/relocate/writer.c) run on every
# host: off x86-64 they link the mechanism library chook_arch_x86_64 instead of
# the native chook_static (whose chook_arch_* functions are the host's).
foreach(name test_arch_plan test_arch_relocate test_arch_writer)
  if(CHOOK_ARCH STREQUAL "x86_64")
  elseif(TARGET chook_arch_x86_64)
    set_property(TARGET ${name} PROPERTY LINK_LIBRARIES
      chook_arch_x86_64 PkgConfig::CRITERION)
    set_property(TARGET ${name} PROPERTY ENABLE_EXPORTS OFF)
  else()
    # CHOOK_ARCH_TESTS=OFF: nothing to test them against.
    set_property(TARGET ${name} PROPERTY EXCLUDE_FROM_ALL ON)
    set_tests_properties(${name} PROPERTIES DISABLED ON)
  endif()
endforeach()
