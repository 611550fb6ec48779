# chook-corpus is installed with the library (make install).
install(TARGETS chook-corpus RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
