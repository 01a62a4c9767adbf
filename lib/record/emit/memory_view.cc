// memory_view.cc: see memory_view.h. Record side.
#include "record/emit/memory_view.h"

#include "record/alloc/backend.h"
#include "record/base/clock.h"
#include "record/track/mapped_regions.h"
#include "record/base/proc_stats.h"
#include "record/track/recorder.h"
#include "record/base/spin_lock.h"

namespace heapwarden::internal {
namespace {

// The allocator's last answer, for cheap views.
SpinLock g_cache_lock;
AllocatorStats g_cached = {};
uint64_t g_cached_at_ns = 0;
uint64_t g_next_refresh_ns = 0;

constexpr uint64_t kMinRefreshNs = 1000000000ull;  // 1 s
constexpr uint64_t kCostFactor = 50;

AllocatorStats FreshAllocatorStats() {
  uint64_t start = NowNs();
  AllocatorStats stats;
  ReadAllocatorStats(&stats);
  uint64_t end = NowNs();
  if (g_cache_lock.TryLock()) {
    g_cached = stats;
    g_cached_at_ns = end;
    uint64_t wait = (end - start) * kCostFactor;
    g_next_refresh_ns = end + (wait > kMinRefreshNs ? wait : kMinRefreshNs);
    g_cache_lock.Unlock();
  }
  return stats;
}

AllocatorStats CachedAllocatorStats() {
  uint64_t now = NowNs();
  if (g_cache_lock.TryLock()) {
    bool stale = g_cached_at_ns == 0 || now >= g_next_refresh_ns;
    AllocatorStats stats = g_cached;
    g_cache_lock.Unlock();
    if (!stale) return stats;
  }
  return FreshAllocatorStats();
}

}  // namespace

void ReadMemoryView(Recorder& recorder, ViewDetail detail, uint64_t rss_bytes, MemoryView* out) {
  *out = MemoryView{};
  out->rss_bytes = rss_bytes != 0 ? rss_bytes : ReadRssBytes();
  out->live_bytes = recorder.live_bytes();
  out->mapped_bytes = MappedLiveBytes();
  out->mapped_resident_bytes =
      detail == ViewDetail::kFull ? MappedResidentBytes() : out->mapped_bytes;
  const uint64_t used = out->live_bytes + out->mapped_resident_bytes;
  out->retained_bytes = out->rss_bytes > used ? out->rss_bytes - used : 0;

  AllocatorStats stats = {};
  if (detail == ViewDetail::kNoWait) {
    if (g_cache_lock.TryLock()) {
      stats = g_cached;
      g_cache_lock.Unlock();
    }
  } else {
    stats = detail == ViewDetail::kFull ? FreshAllocatorStats() : CachedAllocatorStats();
  }
  out->allocator_valid = stats.valid;
  out->allocator_held_bytes = stats.held_bytes;
  if (stats.valid && ActiveBackend() == kBackendMimalloc) {
    // mimalloc counts what it committed, not what is in use: live blocks are ours to count.
    stats.free_bytes = stats.held_bytes > out->live_bytes ? stats.held_bytes - out->live_bytes : 0;
  }
  out->allocator_free_bytes = stats.free_bytes;
  out->trimmable_bytes = out->retained_bytes;
  if (stats.valid && stats.free_bytes < out->trimmable_bytes) {
    out->trimmable_bytes = stats.free_bytes;
  }
}

uint64_t RetainedBytes(Recorder& recorder, uint64_t rss_bytes) {
  const uint64_t rss = rss_bytes != 0 ? rss_bytes : ReadRssBytes();
  const uint64_t used = recorder.live_bytes() + MappedLiveBytes();
  return rss > used ? rss - used : 0;
}

}  // namespace heapwarden::internal
