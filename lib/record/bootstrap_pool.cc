// bootstrap_pool.cc: see bootstrap_pool.h. Record side.
#include "record/bootstrap_pool.h"

#include <atomic>
#include <cstdint>
#include <cstring>

namespace heapwarden::internal {
namespace {

constexpr size_t kPoolBytes = 256 * 1024;
// Each block is preceded by its size, so realloc can copy out of the pool.
alignas(4096) char g_pool[kPoolBytes];
std::atomic<size_t> g_used{0};

}  // namespace

void* BootstrapAllocate(size_t size, size_t alignment) {
  if (alignment < 16) alignment = 16;
  if (size > kPoolBytes || alignment > 4096) return nullptr;
  size_t old_used = g_used.load(std::memory_order_relaxed);
  for (;;) {
    size_t start = (old_used + sizeof(size_t) + alignment - 1) & ~(alignment - 1);
    size_t end = start + ((size + 15) & ~size_t{15});
    if (end > kPoolBytes) return nullptr;
    if (g_used.compare_exchange_weak(old_used, end, std::memory_order_relaxed)) {
      memcpy(g_pool + start - sizeof(size_t), &size, sizeof(size_t));
      return g_pool + start;
    }
  }
}

bool IsBootstrapPointer(const void* p) {
  auto addr = reinterpret_cast<uintptr_t>(p);
  auto base = reinterpret_cast<uintptr_t>(g_pool);
  return addr >= base && addr < base + kPoolBytes;
}

size_t BootstrapUsableSize(const void* p) {
  if (!IsBootstrapPointer(p)) return 0;
  size_t size;
  memcpy(&size, static_cast<const char*>(p) - sizeof(size_t), sizeof(size_t));
  return size;
}

}  // namespace heapwarden::internal
