// peak_tracker.cc: see peak_tracker.h. Record side.
#include "record/track/peak_tracker.h"

#include <sched.h>

#include "record/base/mmap_arena.h"

namespace heapwarden::internal {

bool PeakTracker::Init(SiteTable* sites) {
  sites_ = sites;
  if (entries_ == nullptr) {
    entries_ = static_cast<Entry*>(MapPages(sizeof(Entry) * sites->capacity(), /*reserve_only=*/true));
  }
  for (uint32_t*& list : dirty_) {
    if (list == nullptr) {
      list = static_cast<uint32_t*>(MapPages(sizeof(uint32_t) * sites->capacity(), /*reserve_only=*/true));
    }
  }
  return entries_ != nullptr && dirty_[0] != nullptr && dirty_[1] != nullptr;
}

void PeakTracker::MarkDirtySlow(Site& site, uint32_t site_id) {
  if (dirty_[0] == nullptr || dirty_[1] == nullptr) return;
  SpinLockHolder hold(dirty_lock_);
  const uint32_t epoch = epoch_.load(std::memory_order_relaxed);
  if (site.peak_epoch.load(std::memory_order_relaxed) == epoch) return;
  site.peak_epoch.store(epoch, std::memory_order_relaxed);
  // At most once per site per epoch: the list never holds more than the table's capacity.
  dirty_[filling_][dirty_count_[filling_]++] = site_id;
}

void PeakTracker::CaptureNow(bool wait) {
  if (sites_ == nullptr || entries_ == nullptr || dirty_[0] == nullptr || dirty_[1] == nullptr) return;
  if (wait) {
    lock_.Lock();
  } else if (!lock_.TryLock()) {
    return;
  }
  if (!pending_.load(std::memory_order_acquire)) {  // another thread took it
    lock_.Unlock();
    return;
  }
  pending_.store(false, std::memory_order_relaxed);
  const uint32_t* list;
  uint32_t count;
  {
    // A new epoch and an empty list for the changes from now on; the list taken here
    // was emptied by the previous capture, which finished under lock_.
    SpinLockHolder hold(dirty_lock_);
    const int taken = filling_;
    filling_ = 1 - taken;
    dirty_count_[filling_] = 0;
    count = dirty_count_[taken];
    list = dirty_[taken];
    epoch_.fetch_add(1, std::memory_order_relaxed);
  }
  SiteTable& sites = *sites_;
  const uint64_t seq = sequence_.load(std::memory_order_relaxed);
  sequence_.store(seq + 1, std::memory_order_relaxed);
  // The odd sequence must be visible before any entry changes (seqlock writer).
  std::atomic_thread_fence(std::memory_order_release);
  uint32_t highest = 0;
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t id = list[i];
    const Site& s = sites.site(id);
    __atomic_store_n(&entries_[id].live_blocks, s.live_blocks(), __ATOMIC_RELAXED);
    __atomic_store_n(&entries_[id].live_bytes, s.live_bytes(), __ATOMIC_RELAXED);
    if (id + 1 > highest) highest = id + 1;
  }
  __atomic_store_n(&header_.time_ns, peak_time_ns_.load(std::memory_order_relaxed), __ATOMIC_RELAXED);
  __atomic_store_n(&header_.live_bytes, peak_live_.load(std::memory_order_relaxed), __ATOMIC_RELAXED);
  __atomic_store_n(&header_.site_count, sites.site_count(), __ATOMIC_RELAXED);
  sequence_.store(seq + 2, std::memory_order_release);
  if (highest > high_water_sites_.load(std::memory_order_relaxed)) {
    high_water_sites_.store(highest, std::memory_order_relaxed);
  }
  captures_.fetch_add(1, std::memory_order_relaxed);
  lock_.Unlock();
}

bool PeakTracker::CopyOut(Entry* out, uint32_t max_sites, Capture* capture) {
  const uint64_t seq = sequence_.load(std::memory_order_acquire);
  if (seq & 1) return false;
  Capture h;
  h.time_ns = __atomic_load_n(&header_.time_ns, __ATOMIC_RELAXED);
  h.live_bytes = __atomic_load_n(&header_.live_bytes, __ATOMIC_RELAXED);
  h.site_count = __atomic_load_n(&header_.site_count, __ATOMIC_RELAXED);
  const uint32_t n = h.site_count < max_sites ? h.site_count : max_sites;
  // Entries past the highest ever written are untouched zero pages: no need to read.
  const uint32_t written = high_water_sites_.load(std::memory_order_relaxed);
  for (uint32_t id = 0; id < n; ++id) {
    if (id >= written) {
      out[id] = Entry{0, 0};
      continue;
    }
    out[id].live_blocks = __atomic_load_n(&entries_[id].live_blocks, __ATOMIC_RELAXED);
    out[id].live_bytes = __atomic_load_n(&entries_[id].live_bytes, __ATOMIC_RELAXED);
  }
  // Every entry must be read before the sequence is checked again (seqlock reader).
  std::atomic_thread_fence(std::memory_order_acquire);
  if (sequence_.load(std::memory_order_relaxed) != seq) return false;
  *capture = h;
  return true;
}

bool PeakTracker::Read(Entry* out, uint32_t max_sites, Capture* capture) {
  if (entries_ == nullptr) return false;
  // No free since the last maximum: the state now is the peak's.
  if (pending_.load(std::memory_order_acquire)) CaptureNow(/*wait=*/false);
  if (captures() == 0) return false;
  for (int attempt = 0; attempt < 64; ++attempt) {
    if (CopyOut(out, max_sites, capture)) return true;
  }
  // Captures keep landing while we read (a program at its maximum, freeing and
  // allocating): hold them off for one copy. Only ever TryLock: a capturing thread may
  // be stopped (the exit-time leak scan stops threads) with the lock held.
  for (int attempt = 0; attempt < 1000; ++attempt) {
    if (lock_.TryLock()) {
      bool ok = CopyOut(out, max_sites, capture);
      lock_.Unlock();
      return ok;
    }
    sched_yield();
  }
  return false;
}

uint64_t PeakTracker::mapped_bytes() const {
  const uint64_t bytes = sizeof(Entry) * high_water_sites_.load(std::memory_order_relaxed);
  const uint64_t lists = sizeof(uint32_t) * high_water_sites_.load(std::memory_order_relaxed);
  return ((bytes + 4095) & ~uint64_t{4095}) + 2 * ((lists + 4095) & ~uint64_t{4095});
}

void PeakTracker::ResetAfterFork() {
  lock_.ResetAfterFork();
  dirty_lock_.ResetAfterFork();
  uint64_t s = sequence_.load(std::memory_order_relaxed);
  if (s & 1) sequence_.store(s + 1, std::memory_order_relaxed);
}

}  // namespace heapwarden::internal
