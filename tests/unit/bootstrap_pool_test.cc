// bootstrap_pool_test.cc: WatchBootstrapBlocks reports every pool block, those handed
// out before the watch and after it: sampled mode's free hook relies on it to keep
// pool blocks from the real free.
#include "record/alloc/bootstrap_pool.h"

#include <cstdint>
#include <set>

#include <gtest/gtest.h>

namespace heapwarden::internal {
namespace {

std::set<const void*> g_reported;

void Note(void* context, const void* block) {
  EXPECT_EQ(context, &g_reported);
  g_reported.insert(block);
}

TEST(BootstrapPool, WatchReportsBlocksBeforeAndAfterIt) {
  void* before[3] = {BootstrapAllocate(24), BootstrapAllocate(100, 64), BootstrapAllocate(1)};
  for (void* p : before) ASSERT_NE(p, nullptr);
  WatchBootstrapBlocks(Note, &g_reported);
  for (void* p : before) {
    EXPECT_TRUE(IsBootstrapPointer(p));
    EXPECT_EQ(g_reported.count(p), 1u) << p;
  }
  void* after = BootstrapAllocate(40, 256);
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(after) % 256, 0u);
  EXPECT_EQ(g_reported.count(after), 1u);
  EXPECT_EQ(BootstrapUsableSize(after), 40u);
  // Only pool blocks are reported, never a neighbour's address.
  for (const void* p : g_reported) EXPECT_TRUE(IsBootstrapPointer(p)) << p;
}

}  // namespace
}  // namespace heapwarden::internal
