// gtest_leaky.cc: a GoogleTest binary with the heapwarden_gtest listener in its main:
// one test leaks (LeakyTest.LeaksABuffer, 2468 bytes from leak_in_test), three do not
// (one keeps a block reachable from a global, one frees everything, one uses a fixture
// that frees in its destructor). Under heapwarden exactly the leaking test fails; without
// it all four pass. Not a ctest test of its own: tests/leaks runs it both ways.

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "escape.h"
#include "gtest/gtest.h"
#include "heapwarden/leak_check_listener.h"

namespace {

std::map<std::string, std::string>* g_cache;

HW_NOINLINE char* leak_in_test() {
  char* p = static_cast<char*>(std::malloc(2468));  // SITE:leak_in_test
  std::memset(p, 1, 2468);
  return p;
}

TEST(LeakyTest, LeaksABuffer) {
  char* p = leak_in_test();
  EXPECT_EQ(p[0], 1);
}

TEST(CleanTest, FreesEverything) {
  std::vector<std::string> words(100, std::string(50, 'w'));
  auto owned = std::make_unique<int[]>(1000);
  owned[0] = static_cast<int>(words.size());
  EXPECT_EQ(owned[0], 100);
}

TEST(CleanTest, KeepsACacheReachable) {
  if (g_cache == nullptr) g_cache = new std::map<std::string, std::string>;
  (*g_cache)[std::string(40, 'k')] = std::string(300, 'v');
  EXPECT_EQ(g_cache->size(), 1u);
}

class Fixture : public ::testing::Test {
 protected:
  void SetUp() override { buffer_ = static_cast<char*>(std::malloc(5000)); }
  void TearDown() override { std::free(buffer_); }
  char* buffer_ = nullptr;
};

TEST_F(Fixture, FreesInTearDown) {
  ASSERT_NE(buffer_, nullptr);
  buffer_[0] = 'x';
  Escape(buffer_);
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  heapwarden::InstallLeakCheckListener();
  return RUN_ALL_TESTS();
}
