// site_table.h: interns (stack, tag, source) into 32-bit site ids and keeps each
// site's counters as allocations happen.
// Hot path: lookups are lock-free (an open-addressing index of atomics over
// append-only arrays); one spin lock serialises only the creation of a new site, which
// happens once per distinct call site. Memory is reserved up front with MAP_NORESERVE
// and costs RSS only as sites appear.
#ifndef HEAPWARDEN_LIB_RECORD_TRACK_SITE_TABLE_H_
#define HEAPWARDEN_LIB_RECORD_TRACK_SITE_TABLE_H_

#include <atomic>
#include <cstdint>

#include "record/track/module_table.h"
#include "record/base/spin_lock.h"

namespace heapwarden::internal {

enum Source : uint8_t { kSourceHeap = 0, kSourceMapped = 1 };

struct Stack {
  uint64_t hash;
  uint32_t depth;
  const uintptr_t* frames;   // return addresses, innermost first
  const uint32_t* modules;   // index into the ModuleTable, per frame
};

inline constexpr int kLifetimeBuckets = 32;

// A site's counters. Kept twice per site (see Site): plain atomics, so that a reader
// on another thread always sees whole values.
struct SiteCounters {
  std::atomic<uint64_t> allocations;
  std::atomic<uint64_t> bytes_allocated;
  std::atomic<uint64_t> live_blocks;
  std::atomic<uint64_t> live_bytes;  // may wrap below zero in one set; the sum is right
  // Lifetimes of freed blocks: bucket b counts lifetimes in [2^(b-1), 2^b) ms.
  std::atomic<uint32_t> lifetime_ms_log2[kLifetimeBuckets];
};

// Adds to a counter that only the calling thread writes: a load and a store, no
// locked read-modify-write (what makes the owner's path several times cheaper).
template <typename T>
inline void OwnerAdd(std::atomic<T>& counter, T value) {
  counter.store(counter.load(std::memory_order_relaxed) + value, std::memory_order_relaxed);
}

// Adds to a counter of a site's `owned` set (owner: true, see Site) or `shared` set.
// Subtracting is adding the two's complement: the sum of the sets stays right.
template <typename T>
inline void CounterAdd(std::atomic<T>& counter, T value, bool owner) {
  if (owner) {
    OwnerAdd(counter, value);
  } else {
    counter.fetch_add(value, std::memory_order_relaxed);
  }
}

// One call site. Its counters come in two sets: `owned`, written only by the thread
// that created the site (with OwnerAdd), and `shared`, written by every other thread
// with atomic adds. Most sites allocate and free on one thread, so most updates take
// the cheap path; a reader adds the two sets.
struct alignas(64) Site {
  uint64_t hash;
  uint32_t stack_id;
  uint32_t tag_id;
  Source source;
  // The peak tracker's capture epoch this site was last listed in (peak_tracker.h).
  std::atomic<uint32_t> peak_epoch;
  uintptr_t owner;  // thread pointer of the creating thread (thread_state.h)
  std::atomic<uint64_t> peak_live_bytes;
  alignas(64) SiteCounters owned;
  alignas(64) SiteCounters shared;

  uint64_t allocations() const { return Sum(&SiteCounters::allocations); }
  uint64_t bytes_allocated() const { return Sum(&SiteCounters::bytes_allocated); }
  uint64_t live_blocks() const { return Sum(&SiteCounters::live_blocks); }
  uint64_t live_bytes() const { return Sum(&SiteCounters::live_bytes); }
  uint64_t lifetime_bucket(int b) const {
    return uint64_t{owned.lifetime_ms_log2[b].load(std::memory_order_relaxed)} +
           shared.lifetime_ms_log2[b].load(std::memory_order_relaxed);
  }

