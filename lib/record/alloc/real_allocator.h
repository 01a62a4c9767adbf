// real_allocator.h: the functions that actually serve the program's memory.
// Hot path (every hook). Resolved once, at the first allocation; thereafter read-only.
#ifndef HEAPWARDEN_LIB_RECORD_ALLOC_REAL_ALLOCATOR_H_
#define HEAPWARDEN_LIB_RECORD_ALLOC_REAL_ALLOCATOR_H_

#include <dlfcn.h>

#include <cstddef>

namespace heapwarden::internal {

struct RealAllocator {
  void* (*malloc)(size_t);
  void (*free)(void*);
  void* (*calloc)(size_t, size_t);
  void* (*realloc)(void*, size_t);
  void* (*memalign)(size_t, size_t);
  int (*posix_memalign)(void**, size_t, size_t);
  void* (*aligned_alloc)(size_t, size_t);
  void* (*valloc)(size_t);
  void* (*pvalloc)(size_t);
  size_t (*malloc_usable_size)(void*);
  int (*malloc_trim)(size_t);
};

// Fills `out` with the functions the program would call without heapwarden: for each
// name, the next definition after heapwarden's in the global search order. That is
// glibc's, unless the program is linked against another allocator that replaces
// malloc (libmimalloc.so.2, tcmalloc, a library with its own malloc family): then a
// block that allocator hands out directly (mi_malloc, or a -Bsymbolic library's own
// call to its malloc) goes back to it when the program frees it, as it would plain.
// Returns false (and leaves `out` untouched) if a function cannot be found.
bool ResolveRealAllocator(RealAllocator* out);

// The file of the object whose malloc serves the program when it is not libc (the
// report says so), "" when it is libc. Valid once ResolveRealAllocator() succeeded.
const char* ProgramAllocatorPath();

// dlsym(lib, name) into a typed function pointer; false when the symbol is missing.
// (Also how backend.cc finds mimalloc's functions.)
template <typename Fn>
bool LookupSymbol(void* lib, const char* name, Fn* out) {
  void* sym = dlsym(lib, name);
  *out = reinterpret_cast<Fn>(sym);
  return sym != nullptr;
}

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_ALLOC_REAL_ALLOCATOR_H_
