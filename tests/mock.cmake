# Mocks (chook_mock.h): the Criterion test calls zlib, whose calls of libc it mocks.
if(TARGET test_mock)
  target_link_libraries(test_mock PRIVATE z)
endif()
