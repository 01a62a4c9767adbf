// caller_totals.h: exact bytes and blocks allocated per immediate caller (the return
// address of malloc or operator new), kept in sampled mode without walking a stack.
//
// Why: Poisson sampling's estimate for a site of B bytes has a spread of about
// sqrt(R/B) for small blocks (10% at B = 100 R). The caller's return address is free to
// know, so counting it exactly costs a few nanoseconds per allocation; the report then
// scales the sampled sites that share a caller so that they add up to its exact total
// (post-stratification). A caller reached by one stack gets an exact figure; sites
// that share a caller still split its exact total by their sampled shares.
//
// Hot path. Each thread counts into its own small direct-mapped table (plain loads
// and stores of relaxed atomics: no locked instruction, no lock); an entry evicted by
// a colliding caller, and a whole table at thread exit, is added into one shared table
// with atomic adds. Readers (the report writer) sum the shared table and every
// registered thread table; a thread's counters are plain 64-bit stores, so a reader
// sees each one whole, if a moment old.
#ifndef HEAPWARDEN_LIB_RECORD_TRACK_CALLER_TOTALS_H_
#define HEAPWARDEN_LIB_RECORD_TRACK_CALLER_TOTALS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include "record/base/thread_state.h"

namespace heapwarden::internal {

struct CallerCount {
  std::atomic<uint64_t> caller;  // 0 = empty
  std::atomic<uint64_t> bytes;
  std::atomic<uint64_t> blocks;
};

struct ThreadCallerTable {
  static constexpr int kBits = 10;
  static constexpr size_t kEntries = size_t{1} << kBits;
  CallerCount entries[kEntries];
};

// Reserves the shared table and the thread-exit hook. Call once, from Init.
bool InitCallerTotals();
// fork(): the child may have inherited the free list's lock held.
void ResetCallerTotalsAfterFork();

void CountCallerSlow(uintptr_t caller, uint64_t size);

// The slot of `caller` in a thread's table (direct-mapped).
inline CallerCount& ThreadSlot(ThreadCallerTable* table, uintptr_t caller) {
  return table->entries[(caller * 0x9e3779b97f4a7c15ull) >> (64 - ThreadCallerTable::kBits)];
}

// Only the owning thread writes its table: a load and a store, no read-modify-write.
inline void AddToThreadSlot(CallerCount& e, uint64_t size) {
  e.bytes.store(e.bytes.load(std::memory_order_relaxed) + size, std::memory_order_relaxed);
  e.blocks.store(e.blocks.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

// Hot path, sampled mode only: counts one allocation of `size` bytes by `caller`.
inline void CountCaller(uintptr_t caller, uint64_t size) {
  ThreadCallerTable* table = t_state.caller_table;
  if (__builtin_expect(table != nullptr, 1)) {
    CallerCount& e = ThreadSlot(table, caller);
    if (__builtin_expect(e.caller.load(std::memory_order_relaxed) == caller, 1)) {
      AddToThreadSlot(e, size);
      return;
    }
  }
  CountCallerSlow(caller, size);
}

// The exact totals of `caller` so far (bytes, blocks); false if it never allocated.
// Costs a pass over every thread table: for the report writer, not the hot path.
class CallerTotalsReader {
 public:
  // Sums everything once into a private table (mmap'd); false when out of memory.
  bool Load();
  ~CallerTotalsReader();
  bool Find(uintptr_t caller, uint64_t* bytes, uint64_t* blocks) const;
  // Post-stratification: note every sampled site's estimates under its caller, then
  // Scale each one so that the sites of a caller add up to the caller's exact totals.
  // A caller with no exact count (the table overflowed) keeps its estimates.
  void NoteSampled(uintptr_t caller, uint64_t bytes, uint64_t blocks);
  void Scale(uintptr_t caller, uint64_t* bytes, uint64_t* blocks) const;
  uint64_t total_bytes() const { return total_bytes_; }
  uint64_t total_blocks() const { return total_blocks_; }

 private:
  void Add(uintptr_t caller, uint64_t bytes, uint64_t blocks);
  struct Entry {
    uint64_t caller, bytes, blocks;
    double sampled_bytes, sampled_blocks;
  };
  Entry* FindEntry(uintptr_t caller) const;
  Entry* entries_ = nullptr;
  size_t capacity_ = 0;
  uint64_t total_bytes_ = 0;
  uint64_t total_blocks_ = 0;
};

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_TRACK_CALLER_TOTALS_H_
