// bootstrap_pool.cc: see bootstrap_pool.h. Record side.
#include "record/alloc/bootstrap_pool.h"

#include <atomic>
#include <cstdint>
#include <cstring>

namespace heapwarden::internal {
namespace {

std::atomic<size_t> g_used{0};

// WatchBootstrapBlocks: the blocks handed out (their starts; the pool itself does not
// record where padding ends), and the watcher.
constexpr int kMaxStarts = 1024;
uint32_t g_starts[kMaxStarts];
std::atomic<int> g_start_count{0};
std::atomic<void (*)(void*, const void*)> g_watch{nullptr};
void* g_watch_context = nullptr;

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
      // Sequentially consistent, as in WatchBootstrapBlocks: either the watcher reads
      // this start or this reads the watcher.
      const int n = g_start_count.fetch_add(1);
      if (n < kMaxStarts) __atomic_store_n(&g_starts[n], static_cast<uint32_t>(start), __ATOMIC_SEQ_CST);
      if (auto* watch = g_watch.load()) watch(g_watch_context, g_bootstrap_pool + start);
      return g_bootstrap_pool + start;
    }
  }
}

void WatchBootstrapBlocks(void (*fn)(void* context, const void* block), void* context) {
  g_watch_context = context;
  g_watch.store(fn);
  // After the store: a block handed out meanwhile is reported here, by
  // BootstrapAllocate, or both.
  const int n = g_start_count.load();
  if (n > kMaxStarts) {
    // More blocks than starts kept: every 16-byte granule in use may start one.
    const size_t used = g_used.load();
    for (size_t off = 0; off < used; off += 16) fn(context, g_bootstrap_pool + off);
    return;
  }
  for (int i = 0; i < n; ++i) {
    // A start not yet written by a racing BootstrapAllocate is 0: that block reports
    // itself once it sees the watcher.
    const uint32_t start = __atomic_load_n(&g_starts[i], __ATOMIC_SEQ_CST);
    if (start != 0) fn(context, g_bootstrap_pool + start);
  }
}

size_t BootstrapUsableSize(const void* p) {
  if (!IsBootstrapPointer(p)) return 0;
  size_t size;
  memcpy(&size, static_cast<const char*>(p) - sizeof(size_t), sizeof(size_t));
  return size;
}

}  // namespace heapwarden::internal
