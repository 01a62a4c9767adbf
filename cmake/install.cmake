# install.cmake (included by the top-level CMakeLists.txt): what `cmake --install`
# puts under the prefix besides the targets' own install rules (tools/, preload/):
#   include/heapwarden/          the C and C++ API headers
#   lib/cmake/heapwarden/        find_package(heapwarden CONFIG): config, version, targets
#   lib/pkgconfig/               heapwarden.pc (shared), heapwarden-static.pc,
#                                heapwarden-gtest.pc (the GoogleTest listener)
# (The Python package goes to share/heapwarden/python by tools/CMakeLists.txt, next to
# the tool that puts it on PYTHONPATH.)
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/heapwarden
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp")

set(HEAPWARDEN_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/heapwarden)
install(EXPORT heapwarden-targets NAMESPACE heapwarden:: DESTINATION ${HEAPWARDEN_CMAKE_DIR})
set(HEAPWARDEN_INSTALL_PRELOAD lib/libheapwarden_preload.so)
set(HEAPWARDEN_INSTALL_TOOL ${CMAKE_INSTALL_BINDIR}/heapwarden)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/heapwarden-config.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/heapwarden-config.cmake
  INSTALL_DESTINATION ${HEAPWARDEN_CMAKE_DIR}
  PATH_VARS HEAPWARDEN_INSTALL_PRELOAD HEAPWARDEN_INSTALL_TOOL)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/heapwarden-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/heapwarden-config.cmake
  ${PROJECT_BINARY_DIR}/cmake/heapwarden-config-version.cmake
  DESTINATION ${HEAPWARDEN_CMAKE_DIR})

# pkg-config: the prefix is the one given at install time (cmake --install --prefix P),
# not at configure time, so the files are written by an install(CODE) step.
get_target_property(HEAPWARDEN_PC_STATIC_FLAGS heapwarden_static INTERFACE_LINK_OPTIONS)
string(REPLACE "LINKER:" "-Wl," HEAPWARDEN_PC_STATIC_FLAGS "${HEAPWARDEN_PC_STATIC_FLAGS}")
string(REPLACE ";" " " HEAPWARDEN_PC_STATIC_FLAGS "${HEAPWARDEN_PC_STATIC_FLAGS}")
install(CODE "
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  set(CMAKE_INSTALL_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(CMAKE_INSTALL_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  set(HEAPWARDEN_PC_STATIC_FLAGS \"${HEAPWARDEN_PC_STATIC_FLAGS}\")
  foreach(pc heapwarden heapwarden-static heapwarden-gtest)
    configure_file(\"${PROJECT_SOURCE_DIR}/cmake/\${pc}.pc.in\"
      \"${PROJECT_BINARY_DIR}/cmake/\${pc}.pc\" @ONLY)
    file(INSTALL \"${PROJECT_BINARY_DIR}/cmake/\${pc}.pc\"
      DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig\")
  endforeach()
")
