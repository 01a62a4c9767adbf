// peak_tracker.h: what was live, per site, when live heap bytes were highest, kept to
// within 1% of the true peak without ever copying the live table.
// Hot path. The allocation path pays one relaxed load and a compare. Only when live
// bytes pass the last capture by more than 1/128 (the hysteresis) does a thread try --
// never wait -- to take the capture lock and copy every site's live counters,
// O(sites), into the back half of an mmap'd double buffer, then publish it. Readers
// (the report writer) copy the front half under a per-half sequence number and never
// block a capture. Growing from 1 KiB to 1 TiB costs about 2,700 captures.
//
// Why it is within 1%: after the last capture at C, live bytes never exceeded
// C + C/128 + 64 (or another capture would have happened), so the true peak P
// satisfies C >= (P - 64) / (1 + 1/128).
#ifndef HEAPWARDEN_LIB_RECORD_TRACK_PEAK_TRACKER_H_
#define HEAPWARDEN_LIB_RECORD_TRACK_PEAK_TRACKER_H_

#include <atomic>
#include <cstdint>

#include "record/track/site_table.h"
#include "record/base/spin_lock.h"

namespace heapwarden::internal {

class PeakTracker {
 public:
  // Per site, at the capture.
  struct Entry {
    uint64_t live_blocks;
    uint64_t live_bytes;
  };
  struct Capture {
    uint64_t time_ns = 0;     // when it was taken (clock.h)
    uint64_t live_bytes = 0;  // global live heap bytes that triggered it
    uint32_t site_count = 0;  // entries [0, site_count) are valid
  };

  // Reserves the two halves (address space only). False when mmap fails; captures
  // are then skipped and the report's peak has no sites.
  bool Init(uint32_t max_sites = SiteTable::kMaxSites);

  // On the allocation path, once global live bytes have become `live`.
  bool ShouldCapture(uint64_t live) const {
    return live > next_capture_.load(std::memory_order_relaxed);
  }
  // Copies the site counters if no other thread is doing so. Never blocks.
  void TryCapture(uint64_t live, SiteTable& sites);

  // Copies the latest capture: its entries for sites [0, min(site_count, max_sites))
  // into `out`, and its header into *capture. False when nothing was captured yet.
  // Lock-free; retries while a capture rewrites the half it reads.
  bool Read(Entry* out, uint32_t max_sites, Capture* capture);

  uint64_t captures() const { return captures_.load(std::memory_order_relaxed); }
  // Bytes of heapwarden's own memory the buffers use (touched pages only).
  uint64_t mapped_bytes() const;

  // Makes the next allocation take the capture path (used after fork, whose child
  // also restarts the service thread from there).
  void ForceNextCapture() { next_capture_.store(0, std::memory_order_relaxed); }
  // In a fork child: the capture lock is free again and a half-written half is
  // marked stable (it is not the published one, and will be rewritten before use).
  void ResetAfterFork();

 private:
  static uint64_t NextThreshold(uint64_t live) { return live + live / 128 + 64; }
  bool CopyHalf(int half, Entry* out, uint32_t max_sites, Capture* capture);

  SpinLock lock_;
  std::atomic<uint64_t> next_capture_{0};
  std::atomic<int> front_{0};
  std::atomic<uint64_t> sequence_[2] = {};  // odd while that half is being written
  Capture header_[2] = {};
  Entry* half_[2] = {nullptr, nullptr};
  std::atomic<uint32_t> high_water_sites_{0};  // most entries ever written
  std::atomic<uint64_t> captures_{0};
};

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_TRACK_PEAK_TRACKER_H_
