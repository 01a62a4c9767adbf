// deepbind_rebind.h: plugins loaded with RTLD_DEEPBIND look symbols up in their own
// scope first (the plugin, its dependencies, libc) and only then in the global one, so
// their calls to malloc and free bind to libc's and never reach an LD_PRELOAD'ed
// heapwarden: their leaks go unseen and a block of the program's they free stays
// "live" (a false leak). After such a dlopen, RebindAfterDeepbind() points every
// relocation slot of the allocation family that holds the function a plain lookup
// would not give (libc's, or the next definition after heapwarden's) at the one the
// global scope gives (heapwarden's), as if the plugin had been loaded without the flag
// for these names only; every other symbol keeps RTLD_DEEPBIND's binding.
// Not hot path: runs in dlopen, outside any hook; may allocate (dladdr, dlsym).
#ifndef HEAPWARDEN_LIB_RECORD_ALLOC_DEEPBIND_REBIND_H_
#define HEAPWARDEN_LIB_RECORD_ALLOC_DEEPBIND_REBIND_H_

#include <cstdint>

namespace heapwarden::internal {

// The objects loaded before a dlopen, so that the rebind knows which are new.
// 8 KiB: it lives on the stack of the thread calling dlopen. More objects than this:
// every object counts as new (a lazy slot of an old one is then bound to heapwarden's
// early, which is what its own first call would do).
struct LoadedObjects {
  static constexpr int kMax = 1024;
  uintptr_t bases[kMax];
  int count = 0;
  bool overflowed = false;
};

// Fills `out` with the load addresses of every object loaded now.
void ListLoadedObjects(LoadedObjects* out);

// RebindAfterDeepbind()
//
// `handle`: what dlopen(..., RTLD_DEEPBIND) returned (non-null); `before`: the objects
// loaded before that call. `self`: an address inside the object that defines
// heapwarden's allocation functions (never patched). Scans every loaded object but
// libc, the dynamic linker and `self`'s; a lazy slot not bound yet is decided only in
// the objects that call loaded. Slots in RELRO are made writable for the write and
// read-only again. Returns the slots rewritten. The caller serialises rebinds.
int RebindAfterDeepbind(void* handle, const LoadedObjects& before, const void* self);

// Counts for the report: RTLD_DEEPBIND loads seen, and slots rewritten after them.
uint64_t DeepbindLoads();
uint64_t DeepbindReboundSlots();

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_ALLOC_DEEPBIND_REBIND_H_