 private:
  uint64_t Sum(std::atomic<uint64_t> SiteCounters::*field) const {
    return (owned.*field).load(std::memory_order_relaxed) + (shared.*field).load(std::memory_order_relaxed);
  }
};

class SiteTable {
 public:
  // Site 0 stands for "no stack": what is counted when the tables are full.
  static constexpr uint32_t kOverflowSite = 0;
  static constexpr uint32_t kMaxSites = 1u << 20;
  static constexpr uint32_t kMaxStacks = 1u << 20;

  // Reserves the tables. Returns false when mmap fails.
  bool Init(ModuleTable* modules);

  // The site for this stack, tag and source, creating it if new. Never fails: returns
  // kOverflowSite (and counts a drop) when full.
  uint32_t Intern(const uintptr_t* frames, int depth, uint32_t tag_id, Source source);

  // Sites (and stacks) this table can hold: kMaxSites, or fewer under a limit on
  // address space (ScaledCapacity).
  uint32_t capacity() const { return capacity_; }

  Site& site(uint32_t id) { return sites_[id]; }
  const Stack& stack(uint32_t id) const { return stacks_[id]; }
  uint32_t site_count() const { return site_count_.load(std::memory_order_acquire); }
  uint32_t stack_count() const { return stack_count_.load(std::memory_order_acquire); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // Bytes mapped for the copies of stack frames (heapwarden's own memory).
  uint64_t frames_mapped_bytes() const;

  void ResetAfterFork() { insert_lock_.ResetAfterFork(); }
  SpinLock& lock() { return insert_lock_; }

 private:
  static constexpr uint32_t kIndexSize = 1u << 21;  // load factor <= 0.5
  uint32_t InternStackLocked(const uintptr_t* frames, int depth, uint64_t hash)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(insert_lock_);
  uint32_t CreateSiteLocked(const uintptr_t* frames, int depth, uint32_t tag_id, Source source,
                            uint64_t hash) ABSL_EXCLUSIVE_LOCKS_REQUIRED(insert_lock_);

  ModuleTable* modules_ = nullptr;
  uint32_t capacity_ = kMaxSites;
  uint32_t index_mask_ = kIndexSize - 1;  // a power of two >= twice the capacity, minus one
  Site* sites_ = nullptr;
  Stack* stacks_ = nullptr;
  std::atomic<uint32_t>* site_index_ = nullptr;  // 0 = empty, else site id
  uint32_t* stack_index_ ABSL_PT_GUARDED_BY(insert_lock_) = nullptr;  // 0 = empty
  std::atomic<uint32_t> site_count_{0};
  std::atomic<uint32_t> stack_count_{0};
  std::atomic<uint64_t> dropped_{0};
  SpinLock insert_lock_;
};

// Hash of a stack: cheap, and good enough for an index whose every hit is confirmed.
// Four independent lanes (frame i feeds lane i % 4), so the multiplications of a deep
// stack overlap instead of forming one chain of 32 dependent steps.
inline uint64_t HashFrames(const uintptr_t* frames, int depth) {
  constexpr uint64_t kMul = 0xbf58476d1ce4e5b9ull;
  uint64_t lane[4] = {0x9e3779b97f4a7c15ull ^ static_cast<uint64_t>(depth), 0xc2b2ae3d27d4eb4full,
                      0x165667b19e3779f9ull, 0x27d4eb2f165667c5ull};
  int i = 0;
  for (; i + 4 <= depth; i += 4) {
    for (int k = 0; k < 4; ++k) {
      lane[k] = (lane[k] ^ frames[i + k]) * kMul;
      lane[k] ^= lane[k] >> 31;
    }
  }
  for (int k = 0; i < depth; ++i, ++k) {
    lane[k] = (lane[k] ^ frames[i]) * kMul;
    lane[k] ^= lane[k] >> 31;
  }
  uint64_t h = lane[0] ^ ((lane[1] << 17) | (lane[1] >> 47)) ^ ((lane[2] << 31) | (lane[2] >> 33)) ^
               ((lane[3] << 47) | (lane[3] >> 17));
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 29);
}

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_TRACK_SITE_TABLE_H_
