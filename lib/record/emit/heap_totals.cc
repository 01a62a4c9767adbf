// heap_totals.cc: see heap_totals.h.
#include "record/emit/heap_totals.h"

#include "record/base/mmap_arena.h"
#include "record/track/recorder.h"

namespace heapwarden::internal {

HeapTotals::HeapTotals(Recorder& recorder) : sites_(recorder.sites()) {
  site_count_ = sites_.site_count();
  read_ = static_cast<SiteFigures*>(MapPages(sizeof(SiteFigures) * site_count_));
  if (read_ != nullptr) {
    for (uint32_t id = 0; id < site_count_; ++id) {
      const Site& s = sites_.site(id);
      read_[id] = SiteFigures{s.allocations(), s.bytes_allocated(), s.live_blocks(), s.live_bytes()};
    }
  }
  stratified_ = recorder.sampled() && callers_.Load();
  if (stratified_) {
    for (uint32_t id = 1; id < site_count_; ++id) {
      const Site& s = sites_.site(id);
      const Stack& st = sites_.stack(s.stack_id);
      if (s.source != kSourceHeap || st.depth == 0) continue;
      const SiteFigures f = Read(id);
      callers_.NoteSampled(st.frames[0], f.bytes_allocated, f.allocations);
    }
  }
  for (uint32_t id = 0; id < site_count_; ++id) {
    const SiteFigures f = Figures(id);
    if (sites_.site(id).source != kSourceHeap) {
      mapped_live_bytes_ += f.live_bytes;
      continue;
    }
    allocations_ += f.allocations;
    bytes_allocated_ += f.bytes_allocated;
    live_blocks_ += f.live_blocks;
    live_bytes_ += f.live_bytes;
  }
  if (stratified_) {
    // Callers never sampled are in no site, but they are in the exact totals.
    allocations_ = callers_.total_blocks();
    bytes_allocated_ = callers_.total_bytes();
  }
}

HeapTotals::~HeapTotals() {
  if (read_ != nullptr) UnmapPages(read_, sizeof(SiteFigures) * site_count_);
}

SiteFigures HeapTotals::Read(uint32_t id) const {
  if (read_ != nullptr) return read_[id];
  const Site& s = sites_.site(id);
  return SiteFigures{s.allocations(), s.bytes_allocated(), s.live_blocks(), s.live_bytes()};
}

SiteFigures HeapTotals::Figures(uint32_t id) const {
  SiteFigures f = Read(id);
  const Site& site = sites_.site(id);
  if (!stratified_ || site.source != kSourceHeap) return f;
  const Stack& st = sites_.stack(site.stack_id);
  if (st.depth > 0) callers_.Scale(st.frames[0], &f.bytes_allocated, &f.allocations);
  return f;
}

}  // namespace heapwarden::internal
