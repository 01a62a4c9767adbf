// bootstrap_pool.cc: see bootstrap_pool.h. Record side.
#include "record/alloc/bootstrap_pool.h"

#include <atomic>
#include <cstdint>
#include <cstring>

namespace heapwarden::internal {
namespace {

std::atomic<size_t> g_used{0};

}  // namespace

// Each block is preceded by its size, so realloc can copy out of the pool.
alignas(4096) char g_bootstrap_pool[kBootstrapPoolBytes];

void* BootstrapAllocate(size_t size, size_t alignment) {
  if (alignment < 16) alignment = 16;
  if (size > kBootstrapPoolBytes || alignment > 4096) return nullptr;
  size_t old_used = g_used.load(std::memory_order_relaxed);
  for (;;) {
    size_t start = (old_used + sizeof(size_t) + alignment - 1) & ~(alignment - 1);
    size_t end = start + ((size + 15) & ~size_t{15});
    if (end > kBootstrapPoolBytes) return nullptr;
    if (g_used.compare_exchange_weak(old_used, end, std::memory_order_relaxed)) {
      memcpy(g_bootstrap_pool + start - sizeof(size_t), &size, sizeof(size_t));
      return g_bootstrap_pool + start;
    }
  }
}

size_t BootstrapUsableSize(const void* p) {
  if (!IsBootstrapPointer(p)) return 0;
  size_t size;
  memcpy(&size, static_cast<const char*>(p) - sizeof(size_t), sizeof(size_t));
  return size;
}

}  // namespace heapwarden::internal
