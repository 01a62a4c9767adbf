// memory_view.h: where the resident memory of the process is, as heapwarden and the
// allocator see it: live heap blocks, memory the program mapped itself, what the
// allocator holds free, and what is left ("retained"). The one place that defines
// `retained`, for the report's totals, heapwarden_stats(), the timeline and auto-trim.
// Service thread and report time; never inside malloc: no allocation, no stdio.
//
//   rss_bytes       resident set (/proc/self/statm)
//   live_bytes      heap blocks allocated and not freed (tracked)
//   mapped_bytes    anonymous regions the program mmap'd itself (mapped_regions.h), virtual
//   mapped_resident_bytes   of those, resident (mincore; equal to mapped_bytes in a
//                   cheap view, which does not ask the kernel)
//   retained_bytes  rss - live - mapped_resident: resident, yet neither a live block
//                   nor the program's own mapping. Mostly memory the allocator keeps
//                   free; also code, stacks and heapwarden's own tables.
//   allocator_*     the allocator's own accounting (backend.h): held from the OS and
//                   free inside it. Virtual: glibc still counts a free chunk whose
//                   pages a trim has already returned.
//   trimmable_bytes min(retained, allocator_free): what a trim can hand back at most,
//                   by both views (retained alone when the allocator says nothing).
#ifndef HEAPWARDEN_LIB_RECORD_EMIT_MEMORY_VIEW_H_
#define HEAPWARDEN_LIB_RECORD_EMIT_MEMORY_VIEW_H_

#include <cstdint>

namespace heapwarden::internal {

class Recorder;

struct MemoryView {
  uint64_t rss_bytes;
  uint64_t live_bytes;
  uint64_t mapped_bytes;
  uint64_t mapped_resident_bytes;
  uint64_t retained_bytes;
  bool allocator_valid;
  uint64_t allocator_held_bytes;
  uint64_t allocator_free_bytes;
  uint64_t trimmable_bytes;
};

enum class ViewDetail {
  // For timers (timeline, auto-trim): no mincore, and the allocator's figures may be
  // up to a second old (glibc's mallinfo2 locks each arena while it counts, so it is
  // asked at most every max(1 s, 50 x its last cost)). Microseconds.
  kCheap,
  // For reports and heapwarden_stats(): fresh allocator figures, resident mapped
  // bytes by mincore. Milliseconds for gigabytes of mapped regions.
  kFull,
  // For a crash report (crash_report.h): the cached allocator figures if they can be
  // had without waiting, else none (mallinfo2 would wait for an arena lock the
  // crashed code may hold); no mincore walk.
  kNoWait,
};

// ReadMemoryView()
//
// Fills *out. `rss_bytes`: the caller's fresh reading, or 0 to read it here.
// Thread-safe.
void ReadMemoryView(Recorder& recorder, ViewDetail detail, uint64_t rss_bytes, MemoryView* out);

// RetainedBytes()
//
// retained_bytes of a cheap view: for the timeline's points.
uint64_t RetainedBytes(Recorder& recorder, uint64_t rss_bytes = 0);

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_EMIT_MEMORY_VIEW_H_
