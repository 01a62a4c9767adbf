// site_table_test.cc: a (stack, tag, source) triple interns to one site id, any other
// triple to another; stacks are shared between the sites that differ only in tag or
// source; a site's two counter sets add up whoever wrote them.
#include "record/track/site_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "record/base/thread_state.h"
#include "record/track/module_table.h"

namespace heapwarden::internal {
namespace {

struct Tables {
  ModuleTable modules;
  SiteTable sites;
  Tables() {
    modules.Init();
    EXPECT_TRUE(sites.Init(&modules));
  }
};

TEST(SiteTableTest, SiteZeroIsTheOverflowSiteAndExistsFromTheStart) {
  auto t = std::make_unique<Tables>();
  EXPECT_EQ(t->sites.site_count(), 1u);
  EXPECT_EQ(t->sites.stack_count(), 1u);
  EXPECT_EQ(t->sites.site(SiteTable::kOverflowSite).stack_id, 0u);
  EXPECT_EQ(t->sites.stack(0).depth, 0u);
  EXPECT_EQ(t->sites.dropped(), 0u);
}

TEST(SiteTableTest, InternBeforeInitIsTheOverflowSite) {
  SiteTable sites;
  const uintptr_t frames[] = {0x1000, 0x2000};
  EXPECT_EQ(sites.Intern(frames, 2, 0, kSourceHeap), SiteTable::kOverflowSite);
}

TEST(SiteTableTest, SameStackTagAndSourceGiveTheSameId) {
  auto t = std::make_unique<Tables>();
  const uintptr_t frames[] = {0x401000, 0x402000, 0x403000};
  const uint32_t first = t->sites.Intern(frames, 3, 0, kSourceHeap);
  EXPECT_EQ(first, 1u) << "the first real site follows the overflow site";
  // An equal copy in other memory: the table compares frames, not pointers.
  const std::vector<uintptr_t> copy(frames, frames + 3);
  EXPECT_EQ(t->sites.Intern(copy.data(), 3, 0, kSourceHeap), first);
  EXPECT_EQ(t->sites.site_count(), 2u);
  EXPECT_EQ(t->sites.stack_count(), 2u);

  const Site& site = t->sites.site(first);
  EXPECT_EQ(site.tag_id, 0u);
  EXPECT_EQ(site.source, kSourceHeap);
  EXPECT_EQ(site.owner, ThreadPointer());
  const Stack& stack = t->sites.stack(site.stack_id);
  ASSERT_EQ(stack.depth, 3u);
  EXPECT_NE(stack.frames, frames) << "the table keeps its own copy of the frames";
  for (int i = 0; i < 3; ++i) EXPECT_EQ(stack.frames[i], frames[i]);
  EXPECT_EQ(stack.hash, HashFrames(frames, 3));
}

TEST(SiteTableTest, AnotherTagOrSourceIsAnotherSiteOnTheSameStack) {
  auto t = std::make_unique<Tables>();
  const uintptr_t frames[] = {0x401000, 0x402000};
  const uint32_t heap = t->sites.Intern(frames, 2, 0, kSourceHeap);
  const uint32_t tagged = t->sites.Intern(frames, 2, 7, kSourceHeap);
  const uint32_t other_tag = t->sites.Intern(frames, 2, 8, kSourceHeap);
  const uint32_t mapped = t->sites.Intern(frames, 2, 0, kSourceMapped);
  const uint32_t tagged_mapped = t->sites.Intern(frames, 2, 7, kSourceMapped);
  const std::set<uint32_t> ids = {heap, tagged, other_tag, mapped, tagged_mapped};
  EXPECT_EQ(ids.size(), 5u);
  EXPECT_EQ(ids.count(SiteTable::kOverflowSite), 0u);
  EXPECT_EQ(t->sites.site_count(), 6u);
  EXPECT_EQ(t->sites.stack_count(), 2u) << "one stack behind all five sites";
  for (uint32_t id : ids) EXPECT_EQ(t->sites.site(id).stack_id, t->sites.site(heap).stack_id);
  EXPECT_EQ(t->sites.site(tagged).tag_id, 7u);
  EXPECT_EQ(t->sites.site(mapped).source, kSourceMapped);
  // Asked again, each finds itself.
  EXPECT_EQ(t->sites.Intern(frames, 2, 7, kSourceHeap), tagged);
  EXPECT_EQ(t->sites.Intern(frames, 2, 0, kSourceMapped), mapped);
  EXPECT_EQ(t->sites.Intern(frames, 2, 7, kSourceMapped), tagged_mapped);
}

TEST(SiteTableTest, APrefixOrAReorderingIsAnotherStack) {
  auto t = std::make_unique<Tables>();
  const uintptr_t frames[] = {0x401000, 0x402000, 0x403000};
  const uintptr_t swapped[] = {0x402000, 0x401000, 0x403000};
  const uint32_t full = t->sites.Intern(frames, 3, 0, kSourceHeap);
  const uint32_t prefix = t->sites.Intern(frames, 2, 0, kSourceHeap);
  const uint32_t reordered = t->sites.Intern(swapped, 3, 0, kSourceHeap);
  EXPECT_NE(full, prefix);
  EXPECT_NE(full, reordered);
  EXPECT_NE(prefix, reordered);
  EXPECT_EQ(t->sites.stack_count(), 4u);
  EXPECT_EQ(t->sites.stack(t->sites.site(prefix).stack_id).depth, 2u);
}

TEST(SiteTableTest, ManySitesAllFoundAgain) {
  auto t = std::make_unique<Tables>();
  constexpr int kSites = 20000;
  std::vector<uint32_t> ids(kSites);
  for (int i = 0; i < kSites; ++i) {
    const uintptr_t frames[] = {0x500000u + 16u * static_cast<uintptr_t>(i), 0x600000};
    ids[i] = t->sites.Intern(frames, 2, static_cast<uint32_t>(i % 3), kSourceHeap);
    ASSERT_EQ(ids[i], static_cast<uint32_t>(i + 1)) << "ids are handed out in order";
  }
  for (int i = 0; i < kSites; ++i) {
    const uintptr_t frames[] = {0x500000u + 16u * static_cast<uintptr_t>(i), 0x600000};
    ASSERT_EQ(t->sites.Intern(frames, 2, static_cast<uint32_t>(i % 3), kSourceHeap), ids[i]) << i;
  }
  EXPECT_EQ(t->sites.site_count(), kSites + 1u);
  EXPECT_EQ(t->sites.dropped(), 0u);
}

TEST(SiteTableTest, ThreadsInterningTheSameStacksAgreeOnTheIds) {
  auto t = std::make_unique<Tables>();
  constexpr int kStacks = 500;
  constexpr int kThreads = 4;
  std::vector<std::vector<uint32_t>> seen(kThreads, std::vector<uint32_t>(kStacks));
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      while (!go.load()) {
      }
      for (int i = 0; i < kStacks; ++i) {
        // Each thread walks the stacks in its own order (a multiplier prime to
        // kStacks: a permutation), so creations race.
        static constexpr int kStride[kThreads] = {1, 3, 7, 9};
        const int k = (i * kStride[th]) % kStacks;
        const uintptr_t frames[] = {0x700000u + 32u * static_cast<uintptr_t>(k), 0x800000};
        seen[th][k] = t->sites.Intern(frames, 2, 0, kSourceHeap);
      }
    });
  }
  go.store(true);
  for (auto& th : threads) th.join();
  for (int th = 1; th < kThreads; ++th) EXPECT_EQ(seen[th], seen[0]) << "thread " << th;
  EXPECT_EQ(t->sites.site_count(), kStacks + 1u) << "no site was created twice";
  EXPECT_EQ(t->sites.stack_count(), kStacks + 1u);
}

