// sampler.h: which allocations mode=sampled records, and how many bytes and blocks
// each recorded one stands for.
//
// Poisson sampling by bytes, as tcmalloc and heapprofd do. Sample points fall on the
// stream of bytes a thread allocates, at a mean distance of R = sample_bytes; an
// allocation is recorded when a point falls inside it, which happens with probability
// p(s) = 1 - exp(-s/R) for a block of s bytes. A recorded block therefore stands for
// 1/p(s) blocks and s/p(s) bytes: the estimates are unbiased whatever the mix of sizes,
// and a block of a few R is almost always seen (p(4R) = 0.98).
//
// Hot path. The decision is a subtraction from a thread-local countdown; only a
// sampled allocation draws a random number or walks the stack. A free asks the
// SampledAddressFilter first, so freeing a block that was never sampled costs one
// load from a table that stays in cache.
#ifndef HEAPWARDEN_LIB_RECORD_TRACK_SAMPLER_H_
#define HEAPWARDEN_LIB_RECORD_TRACK_SAMPLER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "record/base/spin_lock.h"
#include "record/base/thread_state.h"

namespace heapwarden::internal {

// Sets the mean distance between samples, and the seed of every thread's generator
// (0: seeded from the clock and the thread, so runs differ; anything else makes a
// single-threaded run repeatable). Call once, before the first allocation is sampled.
void InitSampler(uint64_t sample_bytes, uint64_t seed);

bool SampleAllocationSlow(size_t size);

// Hot path: true when the allocation of `size` bytes just made on this thread is to
// be recorded.
inline bool SampleAllocation(size_t size) {
  const int64_t left = t_state.sample_countdown - static_cast<int64_t>(size);
  if (__builtin_expect(left > 0, 1)) {
    t_state.sample_countdown = left;
    return false;
  }
  return SampleAllocationSlow(size);
}

// What one recorded block stands for.
struct SampleWeight {
  uint64_t blocks;
  uint64_t bytes;
};

// The weight of a sampled block, the same at its allocation and at its free:
// bytes = s/p(s) rounded; blocks = 1/p(s), rounded up or down at random with the
// fraction as the probability of rounding up (the coin is a hash of the address and
// birth time, so the free subtracts exactly what the allocation added).
SampleWeight WeightOf(uint64_t size, uintptr_t address, uint32_t birth_ms);

// The same weight with an exact 1/p(s) for the block count: what a test of the
// estimator compares against.
double ExpectedBlocksPerSample(uint64_t size);

// A filter over the addresses of sampled blocks that are still live: never says "no"
// for one of them, rarely says "maybe" for another. The free path reads only a 4 KiB
// bitmap, small enough to stay in L1 beside the program's own data. Counters behind
// the bits, touched only when a sampled block comes or goes, say when a bit may be
// cleared; a small lock keeps bit and counter in step.
class SampledAddressFilter {
 public:
  bool Init();
  void Add(uintptr_t address);
  void Remove(uintptr_t address);
  bool MayContain(uintptr_t address) const { return bits_ != nullptr && MayContain(bits_, address); }
  // The same probe on bits() known to be non-null: what the free hook inlines.
  static bool MayContain(const std::atomic<uint64_t>* bits, uintptr_t address) {
    const uint64_t word = bits[(address >> 10) & ((size_t{1} << (kBits - 6)) - 1)].load(std::memory_order_relaxed);
    return (word >> ((address >> 4) & 63)) & 1;
  }
  // The bitmap, or null before Init.
  const std::atomic<uint64_t>* bits() const { return bits_; }
  void ResetAfterFork() { lock_.ResetAfterFork(); }

 private:
  static constexpr int kBits = 15;  // 32768 bits: a few % false "maybe" at 2000 live samples
  // The 16-byte granule's number modulo the table: no multiply on the free path. A
  // heap's blocks are dense in address, so neighbours never share a bit; blocks share
  // one only 512 KiB apart, about as often as a hash would make them.
  static size_t Index(uintptr_t address) {
    return static_cast<size_t>(address >> 4) & ((size_t{1} << kBits) - 1);
  }
  std::atomic<uint64_t>* bits_ = nullptr;
  uint32_t* counts_ ABSL_PT_GUARDED_BY(lock_) = nullptr;  // saturate at UINT32_MAX
  SpinLock lock_;
};

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_TRACK_SAMPLER_H_
