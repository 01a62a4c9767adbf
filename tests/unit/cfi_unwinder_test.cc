// cfi_unwinder_test.cc: heapwarden's own stack walker must agree frame for frame with
// libunwind, the reference, on the stacks allocations really have: plain recursion,
// frames with alloca (rbp-based CFA), C++ exception landing pads, other threads.
#include "record/track/cfi_unwinder.h"

#include "record/base/thread_state.h"

#include <alloca.h>
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
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

// libunwind's frames from the return address `caller` on, at most `max` of them.
std::vector<uintptr_t> ReferenceFrom(uintptr_t caller, size_t max) {
  void* raw[160];
  int n = ReferenceBacktrace(raw, 160);
  std::vector<uintptr_t> out;
  bool found = false;
  for (int i = 0; i < n && out.size() < max; ++i) {
    auto pc = reinterpret_cast<uintptr_t>(raw[i]);
    if (pc == caller) found = true;
    if (found) out.push_back(pc);
  }
  return out;
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
  w.reference = ReferenceFrom(caller, 128);
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

// ---- The walk memo: walks that start at an interposed entry point's frame --------------

struct EntryWalk {
  std::vector<uintptr_t> frames;
  std::vector<uintptr_t> reference;
  bool same_as_last = false;
  WalkKey key = {};  // when g_keyed
  int returned = 0;  // what CfiBacktrace returned
};

// Whether EnterAndWalk asks for the walk's key (WalkKey), as the recorder does.
bool g_keyed = false;

// Plays an interposed entry point: built with a frame pointer, it leaves its frame in
// t_state.entry_frame, as preload/alloc_override.cc does, and walks from its caller.
// `ask`: whether the walk asks if its stack is the same as the last.
__attribute__((noinline, optimize("no-omit-frame-pointer"))) EntryWalk EnterAndWalk(bool ask) {
  t_state.entry_frame = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  const auto caller = reinterpret_cast<uintptr_t>(__builtin_return_address(0));
  EntryWalk w;
  uintptr_t frames[32] = {};
  int n = CfiBacktrace(frames, 32, caller, ask ? &w.same_as_last : nullptr, g_keyed ? &w.key : nullptr);
  w.returned = n;
  // A keyed walk may fill in only its fresh frames: the rest comes from the memo.
  if (g_keyed && w.key.key != 0 && !w.same_as_last) {
    CfiKeyedFrames(frames, w.key);
    n = w.key.frames;
  }
  // A walk that is the same as the last does not fill the frames in: the test takes
  // them from the previous walk (see Walk below).
  if (n > 0 && !w.same_as_last) w.frames.assign(frames, frames + n);
  if (w.same_as_last) w.frames.assign(static_cast<size_t>(n), 0);
  w.reference = ReferenceFrom(caller, 32);
  return w;
}

__attribute__((noinline)) EntryWalk Leaf1(bool ask) {
  EntryWalk w = EnterAndWalk(ask);
  asm volatile("" ::: "memory");
  return w;
}
__attribute__((noinline)) EntryWalk Leaf2(bool ask) {
  EntryWalk w = Leaf1(ask);
  asm volatile("" ::: "memory");
  return w;
}
// F allocates from one place, called by A and by B at the same depth: its frame is at
// the same address with the same return address inside F both times, while the
// return address above it (into A or into B) differs. A memo that trusted the first
// matching frame without re-reading the words above it would give A's stack to B.
__attribute__((noinline)) EntryWalk F(bool deeper, bool ask) {
  EntryWalk w = deeper ? Leaf2(ask) : EnterAndWalk(ask);
  asm volatile("" ::: "memory");
  return w;
}
__attribute__((noinline)) EntryWalk A(bool deeper, bool ask) {
  EntryWalk w = F(deeper, ask);
  asm volatile("" ::: "memory");
  return w;
}
__attribute__((noinline)) EntryWalk B(bool deeper, bool ask) {
  asm volatile("nop");
  EntryWalk w = F(deeper, ask);
  asm volatile("nop" ::: "memory");
  return w;
}
// One call site for every walk of a test, so that the stack above A or B is the same.
__attribute__((noinline)) EntryWalk Call(char which, bool deeper = false, bool ask = true) {
  EntryWalk w = which == 'B' ? B(deeper, ask) : A(deeper, ask);
  asm volatile("" ::: "memory");
  return w;
}

void ExpectRightWalk(const EntryWalk& w) {
  ASSERT_FALSE(w.reference.empty());
  EXPECT_EQ(w.frames, w.reference);
}

// Keeps the frames of the last walk, for a walk that says it is the same: what the
// recorder does with the last site.
class Walker {
 public:
  EntryWalk Next(char which, bool deeper = false, bool ask = true) {
    EntryWalk w = Call(which, deeper, ask);
    if (w.same_as_last) {
      EXPECT_EQ(w.frames.size(), last_.size()) << "same as last, but not as many frames";
      w.frames = last_;
    }
    last_ = w.frames;
    return w;
  }

 private:
  std::vector<uintptr_t> last_;
};

TEST(CfiUnwinderMemo, RepeatedStackIsProvedTheSameAndAChangedOneIsNot) {
  const std::string order = "AABABB";
  std::vector<EntryWalk> walks;
  Walker walker;
  for (char c : order) walks.push_back(walker.Next(c));
  for (const EntryWalk& w : walks) ExpectRightWalk(w);
  EXPECT_NE(walks[0].frames, walks[2].frames) << "A and B must be told apart";
  EXPECT_EQ(walks[0].frames, walks[3].frames);
  EXPECT_TRUE(walks[1].same_as_last);
  EXPECT_FALSE(walks[2].same_as_last);
  EXPECT_FALSE(walks[3].same_as_last);
  EXPECT_FALSE(walks[4].same_as_last);
  EXPECT_TRUE(walks[5].same_as_last);
}

TEST(CfiUnwinderMemo, DifferentLeafUnderTheSameCallersJoinsTheMemo) {
  // Deeper and shallower leaves under the same A or B: each walk joins the previous
  // one part-way up, and must still give exactly libunwind's frames.
  Walker walker;
  for (int round = 0; round < 3; ++round) {
    for (bool deeper : {false, true, true, false}) {
      EntryWalk a = walker.Next('A', deeper);
      ExpectRightWalk(a);
      EntryWalk b = walker.Next('B', deeper);
      ExpectRightWalk(b);
      EXPECT_FALSE(b.same_as_last);
    }
  }
}

TEST(CfiUnwinderMemo, KeyedWalksNameExactlyTheirFrames) {
  // The recorder finds a site by the walk's key instead of its frames
  // (record/track/walk_cache.h): two walks may share a key only if they share every
  // frame, and a joined walk's frames, filled in from the memo, must be libunwind's.
  g_keyed = true;
  std::vector<EntryWalk> walks;
  Walker walker;
  for (int round = 0; round < 2; ++round) {
    for (const char* step : {"A0", "A0", "B0", "A1", "B1", "B0", "A1", "A0", "B1"}) {
      walks.push_back(walker.Next(step[0], step[1] == '1'));
    }
  }
  g_keyed = false;
  int joined = 0;
  int keyed = 0;
  for (const EntryWalk& w : walks) {
    ExpectRightWalk(w);
    if (w.same_as_last || w.key.key == 0) continue;
    ++keyed;
    EXPECT_EQ(w.returned, w.key.fresh);
    if (w.key.fresh < w.key.frames) ++joined;
  }
  EXPECT_GE(keyed, 10) << "walks from an entry point should be keyed";
  EXPECT_GE(joined, 4) << "the test should exercise walks that join the memo part-way up";
  for (size_t i = 0; i < walks.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      const EntryWalk& a = walks[i];
      const EntryWalk& b = walks[j];
      if (a.same_as_last || b.same_as_last || a.key.key == 0 || b.key.key == 0) continue;
      EXPECT_EQ(a.key.key == b.key.key, a.frames == b.frames) << "walks " << j << " and " << i;
    }
  }
}

TEST(CfiUnwinderMemo, AWalkThatDidNotAskIsNeverTakenForTheLast) {
  std::vector<EntryWalk> walks;
  Walker walker;
  for (bool ask : {true, true, false, true}) walks.push_back(walker.Next('A', false, ask));
  for (const EntryWalk& w : walks) ExpectRightWalk(w);
  EXPECT_TRUE(walks[1].same_as_last);
  // The third walk did not ask (an error report's stack, say): the fourth may not
  // reuse a site on the strength of it.
  EXPECT_FALSE(walks[3].same_as_last);
}

}  // namespace
}  // namespace heapwarden::internal
