// tag_table_test.cc: tag paths nest, intern once, and are found again lock-free from
// many threads.
#include "record/track/tag_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace heapwarden::internal {
namespace {

TEST(TagTableTest, NestsIntoSlashJoinedPaths) {
  auto tags = std::make_unique<TagTable>();
  uint32_t epoch = tags->Intern(TagTable::kNoTag, "epoch");
  uint32_t load = tags->Intern(epoch, "load_batch");
  EXPECT_STREQ(tags->path(epoch), "epoch");
  EXPECT_STREQ(tags->path(load), "epoch/load_batch");
  EXPECT_EQ(tags->Intern(epoch, "load_batch"), load);
  EXPECT_NE(tags->Intern(TagTable::kNoTag, "load_batch"), load);
  EXPECT_EQ(tags->Intern(epoch, ""), epoch);
  EXPECT_EQ(tags->Intern(epoch, nullptr), epoch);
  EXPECT_EQ(tags->Find("epoch/load_batch"), load);
  EXPECT_EQ(tags->Find("nope"), TagTable::kNoTag);
  // A name that is a prefix of another is its own tag.
  EXPECT_NE(tags->Intern(epoch, "load"), load);
}

TEST(TagTableTest, ConcurrentInternsAgree) {
  auto tags = std::make_unique<TagTable>();
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  std::vector<uint32_t> first(64);
  for (int i = 0; i < 64; ++i) first[i] = tags->Intern(TagTable::kNoTag, ("t" + std::to_string(i)).c_str());
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < 1000; ++round) {
        for (int i = 0; i < 64; ++i) {
          if (tags->Intern(TagTable::kNoTag, ("t" + std::to_string(i)).c_str()) != first[i]) {
            mismatches.fetch_add(1);
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(tags->size(), 65u);
}

TEST(TagTableTest, LivePeakAccounting) {
  auto tags = std::make_unique<TagTable>();
  uint32_t id = tags->Intern(TagTable::kNoTag, "x");
  tags->OnAllocate(id, 100);
  tags->OnAllocate(id, 50);
  tags->OnFree(id, 100);
  tags->OnAllocate(id, 20);
  EXPECT_EQ(tags->stats(id).live_bytes.load(), 70u);
  EXPECT_EQ(tags->stats(id).peak_live_bytes.load(), 150u);
}

}  // namespace
}  // namespace heapwarden::internal
