// mapped_regions.cc: see mapped_regions.h. Record side.
#include "record/track/mapped_regions.h"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "record/base/clock.h"
#include "record/base/mmap_arena.h"
#include "record/track/recorder.h"
#include "record/track/site_table.h"
#include "record/base/spin_lock.h"
#include "record/track/stack_capture.h"
#include "record/base/thread_state.h"
#include "record/track/python_stack.h"

namespace heapwarden::internal {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kInitialCapacity = 1024;

SpinLock g_lock;
MappedRegion* g_regions = nullptr;  // sorted by start, non-overlapping
size_t g_capacity = 0;
size_t g_count = 0;
std::atomic<size_t> g_published_count{0};  // g_count, for readers without the lock
std::atomic<uint64_t> g_live{0};
std::atomic<uint64_t> g_peak{0};

size_t RoundUpPage(size_t n) { return (n + kPage - 1) & ~(kPage - 1); }

// First index whose region ends above `a`.
size_t LowerBound(uintptr_t a) {
  size_t lo = 0, hi = g_count;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (g_regions[mid].end <= a) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

bool EnsureCapacityLocked(size_t needed) {
  if (needed <= g_capacity) return true;
  size_t capacity = g_capacity ? g_capacity * 2 : kInitialCapacity;
  while (capacity < needed) capacity *= 2;
  auto* fresh = static_cast<MappedRegion*>(MapPages(capacity * sizeof(MappedRegion)));
  if (fresh == nullptr) return false;
  if (g_regions != nullptr) {
    memcpy(fresh, g_regions, g_count * sizeof(MappedRegion));
    UnmapPages(g_regions, g_capacity * sizeof(MappedRegion));
  }
  g_regions = fresh;
  g_capacity = capacity;
  return true;
}

void AddLive(uint64_t bytes) {
  uint64_t live = g_live.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  uint64_t peak = g_peak.load(std::memory_order_relaxed);
  while (live > peak && !g_peak.compare_exchange_weak(peak, live, std::memory_order_relaxed)) {
  }
}

// A region of `site` grew by `bytes` (a new region when `new_block`).
void SiteAdd(uint32_t site_id, uint64_t bytes, bool new_block) {
  Site& site = TheRecorder().sites().site(site_id);
  if (new_block) site.shared.live_blocks.fetch_add(1, std::memory_order_relaxed);
  uint64_t live = site.shared.live_bytes.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  if (live > site.peak_live_bytes.load(std::memory_order_relaxed)) {
    site.peak_live_bytes.store(live, std::memory_order_relaxed);
  }
  AddLive(bytes);
}

// A region of `site` lost `bytes` (all of it when `gone`; its lifetime is recorded
// unless the region only moves, for mremap).
void SiteRemove(uint32_t site_id, uint64_t bytes, bool gone, uint32_t birth_ms, bool moving) {
  Site& site = TheRecorder().sites().site(site_id);
  site.shared.live_bytes.fetch_sub(bytes, std::memory_order_relaxed);
  g_live.fetch_sub(bytes, std::memory_order_relaxed);
  if (!gone) return;
  site.shared.live_blocks.fetch_sub(1, std::memory_order_relaxed);
  if (moving) return;
  uint32_t now = NowMsCoarse();
  uint32_t lifetime = now > birth_ms ? now - birth_ms : 0;
  int bucket = lifetime == 0 ? 0 : 32 - __builtin_clz(lifetime);
  if (bucket >= kLifetimeBuckets) bucket = kLifetimeBuckets - 1;
  site.shared.lifetime_ms_log2[bucket].fetch_add(1, std::memory_order_relaxed);
}

void EraseAtLocked(size_t i) {
  memmove(&g_regions[i], &g_regions[i + 1], (g_count - i - 1) * sizeof(MappedRegion));
  --g_count;
}

// Removes [lo, hi) from every region it touches: whole regions go, heads and tails
// shrink, a middle splits the region in two.
void RemoveRangeLocked(uintptr_t lo, uintptr_t hi, bool moving) {
  size_t i = LowerBound(lo);
  while (i < g_count && g_regions[i].start < hi) {
    MappedRegion r = g_regions[i];
    uintptr_t cut_lo = r.start > lo ? r.start : lo;
    uintptr_t cut_hi = r.end < hi ? r.end : hi;
    uint64_t bytes = cut_hi - cut_lo;
    if (cut_lo == r.start && cut_hi == r.end) {
      EraseAtLocked(i);
      SiteRemove(r.site, bytes, /*gone=*/true, r.birth_ms, moving);
      continue;
    }
    if (cut_lo == r.start) {
      g_regions[i].start = cut_hi;
    } else if (cut_hi == r.end) {
      g_regions[i].end = cut_lo;
    } else if (EnsureCapacityLocked(g_count + 1)) {
      // The middle: the tail becomes a region of its own, of the same site and age.
      memmove(&g_regions[i + 2], &g_regions[i + 1], (g_count - i - 1) * sizeof(MappedRegion));
      g_regions[i].end = cut_lo;
      g_regions[i + 1] = MappedRegion{cut_hi, r.end, r.site, r.birth_ms};
      ++g_count;
      TheRecorder().sites().site(r.site).shared.live_blocks.fetch_add(1, std::memory_order_relaxed);
      SiteRemove(r.site, bytes, false, r.birth_ms, moving);
      i += 2;
      continue;
    } else {
      // No room to split: keep the head, forget the tail as if unmapped too.
      g_regions[i].end = cut_lo;
      bytes += r.end - cut_hi;
    }
    SiteRemove(r.site, bytes, false, r.birth_ms, moving);
    ++i;
  }
}

// Inserts a region; whatever tracked memory it overlaps was unmapped unseen (or mapped
// over with MAP_FIXED) and goes first.
void InsertLocked(const MappedRegion& region) {
  RemoveRangeLocked(region.start, region.end, /*moving=*/false);
  if (!EnsureCapacityLocked(g_count + 1)) return;
  size_t i = LowerBound(region.start);
  memmove(&g_regions[i + 1], &g_regions[i], (g_count - i) * sizeof(MappedRegion));
  g_regions[i] = region;
  ++g_count;
  SiteAdd(region.site, region.end - region.start, /*new_block=*/true);
}

void Publish() { g_published_count.store(g_count, std::memory_order_release); }

// Unchecked by -Wthread-safety: the lock is held across the fork, by design.
void PrepareFork() ABSL_NO_THREAD_SAFETY_ANALYSIS { g_lock.Lock(); }
void AfterForkParent() ABSL_NO_THREAD_SAFETY_ANALYSIS { g_lock.Unlock(); }
void AfterForkChild() { g_lock.ResetAfterFork(); }

int StackDepth() {
  int64_t depth = TheRecorder().options().depth;
  if (depth < 1 || depth > kMaxFrames) return 32;
  return static_cast<int>(depth);
}

}  // namespace

void InitMappedRegions() {
  static bool registered = false;
  if (registered) return;
  registered = true;
  pthread_atfork(PrepareFork, AfterForkParent, AfterForkChild);
}

void OnMapped(uintptr_t start, size_t length, uintptr_t caller) {
  Recorder& recorder = TheRecorder();
  if (!recorder.active() || length == 0) return;
  length = RoundUpPage(length);
  uintptr_t frames[kMaxFrames];
  // With Python frames: a pymalloc arena is charged to the Python line that opened it.
  int depth = CaptureStackWithPython(frames, StackDepth(), caller);
  const uint32_t site_id = recorder.sites().Intern(frames, depth, t_state.tag_id, kSourceMapped);
  Site& site = recorder.sites().site(site_id);
  site.shared.allocations.fetch_add(1, std::memory_order_relaxed);
  site.shared.bytes_allocated.fetch_add(length, std::memory_order_relaxed);
  SpinLockHolder hold(g_lock);
  InsertLocked(MappedRegion{start, start + length, site_id, NowMsCoarse()});
  Publish();
}

void OnUnmapped(uintptr_t start, size_t length) {
  if (length == 0 || !AnyMappedRegions()) return;
  SpinLockHolder hold(g_lock);
  RemoveRangeLocked(start, start + RoundUpPage(length), /*moving=*/false);
  Publish();
}

bool TakeForRemap(uintptr_t old_start, size_t old_length, RemapTicket* ticket) {
  if (!AnyMappedRegions()) return false;
  SpinLockHolder hold(g_lock);
  size_t i = LowerBound(old_start);
  if (i >= g_count || g_regions[i].start > old_start) return false;
  *ticket = RemapTicket{old_start, RoundUpPage(old_length), g_regions[i].site,
                        g_regions[i].birth_ms};
  if (ticket->old_length != 0) {
    RemoveRangeLocked(old_start, old_start + ticket->old_length, /*moving=*/true);
  }
  Publish();
  return true;
}

void FinishRemap(const RemapTicket& ticket, uintptr_t new_start, size_t new_length) {
  Site& site = TheRecorder().sites().site(ticket.site);
  SpinLockHolder hold(g_lock);
  if (new_start == 0) {
    // The call failed: the old range is still mapped.
    if (ticket.old_length != 0) {
      InsertLocked(MappedRegion{ticket.old_start, ticket.old_start + ticket.old_length,
                                ticket.site, ticket.birth_ms});
    }
  } else {
    new_length = RoundUpPage(new_length);
    if (ticket.old_length == 0) {
      // mremap(old, 0, n, MREMAP_MAYMOVE) duplicates a shared mapping: a new region.
      site.shared.allocations.fetch_add(1, std::memory_order_relaxed);
      site.shared.bytes_allocated.fetch_add(new_length, std::memory_order_relaxed);
    } else if (new_length > ticket.old_length) {
      site.shared.bytes_allocated.fetch_add(new_length - ticket.old_length, std::memory_order_relaxed);
    }
    InsertLocked(MappedRegion{new_start, new_start + new_length, ticket.site, ticket.birth_ms});
  }
  Publish();
}

bool AnyMappedRegions() { return g_published_count.load(std::memory_order_acquire) != 0; }

uint64_t MappedLiveBytes() { return g_live.load(std::memory_order_relaxed); }
uint64_t MappedPeakBytes() { return g_peak.load(std::memory_order_relaxed); }

int CopyMappedRegions(uintptr_t from, MappedRegion* out, int max) {
  SpinLockHolder hold(g_lock);
  size_t i = LowerBound(from);
  int n = 0;
  for (; i < g_count && n < max; ++i) out[n++] = g_regions[i];
  return n;
}

uint64_t MappedResidentBytes() {
  constexpr int kBatch = 128;
  constexpr size_t kVecPages = 4096;
  MappedRegion batch[kBatch];
  unsigned char vec[kVecPages];
  uint64_t resident = 0;
  uintptr_t from = 0;
  for (;;) {
    int n = CopyMappedRegions(from, batch, kBatch);
    for (int b = 0; b < n; ++b) {
      for (uintptr_t at = batch[b].start; at < batch[b].end;) {
        size_t pages = (batch[b].end - at) / kPage;
        if (pages > kVecPages) pages = kVecPages;
        // ENOMEM: unmapped meanwhile; the rest of the region is skipped.
        if (mincore(reinterpret_cast<void*>(at), pages * kPage, vec) != 0) break;
        for (size_t p = 0; p < pages; ++p) resident += (vec[p] & 1) ? kPage : 0;
        at += pages * kPage;
      }
    }
    if (n < kBatch) break;
    from = batch[n - 1].end;
  }
  return resident;
}

}  // namespace heapwarden::internal
