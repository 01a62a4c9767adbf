// bootstrap_pool.h: serves the few allocations made before the real allocator's
// functions are known (dlopen/dlsym allocate while we look them up).
// Hot path (inside malloc, before the real allocator is found): a static buffer and an atomic cursor; blocks are never reused, and
// free() recognises them by address so they never reach the real allocator.
#ifndef HEAPWARDEN_LIB_RECORD_ALLOC_BOOTSTRAP_POOL_H_
#define HEAPWARDEN_LIB_RECORD_ALLOC_BOOTSTRAP_POOL_H_

#include <cstddef>

namespace heapwarden::internal {

// Returns `size` zeroed bytes aligned to `alignment` (a power of two, at most 4096),
// or nullptr when the pool is exhausted.
void* BootstrapAllocate(size_t size, size_t alignment = 16);

inline constexpr size_t kBootstrapPoolBytes = 256 * 1024;
extern char g_bootstrap_pool[kBootstrapPoolBytes];

// True when p points into the pool. Inline: every free asks.
inline bool IsBootstrapPointer(const void* p) {
  return static_cast<size_t>(static_cast<const char*>(p) - g_bootstrap_pool) < kBootstrapPoolBytes;
}

// The size of a pool block (for realloc and malloc_usable_size), 0 if unknown.
size_t BootstrapUsableSize(const void* p);

// WatchBootstrapBlocks()
//
// Calls `fn` with the address of every pool block handed out so far and, from now on,
// of each one as it is handed out (a block may be reported twice). Sampled mode's
// free hook tests only its filter of sampled blocks, not the pool's range, so the
// filter must say "maybe" for every pool block. Once per process; `fn` must be
// callable from inside malloc.
void WatchBootstrapBlocks(void (*fn)(void* context, const void* block), void* context);

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_ALLOC_BOOTSTRAP_POOL_H_
