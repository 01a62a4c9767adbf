// mapped_regions.h: anonymous memory the program maps itself with mmap/mremap (not
// through malloc): CPython's pymalloc arenas, allocators compiled into libraries.
// Each region is charged to the call site of its mmap, as a site with source
// "mapped" (SiteTable, kSourceMapped), and kept apart from the heap: mapped bytes are
// not in the recorder's live_bytes or peak, and never leaks.
// Hot path (inside mmap, munmap and mremap): a sorted array of regions in mmap'd memory behind one spin lock, taken
// only by mmap/munmap/mremap calls and by readers here, never by malloc/free. The
// lock is a leaf (site interning happens before it is taken), and is held across fork.
//
// Accounting of partial unmaps: unmapping the head or tail of a region shrinks it;
// unmapping its middle splits it in two (one more live block for the site); a region
// whose last byte goes is freed (one fewer live block, its lifetime recorded). A
// region mapped over (MAP_FIXED) or found overlapping a fresh mapping (its unmap was
// not seen, e.g. a raw syscall) is unmapped first. mremap keeps the region's site and
// birth: growth is counted in the site's bytes_allocated, not as an allocation.
// Not seen: mappings made PROT_NONE and later opened with mprotect, and madvise: the
// region's size is its virtual size; MappedResidentBytes() asks the kernel (mincore)
// how much of it is resident.
#ifndef HEAPWARDEN_LIB_RECORD_TRACK_MAPPED_REGIONS_H_
#define HEAPWARDEN_LIB_RECORD_TRACK_MAPPED_REGIONS_H_

#include <cstddef>
#include <cstdint>

namespace heapwarden::internal {

struct MappedRegion {
  uintptr_t start;
  uintptr_t end;  // exclusive, page aligned
  uint32_t site;
  uint32_t birth_ms;
};

// InitMappedRegions()
//
// Registers the fork handlers. Call once, with the recursion guard held, after the
// recorder's Init. Regions are recorded only once the recorder is active.
void InitMappedRegions();

// OnMapped()
//
// Records [start, start + length) that mmap just returned to the program. `caller` is
// the return address of the interposed mmap. Captures the stack and interns the site
// first, then takes the table's lock. Call with the recursion guard held.
void OnMapped(uintptr_t start, size_t length, uintptr_t caller);

// OnUnmapped()
//
// Forgets whatever tracked memory lies in [start, start + length), before the real
// munmap (so another thread cannot map the range and record it first).
void OnUnmapped(uintptr_t start, size_t length);

// mremap, in two steps around the real call: TakeForRemap removes the tracked part of
// [old_start, old_start + old_length) of the region containing old_start and says
// which region it came from (false: untracked, do nothing after); after the call,
// FinishRemap records the result (new_start == 0: the call failed, put it back).
struct RemapTicket {
  uintptr_t old_start;
  size_t old_length;
  uint32_t site;
  uint32_t birth_ms;
};
bool TakeForRemap(uintptr_t old_start, size_t old_length, RemapTicket* ticket);
void FinishRemap(const RemapTicket& ticket, uintptr_t new_start, size_t new_length);

// True when any region is tracked: lets munmap skip the lock in programs that map
// nothing themselves.
bool AnyMappedRegions();

// Bytes of the tracked regions (virtual), now and at their highest.
uint64_t MappedLiveBytes();
uint64_t MappedPeakBytes();

// MappedResidentBytes()
//
// How much of the tracked regions is resident, by mincore(2): one system call per
// 16 MiB of regions, the lock held only while copying a batch of regions. Milliseconds
// for gigabytes; do not call on a hot path. Thread-safe.
uint64_t MappedResidentBytes();

// CopyMappedRegions()
//
// Copies up to `max` regions, in address order, starting at the first region whose
// end is above `from`; returns how many. For reports and leak scans (a mapped region
// may hold pointers to heap blocks: treat it as a root, never as a leak).
int CopyMappedRegions(uintptr_t from, MappedRegion* out, int max);

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_TRACK_MAPPED_REGIONS_H_
