// real_functions.h: how the interposed functions reach the allocator that really
// serves memory, and how the first allocation of the process gets it resolved.
// Preload side; shared by alloc_override.cc and lifecycle.cc.
#ifndef HEAPWARDEN_PRELOAD_REAL_FUNCTIONS_H_
#define HEAPWARDEN_PRELOAD_REAL_FUNCTIONS_H_

#include <atomic>

#include "record/alloc/real_allocator.h"

namespace heapwarden::internal {

extern RealAllocator g_real;
extern std::atomic<bool> g_real_ready;

// Set when the recorder starts (lifecycle.cc). Until then -- and for good in a program
// linked with libheapwarden that never switches tracking on -- each hook costs this one
// load on top of the real call (docs/cpp.md).
extern std::atomic<bool> g_recorder_started;

// Resolves g_real on first use. False while this very thread is resolving (dlopen and
// dlsym allocate): the caller then serves the request from the bootstrap pool.
bool ResolveRealAllocatorSlow();

inline bool EnsureRealAllocator() {
  return __builtin_expect(g_real_ready.load(std::memory_order_acquire), 1) ||
         ResolveRealAllocatorSlow();
}

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_PRELOAD_REAL_FUNCTIONS_H_
