# The aarch64 mechanism tests (test_arch_aarch64_*.c) run on every host: off
# aarch64 they link the mechanism library chook_arch_aarch64 instead of the
# native chook_static (whose chook_arch_* functions are the host's).
file(GLOB CHOOK_A64_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/test_arch_aarch64_*.c)
foreach(src ${CHOOK_A64_TESTS})
  get_filename_component(name ${src} NAME_WE)
  if(CHOOK_ARCH STREQUAL "aarch64")
    target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src/arch/aarch64)
  elseif(TARGET chook_arch_aarch64)
    set_property(TARGET ${name} PROPERTY LINK_LIBRARIES
      chook_arch_aarch64 PkgConfig::CRITERION)
    set_property(TARGET ${name} PROPERTY ENABLE_EXPORTS OFF)
  else()
    # CHOOK_ARCH_TESTS=OFF: nothing to test them against.
    set_property(TARGET ${name} PROPERTY EXCLUDE_FROM_ALL ON)
    set_tests_properties(${name} PROPERTIES DISABLED ON)
  endif()
endforeach()
