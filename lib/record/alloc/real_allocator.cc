// real_allocator.cc: see real_allocator.h. Record side.
#include "record/alloc/real_allocator.h"

#include <dlfcn.h>
#include <gnu/lib-names.h>

namespace heapwarden::internal {

bool ResolveGlibcAllocator(RealAllocator* out) {
  // RTLD_NOLOAD: libc is always loaded already; this only returns its handle. dlsym on
  // that handle searches libc (and its dependency ld.so) and nothing loaded before it.
  void* libc = dlopen(LIBC_SO, RTLD_NOW | RTLD_NOLOAD);
  if (libc == nullptr) return false;
  RealAllocator fns;
  bool ok = LookupSymbol(libc, "malloc", &fns.malloc) &&
            LookupSymbol(libc, "free", &fns.free) &&
            LookupSymbol(libc, "calloc", &fns.calloc) &&
            LookupSymbol(libc, "realloc", &fns.realloc) &&
            LookupSymbol(libc, "memalign", &fns.memalign) &&
            LookupSymbol(libc, "posix_memalign", &fns.posix_memalign) &&
            LookupSymbol(libc, "aligned_alloc", &fns.aligned_alloc) &&
            LookupSymbol(libc, "valloc", &fns.valloc) &&
            LookupSymbol(libc, "pvalloc", &fns.pvalloc) &&
            LookupSymbol(libc, "malloc_usable_size", &fns.malloc_usable_size) &&
            LookupSymbol(libc, "malloc_trim", &fns.malloc_trim);
  // The handle stays open on purpose: libc is never unloaded.
  if (ok) *out = fns;
  return ok;
}

}  // namespace heapwarden::internal
