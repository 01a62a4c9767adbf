// stats.cc: heapwarden_stats() for the API and the control socket's "stats" request,
// from the same figures as the report's totals (heap_totals.h, memory_view.h).
// Calling context: any thread, outside malloc (the API, the service thread).
#include "heapwarden/heapwarden.h"
#include "record/base/proc_stats.h"
#include "record/emit/heap_totals.h"
#include "record/emit/memory_view.h"
#include "record/track/recorder.h"

namespace heapwarden::internal {

void Recorder::FillStats(struct heapwarden_stats* out) {
  const HeapTotals totals(*this);
  out->live_bytes = totals.live_bytes();
  out->live_blocks = totals.live_blocks();
  out->peak_live_bytes = peak_live_bytes();
  out->allocations = totals.allocations();
  out->frees = totals.frees();
  out->bytes_allocated = totals.bytes_allocated();
  out->peak_rss_bytes = ReadPeakRssBytes();
  MemoryView view;
  ReadMemoryView(*this, ViewDetail::kFull, /*rss_bytes=*/0, &view);
  out->rss_bytes = view.rss_bytes;
  out->mapped_bytes = totals.mapped_live_bytes();
  out->retained_bytes = view.retained_bytes;
}

}  // namespace heapwarden::internal
