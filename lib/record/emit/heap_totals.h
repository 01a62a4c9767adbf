// heap_totals.h: the process's heap figures -- allocations, bytes, live blocks and
// bytes -- as the report's "totals" and heapwarden_stats() both give them: one
// computation, so the two never disagree (in sampled mode too).
// Calling context: report time (the report writer, the API, the control socket); never
// inside malloc. Reads the site table without its lock; the per-caller reader maps
// scratch memory, which Load takes and the destructor returns.
#ifndef HEAPWARDEN_LIB_RECORD_EMIT_HEAP_TOTALS_H_
#define HEAPWARDEN_LIB_RECORD_EMIT_HEAP_TOTALS_H_

#include <cstdint>

#include "record/track/caller_totals.h"
#include "record/track/site_table.h"

namespace heapwarden::internal {

class Recorder;

// One reading of a heap site's counters.
struct SiteFigures {
  uint64_t allocations;
  uint64_t bytes_allocated;
  uint64_t live_blocks;
  uint64_t live_bytes;
};

class HeapTotals {
 public:
  // Sums the heap sites' counters (the source of truth). In sampled mode the exact
  // per-caller totals (caller_totals.h) sharpen each site's estimate of what it
  // allocated, and give the process's allocation totals exactly.
  // It reads every site's counters once and keeps what it read: in a running process
  // the counters move between two reads, and a report's totals must be the sum of the
  // sites it lists (tests/stress/snapshot_exactness_test.cc).
  explicit HeapTotals(Recorder& recorder);
  ~HeapTotals();
  HeapTotals(const HeapTotals&) = delete;
  HeapTotals& operator=(const HeapTotals&) = delete;

  // The sites read (a site made since is in none of these figures).
  uint32_t site_count() const { return site_count_; }
  // Site `id` as read: what it allocated in all (in sampled mode the sharpened
  // estimate) and what was live.
  SiteFigures Figures(uint32_t id) const;

  uint64_t allocations() const { return allocations_; }
  uint64_t frees() const { return allocations_ - live_blocks_; }
  uint64_t bytes_allocated() const { return bytes_allocated_; }
  uint64_t live_blocks() const { return live_blocks_; }
  uint64_t live_bytes() const { return live_bytes_; }
  // Bytes live in regions the program mapped itself ("source": "mapped" sites).
  uint64_t mapped_live_bytes() const { return mapped_live_bytes_; }

 private:
  SiteFigures Read(uint32_t id) const;

  SiteTable& sites_;
  uint32_t site_count_ = 0;
  SiteFigures* read_ = nullptr;  // mmap'd; nullptr when out of memory (sites read live)
  CallerTotalsReader callers_;
  bool stratified_ = false;
  uint64_t allocations_ = 0;
  uint64_t bytes_allocated_ = 0;
  uint64_t live_blocks_ = 0;
  uint64_t live_bytes_ = 0;
  uint64_t mapped_live_bytes_ = 0;
};

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_EMIT_HEAP_TOTALS_H_
