// caller_totals_test.cc: exact per-caller counts survive slot evictions and thread
// exits, and the reader's post-stratification scales sampled sites to them.
#include "record/track/caller_totals.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace heapwarden::internal {
namespace {

// The totals are one per process: set up once. Every test counts under callers of
// its own, so the tests agree in one process too.
void InitOnce() {
  static const bool ready = InitCallerTotals();
  ASSERT_TRUE(ready);
}

struct Totals {
  uint64_t bytes = 0, blocks = 0;
  bool found = false;
};

Totals Read(uintptr_t caller) {
  CallerTotalsReader reader;
  Totals t;
  EXPECT_TRUE(reader.Load());
  t.found = reader.Find(caller, &t.bytes, &t.blocks);
  return t;
}

TEST(CallerTotalsTest, CountsEachCallerExactly) {
  InitOnce();
  constexpr uintptr_t kBase = 0x10000000;
  for (uintptr_t k = 0; k < 50; ++k) {
    for (uintptr_t i = 0; i <= k; ++i) CountCaller(kBase + 16 * k, 8 * (k + 1));
  }
  CallerTotalsReader reader;
  ASSERT_TRUE(reader.Load());
  for (uintptr_t k = 0; k < 50; ++k) {
    uint64_t bytes = 0, blocks = 0;
    ASSERT_TRUE(reader.Find(kBase + 16 * k, &bytes, &blocks)) << k;
    EXPECT_EQ(blocks, k + 1) << k;
    EXPECT_EQ(bytes, 8 * (k + 1) * (k + 1)) << k;
  }
  uint64_t bytes = 7, blocks = 7;
  EXPECT_FALSE(reader.Find(kBase + 8, &bytes, &blocks)) << "a caller that never allocated";
  EXPECT_EQ(bytes, 7u);
  EXPECT_FALSE(reader.Find(0, &bytes, &blocks));
}

TEST(CallerTotalsTest, TheTotalsGrowByWhatWasCounted) {
  InitOnce();
  CallerTotalsReader before;
  ASSERT_TRUE(before.Load());
  for (int i = 0; i < 1000; ++i) CountCaller(0x11000000 + 16 * (i % 7), 24);
  CallerTotalsReader after;
  ASSERT_TRUE(after.Load());
  EXPECT_EQ(after.total_blocks() - before.total_blocks(), 1000u);
  EXPECT_EQ(after.total_bytes() - before.total_bytes(), 24000u);
}

TEST(CallerTotalsTest, CallersThatShareAThreadSlotEvictEachOtherWithoutLoss) {
  InitOnce();
  // Two callers that land in the same slot of a thread's direct-mapped table.
  auto probe = std::make_unique<ThreadCallerTable>();
  const uintptr_t a = 0x12000000;
  uintptr_t b = a + 16;
  while (&ThreadSlot(probe.get(), b) != &ThreadSlot(probe.get(), a)) b += 16;
  for (int i = 0; i < 1000; ++i) {
    CountCaller(a, 10);
    CountCaller(b, 3);
    if (i % 3 == 0) CountCaller(b, 3);
  }
  const Totals ta = Read(a), tb = Read(b);
  ASSERT_TRUE(ta.found);
  ASSERT_TRUE(tb.found);
  EXPECT_EQ(ta.blocks, 1000u);
  EXPECT_EQ(ta.bytes, 10000u);
  EXPECT_EQ(tb.blocks, 1334u);
  EXPECT_EQ(tb.bytes, 4002u);
}

TEST(CallerTotalsTest, ThreadsCountingOneCallerAddUpAcrossTheirExits) {
  InitOnce();
  const uintptr_t caller = 0x13000000;
  // Two rounds: the second round's threads take over the tables the first round's
  // left behind, which must hold nothing stale.
  for (int round = 0; round < 2; ++round) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([caller] {
        for (int i = 0; i < 10000; ++i) CountCaller(caller, 3);
        for (int i = 0; i < 100; ++i) CountCaller(caller + 16 * (1 + i % 5), 1);
      });
    }
    for (auto& th : threads) th.join();
    const Totals t = Read(caller);
    ASSERT_TRUE(t.found);
    EXPECT_EQ(t.blocks, 40000u * (round + 1)) << "round " << round;
    EXPECT_EQ(t.bytes, 120000u * (round + 1)) << "round " << round;
    const Totals other = Read(caller + 16);
    EXPECT_EQ(other.blocks, 80u * (round + 1));
  }
}

