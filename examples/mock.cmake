# mock_in_test mocks the libc calls zlib makes.
if(TARGET mock_in_test)
  target_link_libraries(mock_in_test PRIVATE z)
endif()
