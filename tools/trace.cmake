# chook-trace: the launcher (tools/chook-trace.c, built by chook_add_programs) and
# the agent it preloads into the traced program (tools/trace/agent.c). The agent
# carries chook inside (static, its symbols hidden), so it depends on no chook
# library at run time and cannot clash with a program that uses chook itself.
add_library(chook-trace-agent SHARED ${CMAKE_CURRENT_SOURCE_DIR}/trace/agent.c)
target_compile_options(chook-trace-agent PRIVATE -Wall -Wextra -Werror)
target_include_directories(chook-trace-agent PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/trace)
target_link_libraries(chook-trace-agent PRIVATE chook_static ${CMAKE_DL_LIBS})
target_link_options(chook-trace-agent PRIVATE -Wl,--exclude-libs,ALL -Wl,-z,noexecstack
  -Wl,--no-undefined)

target_include_directories(chook-trace PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(chook-trace PRIVATE CHOOK_VERSION="${PROJECT_VERSION}"
  CHOOK_TRACE_AGENT_REL="../${CMAKE_INSTALL_LIBDIR}/chook/libchook-trace-agent.so")
add_dependencies(chook-trace chook-trace-agent)

install(TARGETS chook-trace RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS chook-trace-agent LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/chook)