TEST(CallerTotalsTest, ALiveThreadsCountsAreReadWithoutItExiting) {
  InitOnce();
  const uintptr_t caller = 0x14000000;
  std::atomic<int> stage{0};
  std::thread worker([&] {
    for (int i = 0; i < 500; ++i) CountCaller(caller, 2);
    stage.store(1);
    while (stage.load() != 2) std::this_thread::yield();
  });
  while (stage.load() != 1) std::this_thread::yield();
  const Totals t = Read(caller);
  stage.store(2);
  worker.join();
  ASSERT_TRUE(t.found);
  EXPECT_EQ(t.blocks, 500u);
  EXPECT_EQ(t.bytes, 1000u);
}

TEST(CallerTotalsTest, ScaleSplitsTheExactTotalsBySampledShares) {
  InitOnce();
  const uintptr_t caller = 0x15000000;
  for (int i = 0; i < 10; ++i) CountCaller(caller, 100);  // exact: 1000 bytes, 10 blocks
  CallerTotalsReader reader;
  ASSERT_TRUE(reader.Load());
  // Two sampled sites under the caller: estimates of 600 B / 4 blocks and 200 B / 1.
  reader.NoteSampled(caller, 600, 4);
  reader.NoteSampled(caller, 200, 1);
  uint64_t bytes = 600, blocks = 4;
  reader.Scale(caller, &bytes, &blocks);
  EXPECT_EQ(bytes, 750u);   // 600 * 1000 / 800
  EXPECT_EQ(blocks, 8u);    // 4 * 10 / 5
  bytes = 200, blocks = 1;
  reader.Scale(caller, &bytes, &blocks);
  EXPECT_EQ(bytes, 250u);
  EXPECT_EQ(blocks, 2u);
}

TEST(CallerTotalsTest, ScaleRoundsToTheNearest) {
  InitOnce();
  const uintptr_t caller = 0x16000000;
  for (int i = 0; i < 10; ++i) CountCaller(caller, 1);  // exact: 10 bytes, 10 blocks
  CallerTotalsReader reader;
  ASSERT_TRUE(reader.Load());
  for (int i = 0; i < 3; ++i) reader.NoteSampled(caller, 3, 3);
  uint64_t bytes = 3, blocks = 3;
  reader.Scale(caller, &bytes, &blocks);  // 3 * 10 / 9 = 3.33
  EXPECT_EQ(bytes, 3u);
  EXPECT_EQ(blocks, 3u);
  bytes = 5, blocks = 5;
  reader.Scale(caller, &bytes, &blocks);  // 5 * 10 / 9 = 5.56
  EXPECT_EQ(bytes, 6u);
  EXPECT_EQ(blocks, 6u);
}

TEST(CallerTotalsTest, ACallerWithoutAnExactCountKeepsItsEstimates) {
  InitOnce();
  CallerTotalsReader reader;
  ASSERT_TRUE(reader.Load());
  const uintptr_t unknown = 0x17000000;  // never counted
  reader.NoteSampled(unknown, 500, 5);
  uint64_t bytes = 500, blocks = 5;
  reader.Scale(unknown, &bytes, &blocks);
  EXPECT_EQ(bytes, 500u);
  EXPECT_EQ(blocks, 5u);
}

TEST(CallerTotalsTest, ACallerWithNothingSampledKeepsItsEstimates) {
  InitOnce();
  const uintptr_t caller = 0x18000000;
  CountCaller(caller, 4096);
  CallerTotalsReader reader;
  ASSERT_TRUE(reader.Load());
  uint64_t bytes = 123, blocks = 4;
  reader.Scale(caller, &bytes, &blocks);  // no NoteSampled: nothing to divide by
  EXPECT_EQ(bytes, 123u);
  EXPECT_EQ(blocks, 4u);
  reader.NoteSampled(caller, 0, 0);
  reader.Scale(caller, &bytes, &blocks);
  EXPECT_EQ(bytes, 123u);
  EXPECT_EQ(blocks, 4u);
}

}  // namespace
}  // namespace heapwarden::internal