TEST(SiteTableTest, OwnerAndSharedCountersAddUp) {
  auto t = std::make_unique<Tables>();
  const uintptr_t frames[] = {0x401000};
  Site& site = t->sites.site(t->sites.Intern(frames, 1, 0, kSourceHeap));
  ASSERT_EQ(site.owner, ThreadPointer());

  // The creating thread allocates 3 blocks of 100 bytes (owner path)...
  for (int i = 0; i < 3; ++i) {
    CounterAdd(site.owned.allocations, uint64_t{1}, true);
    CounterAdd(site.owned.bytes_allocated, uint64_t{100}, true);
    CounterAdd(site.owned.live_blocks, uint64_t{1}, true);
    CounterAdd(site.owned.live_bytes, uint64_t{100}, true);
  }
  // ...and another thread frees two of them and allocates one of 40 (shared path):
  // its live counters go "below zero" and only the sums are right.
  std::thread other([&] {
    ASSERT_NE(site.owner, ThreadPointer());
    for (int i = 0; i < 2; ++i) {
      CounterAdd(site.shared.live_blocks, uint64_t{0} - 1, false);
      CounterAdd(site.shared.live_bytes, uint64_t{0} - 100, false);
      CounterAdd(site.shared.lifetime_ms_log2[4], uint32_t{1}, false);
    }
    CounterAdd(site.shared.allocations, uint64_t{1}, false);
    CounterAdd(site.shared.bytes_allocated, uint64_t{40}, false);
    CounterAdd(site.shared.live_blocks, uint64_t{1}, false);
    CounterAdd(site.shared.live_bytes, uint64_t{40}, false);
  });
  other.join();
  CounterAdd(site.owned.lifetime_ms_log2[4], uint32_t{1}, true);

  EXPECT_EQ(site.allocations(), 4u);
  EXPECT_EQ(site.bytes_allocated(), 340u);
  EXPECT_EQ(site.live_blocks(), 2u);
  EXPECT_EQ(site.live_bytes(), 140u);
  EXPECT_EQ(site.shared.live_bytes.load(), uint64_t{0} - 160) << "one set alone wraps";
  EXPECT_EQ(site.lifetime_bucket(4), 3u);
  EXPECT_EQ(site.lifetime_bucket(5), 0u);
}

TEST(SiteTableTest, SharedAddsFromManyThreadsLoseNothing) {
  auto t = std::make_unique<Tables>();
  const uintptr_t frames[] = {0x401000};
  Site& site = t->sites.site(t->sites.Intern(frames, 1, 0, kSourceHeap));
  std::vector<std::thread> threads;
  for (int th = 0; th < 4; ++th) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) CounterAdd(site.shared.bytes_allocated, uint64_t{3}, false);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(site.bytes_allocated(), 4u * 100000u * 3u);
}

TEST(SiteTableTest, HashDependsOnEveryFrameAndTheDepth) {
  const uintptr_t a[] = {1, 2, 3, 4, 5, 6};
  const uintptr_t b[] = {1, 2, 3, 4, 5, 7};
  EXPECT_EQ(HashFrames(a, 6), HashFrames(a, 6));
  EXPECT_NE(HashFrames(a, 6), HashFrames(b, 6));
  EXPECT_NE(HashFrames(a, 5), HashFrames(a, 6));
  const uintptr_t zeros[] = {0, 0};
  EXPECT_NE(HashFrames(zeros, 1), HashFrames(zeros, 2)) << "equal frames, another depth";
}

}  // namespace
}  // namespace heapwarden::internal
