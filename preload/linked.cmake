# linked.cmake (included by preload/CMakeLists.txt): libheapwarden, the linkable
# delivery of the preload's objects, and the targets applications use (docs/cpp.md).
#
#   heapwarden::headers            the API headers alone: calls find heapwarden at run
#                                  time (the preload, a linked copy) or answer "inactive"
#   heapwarden::heapwarden         + libheapwarden.so: the application's whole process is
#                                  tracked when HEAPWARDEN_OPTIONS is set or
#                                  heapwarden_start() is called; until then every hook
#                                  passes straight through
#   heapwarden::heapwarden_static  + libheapwarden.a: the same, inside the executable
# In this build tree the same names exist as ALIAS targets.

add_library(heapwarden_headers INTERFACE)
target_include_directories(heapwarden_headers INTERFACE
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(heapwarden_headers INTERFACE ${CMAKE_DL_LIBS})  # dlsym in heapwarden.h
set_target_properties(heapwarden_headers PROPERTIES EXPORT_NAME headers)
add_library(heapwarden::headers ALIAS heapwarden_headers)

# libheapwarden.so: the preload's objects with delivery_linked.cc.
heapwarden_interposer(heapwarden_shared delivery_linked.cc)
set_target_properties(heapwarden_shared PROPERTIES
  OUTPUT_NAME heapwarden VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}
  EXPORT_NAME shared)

# Linked "as needed" (the toolchain's default here), libheapwarden.so would be dropped
# from a program that happens to call no function of it directly (the API is found
# at run time, and malloc may be called only from other libraries): keep it needed.
add_library(heapwarden_linked INTERFACE)
target_link_libraries(heapwarden_linked INTERFACE heapwarden_headers
  "-Wl,--push-state,--no-as-needed" heapwarden_shared "-Wl,--pop-state")
set_target_properties(heapwarden_linked PROPERTIES EXPORT_NAME heapwarden)
add_library(heapwarden::heapwarden ALIAS heapwarden_linked)

# libheapwarden.a: one relocatable object (ld -r) holding the same objects and the
# whole recorder, with every hidden symbol made local, so that any reference pulls in
# all of it, constructor included, and none of heapwarden's internal names can clash
# with the application's.
add_library(heapwarden_static_marker OBJECT delivery_linked.cc)
target_include_directories(heapwarden_static_marker PRIVATE ${PROJECT_SOURCE_DIR})
set(HEAPWARDEN_STATIC_OBJECT ${CMAKE_CURRENT_BINARY_DIR}/heapwarden_static.o)
add_custom_command(OUTPUT ${HEAPWARDEN_STATIC_OBJECT}
  COMMAND ${CMAKE_CXX_COMPILER} -r -nostdlib -o ${HEAPWARDEN_STATIC_OBJECT}.tmp
          $<TARGET_OBJECTS:heapwarden_static_marker> $<TARGET_OBJECTS:heapwarden_interpose>
          -Wl,--whole-archive $<TARGET_FILE:heapwarden_record> -Wl,--no-whole-archive
  COMMAND ${CMAKE_OBJCOPY} --localize-hidden ${HEAPWARDEN_STATIC_OBJECT}.tmp
          ${HEAPWARDEN_STATIC_OBJECT}
  DEPENDS heapwarden_record $<TARGET_OBJECTS:heapwarden_static_marker>
          $<TARGET_OBJECTS:heapwarden_interpose>
  COMMENT "Linking the relocatable object of libheapwarden.a"
  COMMAND_EXPAND_LISTS VERBATIM)
add_library(heapwarden_static STATIC ${HEAPWARDEN_STATIC_OBJECT})
set_target_properties(heapwarden_static PROPERTIES
  OUTPUT_NAME heapwarden LINKER_LANGUAGE CXX EXPORT_NAME heapwarden_static)
# -u: pull the object in even if the executable names none of its functions.
# --export-dynamic-symbol: the executable's definitions must be the ones every shared
# library calls (ld exports the allocation family already, as libc refers to it; the
# mmap family, the exit family and the API it would not).
set(HEAPWARDEN_STATIC_LINK_OPTIONS
  "LINKER:-u,heapwarden_get_api_v1")
foreach(symbol heapwarden_* malloc free calloc realloc reallocarray posix_memalign
        aligned_alloc memalign valloc pvalloc malloc_usable_size mmap mmap64 munmap mremap
        exit _exit _Exit dlopen dlclose _Znwm* _Znam* _ZdlPv* _ZdaPv*)
  list(APPEND HEAPWARDEN_STATIC_LINK_OPTIONS "LINKER:--export-dynamic-symbol=${symbol}")
endforeach()
target_link_options(heapwarden_static INTERFACE ${HEAPWARDEN_STATIC_LINK_OPTIONS})
target_link_libraries(heapwarden_static INTERFACE heapwarden_headers Threads::Threads
  ${CMAKE_DL_LIBS})
add_library(heapwarden::heapwarden_static ALIAS heapwarden_static)

# Installed: the preload goes to <prefix>/lib whatever the platform's library directory,
# because the tool looks for it at <bin>/../lib; the linkable libraries go where the
# platform's linker looks.
install(TARGETS heapwarden_preload LIBRARY DESTINATION lib)
set(HEAPWARDEN_EXPORTED heapwarden_headers heapwarden_shared heapwarden_linked heapwarden_static)
# heapwarden::gtest (lib/gtest, header-only): exported with the rest; the package config
# looks for GoogleTest before anyone links it.
if(TARGET heapwarden_gtest)
  list(APPEND HEAPWARDEN_EXPORTED heapwarden_gtest)
endif()
install(TARGETS ${HEAPWARDEN_EXPORTED}
  EXPORT heapwarden-targets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
