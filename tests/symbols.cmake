# Test modules for the by-name services (symbols, imports, vtables, pending hooks).
set(SYM_DIR ${CMAKE_CURRENT_SOURCE_DIR}/symbols)

function(sym_library name)
  cmake_parse_arguments(L "" "" "SOURCES;LINK;OPTIONS;DEFS" ${ARGN})
  add_library(${name} SHARED ${L_SOURCES})
  target_include_directories(${name} PRIVATE ${SYM_DIR})
  target_compile_options(${name} PRIVATE -Wall -Wextra)
  target_compile_definitions(${name} PRIVATE ${L_DEFS})
  target_link_options(${name} PRIVATE -Wl,--build-id ${L_OPTIONS})
  if(L_LINK)
    target_link_libraries(${name} PRIVATE ${L_LINK})
  endif()
endfunction()

# A library with static functions (local symbols in .symtab).
sym_library(symlocal SOURCES ${SYM_DIR}/symlocal.c)
# The same kind, stripped: its local symbols are only in a separate debug file
# under ${CMAKE_CURRENT_BINARY_DIR}/symdebug/.build-id/.
sym_library(symstripped SOURCES ${SYM_DIR}/symstripped.c)
add_custom_command(TARGET symstripped POST_BUILD
  COMMAND sh ${SYM_DIR}/split-debug.sh $<TARGET_FILE:symstripped> ${CMAKE_CURRENT_BINARY_DIR}/symdebug
  VERBATIM)
# Stripped, no build-id: its debug file is found by .gnu_debuglink, beside it.
sym_library(symdebuglink SOURCES ${SYM_DIR}/symdebuglink.c OPTIONS -Wl,--build-id=none)
add_custom_command(TARGET symdebuglink POST_BUILD
  COMMAND objcopy --only-keep-debug $<TARGET_FILE:symdebuglink> $<TARGET_FILE:symdebuglink>.debug
  COMMAND objcopy --strip-all --add-gnu-debuglink=$<TARGET_FILE:symdebuglink>.debug $<TARGET_FILE:symdebuglink>
  WORKING_DIRECTORY $<TARGET_FILE_DIR:symdebuglink>
  VERBATIM)
# The function imported by the import-hook modules, and two importers: lazily
# bound, and bound at load with a read-only GOT (-z now, RELRO).
sym_library(symtarget SOURCES ${SYM_DIR}/symtarget.c)
sym_library(symimp_lazy SOURCES ${SYM_DIR}/symimp.c LINK symtarget
  DEFS SYMIMP_LAZY=1 OPTIONS -Wl,-z,lazy)
sym_library(symimp_now SOURCES ${SYM_DIR}/symimp.c LINK symtarget
  OPTIONS -Wl,-z,now -Wl,-z,relro)
# Loaded only by dlopen (pending hooks).
sym_library(sympending SOURCES ${SYM_DIR}/sympending.c)

set(SYM_DEFS CHOOK_SYMDEBUG_DIR="${CMAKE_CURRENT_BINARY_DIR}/symdebug"
  CHOOK_SYMPENDING_PATH="$<TARGET_FILE:sympending>")

foreach(t test_symbols test_symbols_install test_imports test_vtable test_pending)
  if(TARGET ${t})
    target_include_directories(${t} PRIVATE ${SYM_DIR})
    target_compile_definitions(${t} PRIVATE ${SYM_DEFS})
  endif()
endforeach()
foreach(t test_symbols test_symbols_install)
  if(TARGET ${t})
    target_link_libraries(${t} PRIVATE symlocal symstripped symdebuglink z)
  endif()
endforeach()
if(TARGET test_imports)
  target_link_libraries(test_imports PRIVATE symimp_lazy symimp_now symtarget)
endif()
if(TARGET test_pending)
  add_dependencies(test_pending sympending)
endif()

# C++ virtual methods.
enable_language(CXX)
chook_add_test(test_vtable_cpp SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_vtable_cpp.cpp)
target_compile_options(test_vtable_cpp PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra>)
