// mmap_arena.h: memory for the record side that never comes from malloc.
// Any context: every byte here comes straight from mmap(2).
#ifndef HEAPWARDEN_LIB_RECORD_BASE_MMAP_ARENA_H_
#define HEAPWARDEN_LIB_RECORD_BASE_MMAP_ARENA_H_

#include <cstddef>

#include "record/base/spin_lock.h"

namespace heapwarden::internal {

// Anonymous, private, zero-filled pages; nullptr on failure. With `reserve_only` the
// range is mapped MAP_NORESERVE: it costs address space, and RSS only where touched.
void* MapPages(size_t bytes, bool reserve_only = false);
void UnmapPages(void* p, size_t bytes);

// ScaledCapacity()
//
// How many entries of `entry_bytes` a table that holds at most `max_entries` reserves.
// Without a limit on address space, `max_entries`. Under RLIMIT_AS (ulimit -v), every
// byte heapwarden reserves is a byte the program cannot have, so the big tables take
// `per_mille` thousandths of the limit between them, and a full table degrades
// (counted) instead: at least `min_entries`. Reads the
// limit once per call (getrlimit); for Init only.
uint32_t ScaledCapacity(uint32_t max_entries, size_t entry_bytes, uint32_t per_mille,
                        uint32_t min_entries);

// HoldReportReserve() / ReleaseReportReserve()
//
// Under RLIMIT_AS, a program that allocates until malloc fails leaves no address space
// for the report written at its exit. Hold keeps some back (about 1.5% of the limit,
// 4..32 MiB; nothing without a limit); Release hands it back just before the final
// report. Both idempotent; Release is async-signal-safe (munmap).
void HoldReportReserve();
void ReleaseReportReserve();

// A bump allocator over mmap'd chunks, for data that lives as long as the process
// (stack frames, module names, tag paths). Thread-safe; never frees.
class MmapArena {
 public:
  constexpr MmapArena() = default;
  // Returns `bytes` zeroed bytes aligned to 16, or nullptr when mmap fails.
  void* Allocate(size_t bytes);
  // Bytes obtained from the OS so far (heapwarden's own memory, for the report).
  size_t mapped_bytes() const { return mapped_bytes_; }
  void ResetAfterFork() { lock_.ResetAfterFork(); }
  SpinLock& lock() { return lock_; }

 private:
  static constexpr size_t kChunkBytes = 1 << 20;
  SpinLock lock_;
  char* cursor_ ABSL_GUARDED_BY(lock_) = nullptr;
  char* end_ ABSL_GUARDED_BY(lock_) = nullptr;
  size_t mapped_bytes_ = 0;
};

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_BASE_MMAP_ARENA_H_
