// sampler_test.cc: the sampled mode's estimator on synthetic streams of allocations,
// over many seeds: unbiased for bytes and for blocks, with the spread that Poisson
// sampling predicts, and blind to no large block. Statistical bounds are set at
// several standard errors, so a correct sampler fails them far less than once in a
// million runs; the seeds are fixed, so a run is repeatable anyway.
#include "record/track/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

namespace heapwarden::internal {
namespace {

constexpr uint64_t kR = 64 * 1024;

// A mix like a real program's: mostly small blocks, some pages, a few big buffers.
std::vector<uint64_t> Stream(size_t n) {
  std::vector<uint64_t> sizes;
  uint64_t state = 42;
  for (size_t i = 0; i < n; ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t r = state >> 33;
    if (r % 1000 == 0) {
      sizes.push_back(1 << 20);
    } else if (r % 50 == 0) {
      sizes.push_back(4096 + r % 60000);
    } else {
      sizes.push_back(1 + r % 512);
    }
  }
  return sizes;
}

struct Estimate {
  double bytes = 0;
  double blocks = 0;
};

// What sampled mode would report for the stream with this seed.
Estimate Sample(const std::vector<uint64_t>& sizes, uint64_t seed) {
  InitSampler(kR, seed);
  t_state.sample_rng = 0;  // a fresh thread: the countdown starts at the first block
  t_state.sample_countdown = 0;
  Estimate e;
  uintptr_t address = 0x10000;
  for (uint64_t size : sizes) {
    address += 16 * 1024;
    if (!SampleAllocation(size)) continue;
    SampleWeight w = WeightOf(size, address, static_cast<uint32_t>(address >> 10));
    e.bytes += static_cast<double>(w.bytes);
    e.blocks += static_cast<double>(w.blocks);
  }
  return e;
}

TEST(Sampler, EstimatesAreUnbiasedWithThePoissonSpread) {
  const std::vector<uint64_t> sizes = Stream(200000);
  double true_bytes = 0, variance = 0;
  InitSampler(kR, 1);
  for (uint64_t s : sizes) {
    true_bytes += static_cast<double>(s);
    // Horvitz-Thompson: a block kept with probability p and weighted 1/p adds
    // s^2 (1 - p) / p to the variance of the byte estimate.
    const double p = 1.0 / ExpectedBlocksPerSample(s);
    variance += static_cast<double>(s) * static_cast<double>(s) * (1 - p) / p;
  }
  const double true_blocks = static_cast<double>(sizes.size());
  constexpr int kRuns = 300;
  double sum_bytes = 0, sum_sq = 0, sum_blocks = 0;
  for (int run = 1; run <= kRuns; ++run) {
    const Estimate e = Sample(sizes, static_cast<uint64_t>(run));
    sum_bytes += e.bytes;
    sum_sq += e.bytes * e.bytes;
    sum_blocks += e.blocks;
  }
  const double mean = sum_bytes / kRuns;
  const double spread = std::sqrt(sum_sq / kRuns - mean * mean);
  const double theory = std::sqrt(variance);
  // The mean of 300 runs has a standard error of theory/sqrt(300): 6 of them is 0.35 theory.
  EXPECT_NEAR(mean, true_bytes, 0.35 * theory) << "bias in the byte estimate";
  EXPECT_GT(spread, 0.75 * theory);
  EXPECT_LT(spread, 1.25 * theory);
  EXPECT_NEAR(sum_blocks / kRuns / true_blocks, 1.0, 0.03) << "bias in the block estimate";
}

TEST(Sampler, ABlockOfSixteenIntervalsIsAlwaysSeen) {
  // Missing one has probability exp(-16), about 1e-7 per block.
  InitSampler(kR, 7);
  t_state.sample_rng = 0;
  t_state.sample_countdown = 0;
  for (int i = 0; i < 10000; ++i) {
    EXPECT_TRUE(SampleAllocation(16 * kR)) << "block " << i;
    SampleAllocation(100);  // small blocks between them, mostly not sampled
  }
}

TEST(Sampler, WeightIsTheSameAtAllocationAndAtFree) {
  InitSampler(kR, 3);
  EXPECT_NEAR(ExpectedBlocksPerSample(kR), 1.0 / (1.0 - std::exp(-1.0)), 1e-9);
  for (uint64_t size : {uint64_t{1}, uint64_t{100}, kR, 3 * kR}) {
    SampleWeight a = WeightOf(size, 0x5000, 17);
    SampleWeight b = WeightOf(size, 0x5000, 17);
    EXPECT_EQ(a.blocks, b.blocks);
    EXPECT_EQ(a.bytes, b.bytes);
    EXPECT_NEAR(static_cast<double>(a.bytes), static_cast<double>(size) * ExpectedBlocksPerSample(size), 1.0);
  }
  EXPECT_EQ(WeightOf(0, 0x5000, 1).bytes, 0u);
}

TEST(Sampler, AFixedSeedRepeatsAndAnotherSeedDiffers) {
  const std::vector<uint64_t> sizes = Stream(20000);
  EXPECT_EQ(Sample(sizes, 5).bytes, Sample(sizes, 5).bytes);
  EXPECT_NE(Sample(sizes, 5).bytes, Sample(sizes, 6).bytes);
}

TEST(SampledAddressFilter, NeverForgetsALiveSampledBlock) {
  SampledAddressFilter filter;
  ASSERT_TRUE(filter.Init());
  EXPECT_FALSE(filter.MayContain(0x1000));
  std::vector<uintptr_t> live;
  for (uintptr_t a = 0x100000; a < 0x100000 + 4096 * 16; a += 16) {
    filter.Add(a);
    live.push_back(a);
  }
  for (uintptr_t a : live) EXPECT_TRUE(filter.MayContain(a));
  for (size_t i = 0; i < live.size(); i += 2) filter.Remove(live[i]);
  for (size_t i = 1; i < live.size(); i += 2) EXPECT_TRUE(filter.MayContain(live[i]));
  for (size_t i = 1; i < live.size(); i += 2) filter.Remove(live[i]);
  int still = 0;
  for (uintptr_t a : live) still += filter.MayContain(a) ? 1 : 0;
  EXPECT_EQ(still, 0) << "every counter went back to zero";
}

}  // namespace
}  // namespace heapwarden::internal
