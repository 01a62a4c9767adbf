// real_allocator.cc: see real_allocator.h. Record side.
#include "record/real_allocator.h"

#include <dlfcn.h>
#include <gnu/lib-names.h>

namespace heapwarden::internal {
namespace {

template <typename Fn>
bool Lookup(void* libc, const char* name, Fn* out) {
  void* sym = dlsym(libc, name);
  *out = reinterpret_cast<Fn>(sym);
  return sym != nullptr;
}

}  // namespace

bool ResolveGlibcAllocator(RealAllocator* out) {
  // RTLD_NOLOAD: libc is always loaded already; this only returns its handle. dlsym on
  // that handle searches libc (and its dependency ld.so) and nothing loaded before it.
  void* libc = dlopen(LIBC_SO, RTLD_NOW | RTLD_NOLOAD);
  if (libc == nullptr) return false;
  RealAllocator fns;
  bool ok = Lookup(libc, "malloc", &fns.malloc) && Lookup(libc, "free", &fns.free) &&
            Lookup(libc, "calloc", &fns.calloc) && Lookup(libc, "realloc", &fns.realloc) &&
            Lookup(libc, "memalign", &fns.memalign) &&
            Lookup(libc, "posix_memalign", &fns.posix_memalign) &&
            Lookup(libc, "aligned_alloc", &fns.aligned_alloc) &&
            Lookup(libc, "valloc", &fns.valloc) && Lookup(libc, "pvalloc", &fns.pvalloc) &&
            Lookup(libc, "malloc_usable_size", &fns.malloc_usable_size) &&
            Lookup(libc, "malloc_trim", &fns.malloc_trim);
  // The handle stays open on purpose: libc is never unloaded.
  if (ok) *out = fns;
  return ok;
}

}  // namespace heapwarden::internal
