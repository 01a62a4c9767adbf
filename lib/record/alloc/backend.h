// backend.h: which allocator serves the program's memory (option backend=system|
// mimalloc), and the routing that sends every pointer back to the allocator that made
// it.
// Hot path (inside malloc and free): no stdio; the routing functions run inside free/realloc and take no lock
// on their common path.
//
// How it works. The preload resolves glibc's functions at the process's first
// allocation (real_functions.h; "glibc" below means the program's own allocator, which
// is another one when the program is linked against one: real_allocator.h). From then until the preload's constructor calls
// SelectBackend(), the allocating functions in RealAllocator are glibc's wrapped so
// that every glibc block outside the brk heap is noted in a small table ("outliers":
// mmap'd chunks, blocks of non-main arenas). SelectBackend() then either puts glibc's
// own functions back (system: the hot path is exactly glibc's again) or loads
// libmimalloc.so.2 with RTLD_LOCAL (its malloc/free exports never enter the global
// scope) and rewires RealAllocator to mimalloc, with free/realloc/malloc_usable_size
// routed: a pointer is glibc's when it lies in the brk heap [start_brk, sbrk(0)) or is
// a noted outlier, mimalloc's otherwise. After the switch glibc allocates nothing
// more (every allocation path leads to mimalloc), so that set only shrinks.
// mi_is_in_heap_region() is NOT used as the primary test: mimalloc 2.0.9 places
// allocations over 1 GiB outside its segment map, where it answers false (verified).
#ifndef HEAPWARDEN_LIB_RECORD_ALLOC_BACKEND_H_
#define HEAPWARDEN_LIB_RECORD_ALLOC_BACKEND_H_

#include <cstddef>
#include <cstdint>

#include "record/base/options.h"
#include "record/alloc/real_allocator.h"

namespace heapwarden::internal {

// BeginGlibcPhase()
//
// Called once, right after glibc's functions were resolved into *real and before
// *real is published: wraps its allocating functions so that glibc blocks outside the
// brk heap are noted until SelectBackend() runs.
void BeginGlibcPhase(RealAllocator* real);

// SelectBackend()
//
// Reads the backend= key of HEAPWARDEN_OPTIONS (`options_text`, may be null; other
// keys are the recorder's business) and rewires *real for it. Call once, from the
// preload's constructor, with the recursion guard held, before the recorder's Init
// (whose service thread allocates). Returns the backend now serving allocations:
// system when mimalloc was asked for but cannot be loaded (with one warning).
Backend SelectBackend(const char* options_text, RealAllocator* real);

// The backend serving allocations now, and its name for the report.
Backend ActiveBackend();
const char* ActiveBackendName();

// IsAllocatorCode()
//
// True when `address` (a return address) lies in the serving allocator's own code
// when that allocator is a separately loaded library (libmimalloc): its mmap calls
// are the allocator's, not the program's. Cheap; false for the system backend.
bool IsAllocatorCode(uintptr_t address);

// Frees the mimalloc backend handed to the program's own allocator (one it is linked
// against that replaces malloc, not glibc nor mimalloc) because the block was not
// mimalloc's nor glibc's: that allocator's blocks made by its own internal calls.
uint64_t ForeignFrees();

// In a fork child: the outlier table's lock may have been held by another thread.
void ResetBackendAfterFork();

// What the serving allocator says about its own memory. Every figure is virtual
// (address space it holds), not resident: pages it has already returned with
// madvise may still count as free.
struct AllocatorStats {
  bool valid;             // false: no figures (allocator gives none)
  uint64_t held_bytes;    // obtained from the OS (glibc: arena + hblkhd; mimalloc: committed)
  uint64_t in_use_bytes;  // in blocks handed out, as the allocator counts them (0: unknown)
  uint64_t free_bytes;    // free inside the allocator (glibc: fordblks; mimalloc:
                          // committed - live heap bytes, filled by the caller)
};

// ReadAllocatorStats()
//
// Asks the allocator (mallinfo2 for glibc, mi_process_info for mimalloc). glibc's
// mallinfo2 locks each arena and walks its free lists: milliseconds on a heap with
// very many free chunks, during which that arena's allocations wait. Callers on a
// timer should throttle (memory_view.h does). Thread-safe; allocates nothing.
void ReadAllocatorStats(AllocatorStats* out);

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_ALLOC_BACKEND_H_
