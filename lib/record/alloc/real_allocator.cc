// real_allocator.cc: see real_allocator.h. Record side.
#include "record/alloc/real_allocator.h"

#include <dlfcn.h>
#include <gnu/lib-names.h>

namespace heapwarden::internal {
namespace {

// The object defining the program's malloc, when it is not libc ("" otherwise).
const char* g_program_allocator = "";

// True when `fn` (the next malloc) is defined by another copy of heapwarden (a program
// linked with libheapwarden run under the preload: whichever comes first in the search
// order finds the other as "next"). Forwarding to it would stack two interposers;
// glibc's own functions are what each copy forwarded to before. A heapwarden copy is
// the one object besides libc that defines both malloc and __libc_start_main (the
// preload wraps main), which RTLD_NEXT can tell without reading symbol tables.
bool InAnotherHeapwarden(void* fn, void* libc_malloc) {
  void* start = dlsym(RTLD_NEXT, "__libc_start_main");
  Dl_info fn_info, start_info, libc_info;
  if (start == nullptr || dladdr(fn, &fn_info) == 0 || dladdr(start, &start_info) == 0) return false;
  if (fn_info.dli_fbase != start_info.dli_fbase) return false;
  return libc_malloc == nullptr || dladdr(libc_malloc, &libc_info) == 0 ||
         libc_info.dli_fbase != fn_info.dli_fbase;
}

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
  // RTLD_NOLOAD: libc is always loaded already; this only returns its handle (kept
  // open on purpose: libc is never unloaded).
  void* libc = dlopen(LIBC_SO, RTLD_NOW | RTLD_NOLOAD);
  void* libc_malloc = libc != nullptr ? dlsym(libc, "malloc") : nullptr;
  if (ok && InAnotherHeapwarden(reinterpret_cast<void*>(fns.malloc), libc_malloc)) {
    ok = libc != nullptr && LookupSymbol(libc, "malloc", &fns.malloc) &&
         LookupSymbol(libc, "free", &fns.free) && LookupSymbol(libc, "calloc", &fns.calloc) &&
         LookupSymbol(libc, "realloc", &fns.realloc) &&
         LookupSymbol(libc, "memalign", &fns.memalign) &&
         LookupSymbol(libc, "posix_memalign", &fns.posix_memalign) &&
         LookupSymbol(libc, "aligned_alloc", &fns.aligned_alloc) &&
         LookupSymbol(libc, "valloc", &fns.valloc) && LookupSymbol(libc, "pvalloc", &fns.pvalloc) &&
         LookupSymbol(libc, "malloc_usable_size", &fns.malloc_usable_size) &&
         LookupSymbol(libc, "malloc_trim", &fns.malloc_trim);
  }
  if (!ok) return false;
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
