// cfi_unwinder_test.cc: heapwarden's own stack walker must agree frame for frame with
// libunwind, the reference, on the stacks allocations really have: plain recursion,
// frames with alloca (rbp-based CFA), C++ exception landing pads, other threads.
#include "record/cfi_unwinder.h"

#include <alloca.h>
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

namespace heapwarden::internal {
namespace {

// libunwind is loaded privately, as heapwarden does: linked normally, its _Unwind_*
// exports would take over this test binary's C++ exception handling.
int ReferenceBacktrace(void** out, int max) {
  using Fn = int (*)(void**, int);
  static Fn fn = [] {
    void* lib = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    return lib ? reinterpret_cast<Fn>(dlsym(lib, "unw_backtrace")) : nullptr;
  }();
  return fn ? fn(out, max) : 0;
}

struct Walks {
  std::vector<uintptr_t> cfi;
  std::vector<uintptr_t> reference;
  int cfi_result = 0;
};

// Both walks start at the return address into this function's caller.
__attribute__((noinline)) Walks WalkBoth() {
  const auto caller = reinterpret_cast<uintptr_t>(__builtin_return_address(0));
  Walks w;
  uintptr_t frames[128];
  w.cfi_result = CfiBacktrace(frames, 128, caller);
  if (w.cfi_result > 0) w.cfi.assign(frames, frames + w.cfi_result);
  void* raw[160];
  int n = ReferenceBacktrace(raw, 160);
  bool found = false;
  for (int i = 0; i < n; ++i) {
    auto pc = reinterpret_cast<uintptr_t>(raw[i]);
    if (pc == caller) found = true;
    if (found && w.reference.size() < 128) w.reference.push_back(pc);
  }
  return w;
}

__attribute__((noinline)) Walks Recurse(int depth) {
  if (depth == 0) return WalkBoth();
  Walks w = Recurse(depth - 1);
  asm volatile("" ::: "memory");
  return w;
}

// alloca forces a frame pointer: the CFA is rbp-based in this frame.
__attribute__((noinline)) Walks WithAlloca(size_t n) {
  char* buffer = static_cast<char*>(alloca(n));
  asm volatile("" : : "r"(buffer) : "memory");
  Walks w = Recurse(3);
  asm volatile("" : : "r"(buffer) : "memory");
  return w;
}

__attribute__((noinline)) Walks InCatch() {
  try {
    throw std::runtime_error("x");
  } catch (const std::exception&) {
    return Recurse(2);
  }
}

void ExpectSameWalk(const Walks& w) {
  ASSERT_GT(w.cfi_result, 0) << "the fast walker gave up on an ordinary stack";
  ASSERT_FALSE(w.reference.empty());
  EXPECT_EQ(w.cfi, w.reference);
}

TEST(CfiUnwinderTest, MatchesLibunwindOnRecursion) {
  for (int depth : {0, 1, 5, 20, 60}) {
    SCOPED_TRACE(depth);
    ExpectSameWalk(Recurse(depth));
  }
}

TEST(CfiUnwinderTest, MatchesLibunwindThroughFramePointerFrames) {
  ExpectSameWalk(WithAlloca(100));
  ExpectSameWalk(WithAlloca(5000));
}

TEST(CfiUnwinderTest, MatchesLibunwindInsideCatchBlock) { ExpectSameWalk(InCatch()); }

TEST(CfiUnwinderTest, MatchesLibunwindOnAnotherThread) {
  Walks w;
  std::thread t([&] { w = Recurse(4); });
  t.join();
  ExpectSameWalk(w);
}

TEST(CfiUnwinderTest, StopsAtMaxFrames) {
  uintptr_t frames[3];
  const auto self = reinterpret_cast<uintptr_t>(__builtin_return_address(0));
  // Asking for our own caller's return address: found one frame up.
  int n = CfiBacktrace(frames, 3, self);
  EXPECT_EQ(n, 3);
  EXPECT_EQ(frames[0], self);
}

TEST(CfiUnwinderTest, UnknownCallerIsNotInvented) {
  uintptr_t frames[8];
  EXPECT_EQ(CfiBacktrace(frames, 8, 0x1234), -1);
}

TEST(CfiUnwinderTest, SurvivesInvalidation) {
  Walks before = Recurse(3);
  CfiInvalidateCache();
  Walks after = Recurse(3);
  ExpectSameWalk(after);
  EXPECT_EQ(before.cfi.size(), after.cfi.size());
}

}  // namespace
}  // namespace heapwarden::internal
