// live_table_test.cc: the live table finds what it holds and nothing else, through
// growth, backward-shift deletion in long probe runs, and the shrink after a peak.
#include "record/track/live_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <thread>
#include <vector>

namespace heapwarden::internal {
namespace {

// 256 shards of 128 slots of 24 bytes: what a table holds once every shard was used
// and none needs more than its first mapping.
constexpr size_t kSmallestFullTable = LiveTable::kShards * 128 * sizeof(LiveBlock);

LiveBlock Block(uintptr_t address, uint64_t size, AllocKind kind = kAllocMalloc, uint32_t site = 1,
                uint32_t birth_ms = 0) {
  LiveBlock b{};
  b.address = address;
  b.size = size;
  b.kind = kind;
  b.site = site;
  b.birth_ms = birth_ms;
  return b;
}

// Distinct, 16-aligned, spread like a heap's: a fixed seed so a failure reproduces.
std::vector<uintptr_t> Addresses(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uintptr_t> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(0x10000 + 16 * static_cast<uintptr_t>(i));
  // Half sequential (like a bump allocator), half scattered over 2^40.
  for (size_t i = n / 2; i < n; ++i) out[i] = ((rng() & ((uint64_t{1} << 40) - 1)) | (uint64_t{1} << 44)) & ~uintptr_t{15};
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

size_t Count(LiveTable& table) {
  table.LockAll();
  const size_t n = table.CountLocked();
  table.UnlockAll();
  return n;
}

TEST(LiveTableTest, AnEmptyTableFindsNothing) {
  auto table = std::make_unique<LiveTable>();
  LiveBlock out;
  EXPECT_FALSE(table->Find(0x1000, &out));
  EXPECT_FALSE(table->Erase(0x1000, &out));
  EXPECT_EQ(Count(*table), 0u);
  EXPECT_EQ(table->mapped_bytes(), 0u) << "no shard maps memory before its first block";
}

TEST(LiveTableTest, InsertFindEraseKeepEveryField) {
  auto table = std::make_unique<LiveTable>();
  const uint64_t big = (uint64_t{1} << 56) - 1;  // the widest size the entry holds
  ASSERT_TRUE(table->Insert(Block(0x7f0000001000, big, kAllocNewArray, 42, 123456)));
  LiveBlock out{};
  ASSERT_TRUE(table->Find(0x7f0000001000, &out));
  EXPECT_EQ(out.address, 0x7f0000001000u);
  EXPECT_EQ(out.size, big);
  EXPECT_EQ(out.kind, kAllocNewArray);
  EXPECT_EQ(out.site, 42u);
  EXPECT_EQ(out.birth_ms, 123456u);
  EXPECT_FALSE(table->Find(0x7f0000001010, &out)) << "a neighbour is not the block";
  EXPECT_EQ(Count(*table), 1u);

  LiveBlock erased{};
  ASSERT_TRUE(table->Erase(0x7f0000001000, &erased));
  EXPECT_EQ(erased.size, big);
  EXPECT_EQ(erased.site, 42u);
  EXPECT_FALSE(table->Find(0x7f0000001000, &out));
  EXPECT_FALSE(table->Erase(0x7f0000001000, &out)) << "a second erase finds nothing";
  EXPECT_EQ(Count(*table), 0u);
}

TEST(LiveTableTest, ReinsertingALiveAddressReplacesItsEntry) {
  auto table = std::make_unique<LiveTable>();
  ASSERT_TRUE(table->Insert(Block(0x5000, 10, kAllocMalloc, 1)));
  ASSERT_TRUE(table->Insert(Block(0x5000, 20, kAllocNew, 2)));
  LiveBlock out{};
  ASSERT_TRUE(table->Find(0x5000, &out));
  EXPECT_EQ(out.size, 20u);
  EXPECT_EQ(out.kind, kAllocNew);
  EXPECT_EQ(Count(*table), 1u);
}

TEST(LiveTableTest, GrowsThroughManyRehashesAndLosesNothing) {
  auto table = std::make_unique<LiveTable>();
  const std::vector<uintptr_t> addresses = Addresses(300000, 1);
  for (size_t i = 0; i < addresses.size(); ++i) {
    ASSERT_TRUE(table->Insert(Block(addresses[i], i + 1, kAllocMalloc, static_cast<uint32_t>(i))));
  }
  EXPECT_EQ(Count(*table), addresses.size());
  // About 1170 blocks a shard: every shard grew from 128 slots at least three times.
  EXPECT_GE(table->mapped_bytes(), 8 * kSmallestFullTable);
  for (size_t i = 0; i < addresses.size(); ++i) {
    LiveBlock out{};
    ASSERT_TRUE(table->Find(addresses[i], &out)) << i;
    ASSERT_EQ(out.size, i + 1);
    ASSERT_EQ(out.site, static_cast<uint32_t>(i));
  }
}

TEST(LiveTableTest, BackwardShiftDeletionKeepsEveryOtherEntryFindable) {
  auto table = std::make_unique<LiveTable>();
  // Sequential addresses fill shards close to the 3/4 load limit, so probe runs are
  // long and wrap around the end of a shard's slots.
  const std::vector<uintptr_t> addresses = Addresses(100000, 2);
  for (uintptr_t a : addresses) ASSERT_TRUE(table->Insert(Block(a, a & 0xffff)));

  std::vector<uintptr_t> order = addresses;
  std::mt19937 rng(3);
  std::shuffle(order.begin(), order.end(), rng);
  const size_t half = order.size() / 2;
  for (size_t i = 0; i < half; ++i) {
    LiveBlock out{};
    ASSERT_TRUE(table->Erase(order[i], &out)) << i;
    ASSERT_EQ(out.address, order[i]);
    ASSERT_EQ(out.size, order[i] & 0xffff);
  }
  EXPECT_EQ(Count(*table), order.size() - half);
  for (size_t i = 0; i < order.size(); ++i) {
    LiveBlock out{};
    const bool found = table->Find(order[i], &out);
    ASSERT_EQ(found, i >= half) << "entry " << i << (i >= half ? " lost" : " still found");
    if (found) {
      ASSERT_EQ(out.size, order[i] & 0xffff);
    }
  }
  // The holes are reusable: put the erased half back, then erase everything.
  for (size_t i = 0; i < half; ++i) ASSERT_TRUE(table->Insert(Block(order[i], 1)));
  EXPECT_EQ(Count(*table), order.size());
  std::shuffle(order.begin(), order.end(), rng);
  for (size_t i = 0; i < order.size(); ++i) {
    LiveBlock out{};
    ASSERT_TRUE(table->Erase(order[i], &out)) << i;
  }
  EXPECT_EQ(Count(*table), 0u);
  for (uintptr_t a : addresses) {
    LiveBlock out{};
    ASSERT_FALSE(table->Find(a, &out));
  }
}

TEST(LiveTableTest, ShrinkToFitGivesBackWhatThePeakLeft) {
  auto table = std::make_unique<LiveTable>();
  const std::vector<uintptr_t> addresses = Addresses(200000, 4);
  for (uintptr_t a : addresses) ASSERT_TRUE(table->Insert(Block(a, 64)));
  const size_t at_peak = table->mapped_bytes();
  ASSERT_GT(at_peak, 4 * kSmallestFullTable);

  // Keep every 200th block, 1000 in all, about 4 a shard (shards go by page, and
  // kept blocks lie pages apart): every shard is far under an eighth full.
  auto is_kept = [](size_t i) { return i % 200 == 0; };
  size_t kept = 0;
  for (size_t i = 0; i < addresses.size(); ++i) {
    if (is_kept(i)) {
      ++kept;
      continue;
    }
    LiveBlock out{};
    ASSERT_TRUE(table->Erase(addresses[i], &out));
  }
  EXPECT_EQ(table->mapped_bytes(), at_peak) << "erasing alone never unmaps";
  const size_t released = table->ShrinkToFit();
  EXPECT_EQ(released, at_peak - kSmallestFullTable);
  EXPECT_EQ(table->mapped_bytes(), kSmallestFullTable);
  EXPECT_EQ(table->ShrinkToFit(), 0u) << "nothing is left to give back";
  EXPECT_EQ(Count(*table), kept);
  for (size_t i = 0; i < addresses.size(); ++i) {
    LiveBlock out{};
    ASSERT_EQ(table->Find(addresses[i], &out), is_kept(i)) << i;
  }
  // And it grows again as before.
  for (size_t i = 0; i < addresses.size(); ++i) {
    if (!is_kept(i)) ASSERT_TRUE(table->Insert(Block(addresses[i], 64)));
  }
  EXPECT_EQ(Count(*table), addresses.size());
}

TEST(LiveTableTest, ShrinkToFitKeepsAShardThatIsStillAnEighthFull) {
  auto table = std::make_unique<LiveTable>();
  const std::vector<uintptr_t> addresses = Addresses(200000, 5);
  for (uintptr_t a : addresses) ASSERT_TRUE(table->Insert(Block(a, 64)));
  const size_t at_peak = table->mapped_bytes();
  // Nothing erased: every shard is between 3/8 and 3/4 full.
  EXPECT_EQ(table->ShrinkToFit(), 0u);
  EXPECT_EQ(table->mapped_bytes(), at_peak);
}

TEST(LiveTableTest, ThreadsInsertingAndErasingAtOnceLoseNothing) {
  auto table = std::make_unique<LiveTable>();
  constexpr int kThreads = 4;
  // One address set per thread, interleaved, so the threads share every shard.
  const std::vector<uintptr_t> addresses = Addresses(kThreads * 40000, 7);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = t; i < addresses.size(); i += kThreads) {
        if (!table->Insert(Block(addresses[i], i))) failures.fetch_add(1);
      }
      // Erase every other one of this thread's blocks while the others still insert.
      for (size_t i = t; i < addresses.size(); i += 2 * kThreads) {
        LiveBlock out{};
        if (!table->Erase(addresses[i], &out) || out.size != i) failures.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  size_t expected = 0;
  for (size_t i = 0; i < addresses.size(); ++i) {
    const bool erased = (i % kThreads) == (i % (2 * kThreads));
    expected += !erased;
    LiveBlock out{};
    ASSERT_EQ(table->Find(addresses[i], &out), !erased) << i;
    if (!erased) {
      ASSERT_EQ(out.size, i);
    }
  }
  EXPECT_EQ(Count(*table), expected);
}

TEST(LiveTableTest, ForEachVisitsEachBlockOnce) {
  auto table = std::make_unique<LiveTable>();
  const std::vector<uintptr_t> addresses = Addresses(50000, 6);
  for (uintptr_t a : addresses) ASSERT_TRUE(table->Insert(Block(a, 8)));
  // Erase some first, so the walk crosses shifted runs too.
  for (size_t i = 0; i < addresses.size(); i += 3) {
    LiveBlock out{};
    ASSERT_TRUE(table->Erase(addresses[i], &out));
  }
  std::vector<uintptr_t> expected;
  for (size_t i = 0; i < addresses.size(); ++i) {
    if (i % 3 != 0) expected.push_back(addresses[i]);
  }

  std::vector<uintptr_t> visited;
  visited.reserve(addresses.size());
  uint64_t bytes = 0;
  table->ForEach([&](const LiveBlock& b) {
    visited.push_back(b.address);
    bytes += b.size;
  });
  std::sort(visited.begin(), visited.end());
  EXPECT_EQ(visited, expected) << "each live block once, and no erased one";
  EXPECT_EQ(bytes, 8 * expected.size());

  std::vector<uintptr_t> visited_locked;
  table->LockAll();
  table->ForEachLocked([&](const LiveBlock& b) { visited_locked.push_back(b.address); });
  table->UnlockAll();
  std::sort(visited_locked.begin(), visited_locked.end());
  EXPECT_EQ(visited_locked, expected);
}

}  // namespace
}  // namespace heapwarden::internal
