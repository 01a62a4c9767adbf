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

// Fills `out` with glibc's own functions, looked up in libc.so.6 itself rather than
// "the next definition": Debian's libmimalloc.so.2 exports malloc and __libc_malloc
// too, and if it is loaded, RTLD_NEXT or a plain __libc_malloc call could bind to it.
// Returns false (and leaves `out` untouched) if libc cannot be found.
bool ResolveGlibcAllocator(RealAllocator* out);

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
