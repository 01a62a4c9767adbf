// peak_tracker.cc: see peak_tracker.h. Record side.
#include "record/track/peak_tracker.h"

#include <sched.h>

#include "record/base/clock.h"
#include "record/base/mmap_arena.h"

namespace heapwarden::internal {

bool PeakTracker::Init(uint32_t max_sites) {
  for (Entry*& half : half_) {
    if (half == nullptr) {
      half = static_cast<Entry*>(MapPages(sizeof(Entry) * max_sites, /*reserve_only=*/true));
    }
  }
  return half_[0] != nullptr && half_[1] != nullptr;
}

void PeakTracker::TryCapture(uint64_t live, SiteTable& sites) {
  if (half_[0] == nullptr || half_[1] == nullptr) return;
  // A busy lock means another thread is capturing a value at least as recent: skip.
  if (!lock_.TryLock()) return;
  if (live <= next_capture_.load(std::memory_order_relaxed)) {
    lock_.Unlock();
    return;
  }
  const int back = 1 - front_.load(std::memory_order_relaxed);
  const uint64_t seq = sequence_[back].load(std::memory_order_relaxed);
  sequence_[back].store(seq + 1, std::memory_order_relaxed);
  // The odd sequence must be visible before any entry changes (seqlock writer).
  std::atomic_thread_fence(std::memory_order_release);
  const uint32_t count = sites.site_count();
  Entry* out = half_[back];
  for (uint32_t id = 0; id < count; ++id) {
    const Site& s = sites.site(id);
    __atomic_store_n(&out[id].live_blocks, s.live_blocks(),
                     __ATOMIC_RELAXED);
    __atomic_store_n(&out[id].live_bytes, s.live_bytes(),
                     __ATOMIC_RELAXED);
  }
  __atomic_store_n(&header_[back].time_ns, NowNs(), __ATOMIC_RELAXED);
  __atomic_store_n(&header_[back].live_bytes, live, __ATOMIC_RELAXED);
  __atomic_store_n(&header_[back].site_count, count, __ATOMIC_RELAXED);
  sequence_[back].store(seq + 2, std::memory_order_release);
  front_.store(back, std::memory_order_release);
  if (count > high_water_sites_.load(std::memory_order_relaxed)) {
    high_water_sites_.store(count, std::memory_order_relaxed);
  }
  next_capture_.store(NextThreshold(live), std::memory_order_relaxed);
  captures_.fetch_add(1, std::memory_order_relaxed);
  lock_.Unlock();
}

bool PeakTracker::CopyHalf(int half, Entry* out, uint32_t max_sites, Capture* capture) {
  const uint64_t seq = sequence_[half].load(std::memory_order_acquire);
  if (seq & 1) return false;
  Capture h;
  h.time_ns = __atomic_load_n(&header_[half].time_ns, __ATOMIC_RELAXED);
  h.live_bytes = __atomic_load_n(&header_[half].live_bytes, __ATOMIC_RELAXED);
  h.site_count = __atomic_load_n(&header_[half].site_count, __ATOMIC_RELAXED);
  const uint32_t n = h.site_count < max_sites ? h.site_count : max_sites;
  const Entry* in = half_[half];
  for (uint32_t id = 0; id < n; ++id) {
    out[id].live_blocks = __atomic_load_n(&in[id].live_blocks, __ATOMIC_RELAXED);
    out[id].live_bytes = __atomic_load_n(&in[id].live_bytes, __ATOMIC_RELAXED);
  }
  // Every entry must be read before the sequence is checked again (seqlock reader).
  std::atomic_thread_fence(std::memory_order_acquire);
  if (sequence_[half].load(std::memory_order_relaxed) != seq) return false;
  *capture = h;
  return true;
}

bool PeakTracker::Read(Entry* out, uint32_t max_sites, Capture* capture) {
  if (captures() == 0 || half_[0] == nullptr) return false;
  for (int attempt = 0; attempt < 64; ++attempt) {
    if (CopyHalf(front_.load(std::memory_order_acquire), out, max_sites, capture)) return true;
  }
  // Captures keep landing on the half being read (live bytes climbing fast): hold
  // them off for one copy -- they are skipped, not delayed. Only ever TryLock: a
  // capturing thread may be stopped (the exit-time leak scan stops threads) with the
  // lock held, and a report must never wait for it.
  for (int attempt = 0; attempt < 1000; ++attempt) {
    if (lock_.TryLock()) {
      bool ok = CopyHalf(front_.load(std::memory_order_relaxed), out, max_sites, capture);
      lock_.Unlock();
      return ok;
    }
    sched_yield();
  }
  return false;
}

uint64_t PeakTracker::mapped_bytes() const {
  const uint64_t bytes = sizeof(Entry) * high_water_sites_.load(std::memory_order_relaxed);
  return 2 * ((bytes + 4095) & ~uint64_t{4095});
}

void PeakTracker::ResetAfterFork() {
  lock_.ResetAfterFork();
  for (auto& seq : sequence_) {
    uint64_t s = seq.load(std::memory_order_relaxed);
    if (s & 1) seq.store(s + 1, std::memory_order_relaxed);
  }
}

}  // namespace heapwarden::internal
