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

class HeapTotals {
 public:
  // Sums the heap sites' counters (the source of truth). In sampled mode the exact
  // per-caller totals (caller_totals.h) sharpen each site's estimate of what it
  // allocated, and give the process's allocation totals exactly.
  explicit HeapTotals(Recorder& recorder);

  // What `site` allocated in all: its counters, or in sampled mode the sharpened estimate.
  void Allocated(const Site& site, uint64_t* blocks, uint64_t* bytes) const;

  uint64_t allocations() const { return allocations_; }
  uint64_t frees() const { return allocations_ - live_blocks_; }
  uint64_t bytes_allocated() const { return bytes_allocated_; }
  uint64_t live_blocks() const { return live_blocks_; }
  uint64_t live_bytes() const { return live_bytes_; }
  // Bytes live in regions the program mapped itself ("source": "mapped" sites).
  uint64_t mapped_live_bytes() const { return mapped_live_bytes_; }

 private:
  SiteTable& sites_;
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
