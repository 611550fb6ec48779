# chook-corpus: its version, and installed with the library (make install).
target_compile_definitions(chook-corpus PRIVATE CHOOK_CORPUS_VERSION="${PROJECT_VERSION}")
install(TARGETS chook-corpus RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
