# The ABI check (scripts/check-abi.sh): exported symbols and structure layouts
# against the lists in abi/. The layout program uses the public headers only.
add_executable(chook_abi_structs ${CMAKE_SOURCE_DIR}/abi/structs.c ${CMAKE_SOURCE_DIR}/abi/structs_mock.c)
target_link_libraries(chook_abi_structs PRIVATE chook)
set_target_properties(chook_abi_structs PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/abi)
add_test(NAME abi_check COMMAND ${CMAKE_SOURCE_DIR}/scripts/check-abi.sh ${CMAKE_BINARY_DIR})
set_tests_properties(abi_check PROPERTIES DEPENDS chook_abi_structs)
