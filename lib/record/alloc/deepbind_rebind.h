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

// RebindAfterDeepbind()
//
// `handle`: what dlopen(..., RTLD_DEEPBIND) returned (non-null). `self`: an address
// inside the object that defines heapwarden's allocation functions (never patched).
// Scans every loaded object but libc, the dynamic linker and `self`'s; slots in RELRO
// are made writable for the write and read-only again. Returns the slots rewritten.
// Not thread-safe against another rebind (the caller serialises).
int RebindAfterDeepbind(void* handle, const void* self);

// Counts for the report: RTLD_DEEPBIND loads seen, and slots rewritten after them.
uint64_t DeepbindLoads();
uint64_t DeepbindReboundSlots();

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_ALLOC_DEEPBIND_REBIND_H_
