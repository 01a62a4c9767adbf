// sampler.cc: see sampler.h. Record side.
#include "record/track/sampler.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cmath>

#include "record/base/clock.h"
#include "record/base/mmap_arena.h"

namespace heapwarden::internal {
namespace {

constinit double g_mean_bytes = 524288.0;
constinit uint64_t g_seed = 0;
constinit std::atomic<uint64_t> g_threads_seeded{0};

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// xorshift64*: a few cycles, plenty for choosing sample points.
uint64_t NextRandom() {
  uint64_t x = t_state.sample_rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  t_state.sample_rng = x;
  return x * 0x2545f4914f6cdd1dull;
}

// Bytes to the next sample point: exponential with mean R, at least 1.
int64_t NextInterval() {
  // u in (0, 1]: never log(0).
  const double u = static_cast<double>((NextRandom() >> 11) + 1) * 0x1.0p-53;
  const double interval = -std::log(u) * g_mean_bytes;
  if (interval < 1.0) return 1;
  if (interval > 9.0e18) return INT64_MAX;
  return static_cast<int64_t>(interval);
}

void SeedThisThread() {
  const uint64_t n = g_threads_seeded.fetch_add(1, std::memory_order_relaxed);
  // With a fixed seed, the main thread's sequence must not depend on which thread
  // happened to allocate first.
  const bool main_thread = getpid() == static_cast<pid_t>(syscall(SYS_gettid));
  uint64_t seed = g_seed != 0 ? Mix(g_seed + (main_thread ? 0 : n + 1))
                              : Mix(ThreadPointer() ^ NowNs() ^ (n << 40));
  t_state.sample_rng = seed != 0 ? seed : 1;
}

}  // namespace

void InitSampler(uint64_t sample_bytes, uint64_t seed) {
  g_mean_bytes = static_cast<double>(sample_bytes != 0 ? sample_bytes : 524288);
  g_seed = seed;
}

bool SampleAllocationSlow(size_t size) {
  if (t_state.sample_rng == 0) {
    // This thread's first allocation: its countdown has not started yet.
    SeedThisThread();
    const int64_t left = NextInterval() - static_cast<int64_t>(size);
    if (left > 0) {
      t_state.sample_countdown = left;
      return false;
    }
  }
  // A point fell inside this block. Points are memoryless, so the next one is a fresh
  // draw from the end of this block, whatever else fell inside it.
  t_state.sample_countdown = NextInterval();
  return true;
}

double ExpectedBlocksPerSample(uint64_t size) {
  if (size == 0) return 1.0;
  const double p = -std::expm1(-static_cast<double>(size) / g_mean_bytes);
  return p > 0 ? 1.0 / p : 1.0;
}

SampleWeight WeightOf(uint64_t size, uintptr_t address, uint32_t birth_ms) {
  if (size == 0) return SampleWeight{1, 0};
  const double blocks = ExpectedBlocksPerSample(size);
  const double whole = std::floor(blocks);
  const double fraction = blocks - whole;
  const double coin =
      static_cast<double>(Mix(address ^ (uint64_t{birth_ms} << 48)) >> 11) * 0x1.0p-53;
  const uint64_t count = static_cast<uint64_t>(whole) + (coin < fraction ? 1 : 0);
  return SampleWeight{count, static_cast<uint64_t>(std::llround(static_cast<double>(size) * blocks))};
}

bool SampledAddressFilter::Init() {
  constexpr size_t kEntries = size_t{1} << kBits;
  bits_ = static_cast<std::atomic<uint64_t>*>(MapPages(kEntries / 8));
  counts_ = static_cast<uint32_t*>(MapPages(kEntries * sizeof(uint32_t), /*reserve_only=*/true));
  return bits_ != nullptr && counts_ != nullptr;
}

void SampledAddressFilter::Add(uintptr_t address) {
  if (bits_ == nullptr) return;
  const size_t i = Index(address);
  SpinLockHolder hold(lock_);
  if (counts_[i] != UINT32_MAX) ++counts_[i];
  bits_[i >> 6].fetch_or(uint64_t{1} << (i & 63), std::memory_order_relaxed);
}

void SampledAddressFilter::Remove(uintptr_t address) {
  if (bits_ == nullptr) return;
  const size_t i = Index(address);
  SpinLockHolder hold(lock_);
  if (counts_[i] == 0 || counts_[i] == UINT32_MAX) return;
  if (--counts_[i] == 0) bits_[i >> 6].fetch_and(~(uint64_t{1} << (i & 63)), std::memory_order_relaxed);
}

}  // namespace heapwarden::internal
