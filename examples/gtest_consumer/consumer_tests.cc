// consumer_tests.cc: a GoogleTest binary with heapwarden's per-test leak check, built
// from an installed heapwarden. Under `heapwarden run --fail-on-leak --max-leak-bytes
// 100 --suppressions leaks.supp`:
//   Leaks.ForgetsABuffer       leaks 4096 bytes in ForgetBuffer():   fails, naming it
//   Leaks.AcceptedLegacyLeak   leaks in LegacyRegistryAdd(), which
//                              leaks.supp suppresses:                 passes
//   Leaks.SmallLeakUnderLimit  leaks 64 bytes, under the 100 allowed: passes
//   Clean.FreesWhatItTakes     leaks nothing:                        passes
// Without heapwarden every test passes.
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "heapwarden/leak_check_listener.h"

namespace {

// The optimiser must keep each allocation: an asm that "uses" the pointer.
void Keep(const void* p) { asm volatile("" : : "g"(p) : "memory"); }

__attribute__((noinline)) char* ForgetBuffer() {
  char* buffer = static_cast<char*>(std::malloc(4096));
  std::memset(buffer, 'x', 4096);
  Keep(buffer);
  return buffer;
}

// Stands for an old library that never frees what it registers.
__attribute__((noinline)) void LegacyRegistryAdd(const char* name) {
  char* copy = static_cast<char*>(std::malloc(1000));
  std::strncpy(copy, name, 999);
  copy[999] = '\0';
  Keep(copy);
}

__attribute__((noinline)) void SmallLeak() {
  void* small = std::malloc(64);
  std::memset(small, 0, 64);
  Keep(small);
}

TEST(Leaks, ForgetsABuffer) {
  char* buffer = ForgetBuffer();
  EXPECT_EQ(buffer[0], 'x');
}

TEST(Leaks, AcceptedLegacyLeak) { LegacyRegistryAdd("plugin"); }

TEST(Leaks, SmallLeakUnderLimit) { SmallLeak(); }

TEST(Clean, FreesWhatItTakes) {
  std::vector<std::string> words(100, std::string(64, 'w'));
  EXPECT_EQ(words.size(), 100u);
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  heapwarden::InstallLeakCheckListener();
  return RUN_ALL_TESTS();
}
