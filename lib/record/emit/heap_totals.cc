// heap_totals.cc: see heap_totals.h.
#include "record/emit/heap_totals.h"

#include "record/track/recorder.h"

namespace heapwarden::internal {

HeapTotals::HeapTotals(Recorder& recorder) : sites_(recorder.sites()) {
  const uint32_t site_count = sites_.site_count();
  stratified_ = recorder.sampled() && callers_.Load();
  if (stratified_) {
    for (uint32_t id = 1; id < site_count; ++id) {
      const Site& s = sites_.site(id);
      const Stack& st = sites_.stack(s.stack_id);
      if (s.source != kSourceHeap || st.depth == 0) continue;
      callers_.NoteSampled(st.frames[0], s.bytes_allocated(), s.allocations());
    }
  }
  for (uint32_t id = 0; id < site_count; ++id) {
    const Site& s = sites_.site(id);
    if (s.source != kSourceHeap) {
      mapped_live_bytes_ += s.live_bytes();
      continue;
    }
    uint64_t blocks, bytes;
    Allocated(s, &blocks, &bytes);
    allocations_ += blocks;
    bytes_allocated_ += bytes;
    live_blocks_ += s.live_blocks();
    live_bytes_ += s.live_bytes();
  }
  if (stratified_) {
    // Callers never sampled are in no site, but they are in the exact totals.
    allocations_ = callers_.total_blocks();
    bytes_allocated_ = callers_.total_bytes();
  }
}

void HeapTotals::Allocated(const Site& site, uint64_t* blocks, uint64_t* bytes) const {
  *blocks = site.allocations();
  *bytes = site.bytes_allocated();
  if (!stratified_ || site.source != kSourceHeap) return;
  const Stack& st = sites_.stack(site.stack_id);
  if (st.depth > 0) callers_.Scale(st.frames[0], bytes, blocks);
}

}  // namespace heapwarden::internal
