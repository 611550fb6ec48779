# A program that does not link libchook loads it with dlopen() and hooks with it
# (README, "Version and ABI": loading chook late).
add_executable(late_dlopen ${CMAKE_CURRENT_SOURCE_DIR}/latetls/late_dlopen.c)
target_link_libraries(late_dlopen PRIVATE ${CMAKE_DL_LIBS})
add_dependencies(late_dlopen chook)
add_test(NAME late_dlopen COMMAND late_dlopen $<TARGET_FILE:chook>)
