// real_allocator.cc: see real_allocator.h. Record side.
#include "record/alloc/real_allocator.h"

#include <dlfcn.h>
#include <gnu/lib-names.h>

namespace heapwarden::internal {
namespace {

// The object defining the program's malloc, when it is not libc ("" otherwise).
const char* g_program_allocator = "";

}  // namespace

bool ResolveRealAllocator(RealAllocator* out) {
  // RTLD_NEXT: each function is the definition the program would have bound to without
  // heapwarden (the next object in the global search order that defines it). The
  // caller of dlsym is this object, so this file must stay in the interposing library
  // (or, for libheapwarden.a, in the executable).
  RealAllocator fns;
  bool ok = LookupSymbol(RTLD_NEXT, "malloc", &fns.malloc) &&
            LookupSymbol(RTLD_NEXT, "free", &fns.free) &&
            LookupSymbol(RTLD_NEXT, "calloc", &fns.calloc) &&
            LookupSymbol(RTLD_NEXT, "realloc", &fns.realloc) &&
            LookupSymbol(RTLD_NEXT, "memalign", &fns.memalign) &&
            LookupSymbol(RTLD_NEXT, "posix_memalign", &fns.posix_memalign) &&
            LookupSymbol(RTLD_NEXT, "aligned_alloc", &fns.aligned_alloc) &&
            LookupSymbol(RTLD_NEXT, "valloc", &fns.valloc) &&
            LookupSymbol(RTLD_NEXT, "pvalloc", &fns.pvalloc) &&
            LookupSymbol(RTLD_NEXT, "malloc_usable_size", &fns.malloc_usable_size) &&
            LookupSymbol(RTLD_NEXT, "malloc_trim", &fns.malloc_trim);
  if (!ok) return false;
  // RTLD_NOLOAD: libc is always loaded already; this only returns its handle (kept
  // open on purpose: libc is never unloaded).
  void* libc = dlopen(LIBC_SO, RTLD_NOW | RTLD_NOLOAD);
  void* libc_malloc = libc != nullptr ? dlsym(libc, "malloc") : nullptr;
  if (reinterpret_cast<void*>(fns.malloc) != libc_malloc) {
    Dl_info info;
    if (dladdr(reinterpret_cast<void*>(fns.malloc), &info) != 0 && info.dli_fname != nullptr &&
        info.dli_fname[0] != '\0') {
      g_program_allocator = info.dli_fname;  // the link map's own string: lives as long
    } else {
      g_program_allocator = "?";
    }
  }
  *out = fns;
  return true;
}

const char* ProgramAllocatorPath() { return g_program_allocator; }

}  // namespace heapwarden::internal
