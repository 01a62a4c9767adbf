// peak_tracker.h: what was live, per site, when live heap bytes were highest -- exactly,
// in a program whose allocations do not race (and within the races of concurrent
// threads otherwise).
//
// How. Live bytes only grow between two frees, so the state at a maximum is still the
// state at the first free after it: that free copies it (lazily, before it changes any
// counter), and a report taken while no free has come since the maximum copies the
// state as it is. Only the sites whose counters changed since the last copy are copied:
// each site notes the capture epoch it was last listed in, and the first change in a
// new epoch puts it on the dirty list (a load and a compare per allocation and free; a
// short lock once per site per epoch). Growing churn -- allocate two, free one -- pays
// one copy of one or two sites per free.
//
// Hot path. NoteMaximum (a new maximum: one store unless already pending), MarkDirty's
// inline test, and CaptureIfPending (one load) run inside malloc and free. A capture
// holds the capture lock for the copy of the dirty sites. Readers (the report writer)
// copy the buffer under its sequence number and never wait for a capture; a report
// reads a capture that is pending by taking it first, if the lock is free.
#ifndef HEAPWARDEN_LIB_RECORD_TRACK_PEAK_TRACKER_H_
#define HEAPWARDEN_LIB_RECORD_TRACK_PEAK_TRACKER_H_

#include <atomic>
#include <cstdint>

#include "record/base/spin_lock.h"
#include "record/track/site_table.h"

namespace heapwarden::internal {

class PeakTracker {
 public:
  // Per site, at the peak.
  struct Entry {
    uint64_t live_blocks;
    uint64_t live_bytes;
  };
  struct Capture {
    uint64_t time_ns = 0;     // when live bytes reached the peak (clock.h)
    uint64_t live_bytes = 0;  // global live heap bytes at the peak
    uint32_t site_count = 0;  // entries [0, site_count) are valid
  };

  // Reserves the buffer and the dirty lists (address space only) for the sites of
  // `sites`. False when mmap fails; captures are then skipped and the report's peak
  // has no sites.
  bool Init(SiteTable* sites);

  // Hot path, after a site's counters changed: lists the site for the next capture.
  void MarkDirty(Site& site, uint32_t site_id) {
    if (site.peak_epoch.load(std::memory_order_relaxed) != epoch_.load(std::memory_order_relaxed)) {
      MarkDirtySlow(site, site_id);
    }
  }
  // Hot path: live bytes reached a new maximum of `live` at `time_ns`.
  void NoteMaximum(uint64_t live, uint64_t time_ns) {
    peak_live_.store(live, std::memory_order_relaxed);
    peak_time_ns_.store(time_ns, std::memory_order_relaxed);
    if (!pending_.load(std::memory_order_relaxed)) pending_.store(true, std::memory_order_release);
  }
  // Hot path, before a free changes any counter: copies the state of the maximum if
  // no free has come since it.
  void CaptureIfPending() {
    if (__builtin_expect(pending_.load(std::memory_order_relaxed), 0)) CaptureNow(/*wait=*/true);
  }

  // Copies the peak's entries for sites [0, min(site_count, max_sites)) into `out`,
  // and its header into *capture. False when no peak was captured. Never waits for a
  // capture in progress (it may belong to a thread the leak scan stopped).
  bool Read(Entry* out, uint32_t max_sites, Capture* capture);

  uint64_t captures() const { return captures_.load(std::memory_order_relaxed); }
  // Bytes of heapwarden's own memory the buffers use (touched pages only).
  uint64_t mapped_bytes() const;

  // In a fork child: the locks are free again and a half-written buffer is marked
  // stable (the next capture rewrites the sites it left dirty).
  void ResetAfterFork();

 private:
  void MarkDirtySlow(Site& site, uint32_t site_id);
  void CaptureNow(bool wait);
  bool CopyOut(Entry* out, uint32_t max_sites, Capture* capture);

  SiteTable* sites_ = nullptr;
  std::atomic<bool> pending_{false};
  std::atomic<uint32_t> epoch_{1};  // sites start at epoch 0: their first change lists them
  std::atomic<uint64_t> peak_live_{0};
  std::atomic<uint64_t> peak_time_ns_{0};
  SpinLock lock_;        // one capture at a time
  SpinLock dirty_lock_;  // the dirty lists and the epoch
  // Two lists: the one filling (sites changed in this epoch) and the one a capture
  // copies. Each site is listed at most once per epoch, so neither overflows.
  uint32_t* dirty_[2] = {nullptr, nullptr};
  uint32_t dirty_count_[2] ABSL_GUARDED_BY(dirty_lock_) = {0, 0};
  int filling_ ABSL_GUARDED_BY(dirty_lock_) = 0;
  std::atomic<uint64_t> sequence_{0};  // odd while the buffer is being written
  Capture header_ = {};
  Entry* entries_ = nullptr;
  std::atomic<uint32_t> high_water_sites_{0};  // most entries ever written
  std::atomic<uint64_t> captures_{0};
};

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_TRACK_PEAK_TRACKER_H_
