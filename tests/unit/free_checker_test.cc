// free_checker_test.cc: the free path's error checks, driven through a Recorder the
// way the interposed free drives them: double frees found in the ring of recent frees,
// invalid frees of addresses no allocator hands out, mismatched families, and silence
// for a heap pointer heapwarden merely never saw.
//
// The checks keep one state per process (free_checker.cc), and errors are told apart
// by their stack id, so every test here shares one recorder and calls with callers of
// its own. Variants that need other options run in a re-executed child (death-test
// style "threadsafe"), which starts from a fresh process.
#include "record/track/free_checker.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <new>
#include <thread>
#include <vector>

#include "record/track/recorder.h"

// The family check runs only when operator new/new[]/delete/delete[] are the ones of
// the module that holds the checker (the preload, in real use). Defining them here
// makes this test binary that module. They forward to malloc/free, as the default
// ones do.
void* operator new(std::size_t n) {
  if (void* p = malloc(n != 0 ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (void* p = malloc(n != 0 ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { free(p); }
void operator delete[](void* p) noexcept { free(p); }
void operator delete(void* p, std::size_t) noexcept { free(p); }
void operator delete[](void* p, std::size_t) noexcept { free(p); }

namespace heapwarden::internal {
namespace {

int g_global_word[4];  // in the executable's .bss: inside a loaded module

// depth=1: a bad call's stack is exactly the caller passed in, so a test finds its
// errors by caller.
Recorder& Shared() {
  static Recorder* recorder = [] {
    auto* r = new Recorder();
    RecursionGuard guard;
    EXPECT_TRUE(r->Init("depth=1"));
    return r;
  }();
  return *recorder;
}

std::vector<FreeError> Errors() {
  std::vector<FreeError> out(kMaxFreeErrors);
  out.resize(static_cast<size_t>(CopyFreeErrors(out.data(), kMaxFreeErrors)));
  return out;
}

uintptr_t FirstFrame(Recorder& r, uint32_t stack) {
  const Stack& s = r.sites().stack(stack);
  return s.depth == 0 ? 0 : s.frames[0];
}

// The errors whose bad call came from `caller`.
std::vector<FreeError> ErrorsFrom(Recorder& r, uintptr_t caller) {
  std::vector<FreeError> out;
  for (const FreeError& e : Errors()) {
    if (FirstFrame(r, e.stack) == caller) out.push_back(e);
  }
  return out;
}

// A real heap block, 16-aligned, that the recorder is told nothing about. Never given
// back: the ring of recent frees remembers the addresses the tests free through the
// recorder, and a reused one would make the next test's "unknown pointer" a double
// free (as it would be for the preload, which never misses an allocation).
struct HeapBlock {
  void* p = Keep(malloc(64));
  uintptr_t address() const { return reinterpret_cast<uintptr_t>(p); }
  static void* Keep(void* p) {
    static std::vector<void*>* kept = new std::vector<void*>;  // reachable: no leak
    kept->push_back(p);
    return p;
  }
};

TEST(FreeCheckerTest, ASecondFreeIsADoubleFreeNamingTheFirstFreesCaller) {
  Recorder& r = Shared();
  HeapBlock block;
  const uintptr_t alloc_caller = 0x1100, first = 0x1110, second = 0x1120;
  const uint64_t errors_before = FreeErrorCount();
  r.OnAllocate(block.p, 64, kAllocMalloc, alloc_caller);
  EXPECT_TRUE(r.OnFree(block.p, kAllocMalloc, first));
  EXPECT_EQ(FreeErrorCount(), errors_before) << "the first free is fine";
  EXPECT_FALSE(r.OnFree(block.p, kAllocMalloc, second));
  EXPECT_EQ(FreeErrorCount(), errors_before + 1);

  const std::vector<FreeError> found = ErrorsFrom(r, second);
  ASSERT_EQ(found.size(), 1u);
  const FreeError& e = found[0];
  EXPECT_EQ(e.kind, kDoubleFree);
  EXPECT_STREQ(FreeErrorName(e.kind), "double_free");
  EXPECT_EQ(e.address, block.address());
  EXPECT_TRUE(e.has_other);
  EXPECT_EQ(FirstFrame(r, e.other_stack), first);
  EXPECT_EQ(e.freed_by, kAllocMalloc);
  EXPECT_EQ(e.count, 1u);

  // The same bad call again is the same error, counted twice.
  EXPECT_FALSE(r.OnFree(block.p, kAllocMalloc, second));
  const std::vector<FreeError> again = ErrorsFrom(r, second);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].count, 2u);
  EXPECT_EQ(FreeErrorCount(), errors_before + 2);
}

TEST(FreeCheckerTest, AnAddressFreedThenHandedOutAgainIsNoDoubleFree) {
  Recorder& r = Shared();
  HeapBlock block;
  const uint64_t errors_before = FreeErrorCount();
  for (int i = 0; i < 3; ++i) {
    r.OnAllocate(block.p, 64, kAllocMalloc, 0x2100);
    EXPECT_TRUE(r.OnFree(block.p, kAllocMalloc, 0x2110));
  }
  EXPECT_EQ(FreeErrorCount(), errors_before);
  EXPECT_TRUE(ErrorsFrom(r, 0x2110).empty());
}

TEST(FreeCheckerTest, AnUnknownHeapPointerIsAnUntrackedFreeNotAnError) {
  Recorder& r = Shared();
  HeapBlock block;  // allocated where heapwarden did not look
  const uint64_t errors_before = FreeErrorCount();
  const uint64_t untracked_before = r.untracked_frees();
  EXPECT_FALSE(r.OnFree(block.p, kAllocMalloc, 0x3100));
  EXPECT_EQ(r.untracked_frees(), untracked_before + 1);
  EXPECT_EQ(FreeErrorCount(), errors_before);
  EXPECT_TRUE(ErrorsFrom(r, 0x3100).empty());
}

TEST(FreeCheckerTest, FreeingAStackAddressIsInvalid) {
  Recorder& r = Shared();
  volatile uint64_t on_stack[2] = {0, 0};
  void* p = const_cast<uint64_t*>(&on_stack[0]);
  EXPECT_FALSE(r.OnFree(p, kAllocMalloc, 0x4100));
  const std::vector<FreeError> found = ErrorsFrom(r, 0x4100);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].kind, kInvalidFree);
  EXPECT_STREQ(FreeErrorName(found[0].kind), "invalid_free");
  EXPECT_EQ(found[0].address, reinterpret_cast<uintptr_t>(p));
  EXPECT_FALSE(found[0].has_other);
}

TEST(FreeCheckerTest, FreeingAnotherThreadsOwnStackAddressIsInvalid) {
  Recorder& r = Shared();
  std::thread worker([&r] {
    alignas(16) volatile char local[32] = {};
    EXPECT_FALSE(r.OnFree(const_cast<char*>(local), kAllocNew, 0x4200));
  });
  worker.join();
  const std::vector<FreeError> found = ErrorsFrom(r, 0x4200);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].kind, kInvalidFree);
  EXPECT_EQ(found[0].freed_by, kAllocNew);
}

TEST(FreeCheckerTest, FreeingAGlobalOrCodeIsInvalid) {
  Recorder& r = Shared();
  EXPECT_FALSE(r.OnFree(&g_global_word[0], kAllocMalloc, 0x5100));
  EXPECT_FALSE(r.OnFree(reinterpret_cast<void*>(&FirstFrame), kAllocMalloc, 0x5110));
  const std::vector<FreeError> global = ErrorsFrom(r, 0x5100);
  ASSERT_EQ(global.size(), 1u);
  EXPECT_EQ(global[0].kind, kInvalidFree);
  EXPECT_EQ(global[0].address, reinterpret_cast<uintptr_t>(&g_global_word[0]));
  const std::vector<FreeError> code = ErrorsFrom(r, 0x5110);
  ASSERT_EQ(code.size(), 1u);
  EXPECT_EQ(code[0].kind, kInvalidFree);
}

TEST(FreeCheckerTest, AMisalignedPointerIsInvalid) {
  Recorder& r = Shared();
  HeapBlock block;
  // Not 8-aligned: no allocator returns it. 8- but not 16-aligned: glibc never does.
  EXPECT_FALSE(r.OnFree(static_cast<char*>(block.p) + 4, kAllocMalloc, 0x6100));
  EXPECT_FALSE(r.OnFree(static_cast<char*>(block.p) + 8, kAllocMalloc, 0x6110));
  for (uintptr_t caller : {uintptr_t{0x6100}, uintptr_t{0x6110}}) {
    const std::vector<FreeError> found = ErrorsFrom(r, caller);
    ASSERT_EQ(found.size(), 1u) << caller;
    EXPECT_EQ(found[0].kind, kInvalidFree);
  }
}

TEST(FreeCheckerTest, ABlockFreedByAnotherFamilyIsMismatched) {
  Recorder& r = Shared();
  HeapBlock block;
  r.OnAllocate(block.p, 64, kAllocNewArray, 0x7100);
  EXPECT_TRUE(r.OnFree(block.p, kAllocNew, 0x7110)) << "the block is still forgotten";
  const std::vector<FreeError> found = ErrorsFrom(r, 0x7110);
  ASSERT_EQ(found.size(), 1u);
  const FreeError& e = found[0];
  EXPECT_EQ(e.kind, kMismatchedFree);
  EXPECT_STREQ(FreeErrorName(e.kind), "mismatched_free");
  EXPECT_EQ(e.allocated_by, kAllocNewArray);
  EXPECT_EQ(e.freed_by, kAllocNew);
  EXPECT_STREQ(AllocatedByName(e.allocated_by), "operator new []");
  EXPECT_STREQ(FreedByName(e.freed_by), "operator delete");
  EXPECT_TRUE(e.has_other);
  EXPECT_EQ(FirstFrame(r, e.other_stack), 0x7100u) << "the other stack is the allocation's";
  EXPECT_EQ(e.address, block.address());

  // malloc'd and deleted; new'd and freed.
  r.OnAllocate(block.p, 64, kAllocMalloc, 0x7200);
  EXPECT_TRUE(r.OnFree(block.p, kAllocNew, 0x7210));
  r.OnAllocate(block.p, 64, kAllocNew, 0x7300);
  EXPECT_TRUE(r.OnFree(block.p, kAllocMalloc, 0x7310));
  ASSERT_EQ(ErrorsFrom(r, 0x7210).size(), 1u);
  EXPECT_EQ(ErrorsFrom(r, 0x7210)[0].allocated_by, kAllocMalloc);
  EXPECT_STREQ(FreedByName(kAllocMalloc), "free");
  ASSERT_EQ(ErrorsFrom(r, 0x7310).size(), 1u);
  EXPECT_EQ(ErrorsFrom(r, 0x7310)[0].allocated_by, kAllocNew);
}

TEST(FreeCheckerTest, TheRightFamilyAndMappedBlocksAreNoMismatch) {
  Recorder& r = Shared();
  HeapBlock block;
  const uint64_t errors_before = FreeErrorCount();
  const AllocKind pairs[][2] = {{kAllocMalloc, kAllocMalloc},
                                {kAllocNew, kAllocNew},
                                {kAllocNewArray, kAllocNewArray},
                                {kAllocMapped, kAllocMalloc}};
  for (const auto& pair : pairs) {
    r.OnAllocate(block.p, 64, pair[0], 0x8100);
    EXPECT_TRUE(r.OnFree(block.p, pair[1], 0x8110));
  }
  EXPECT_EQ(FreeErrorCount(), errors_before);
}

// --- other options, each in a fresh process ---------------------------------------------

// Runs `body` against a new recorder started with `options`; exits with its result.
template <typename Body>
[[noreturn]] void InFreshRecorder(const char* options, Body body) {
  auto* r = new Recorder();
  {
    RecursionGuard guard;
    if (!r->Init(options)) _exit(100);
  }
  _exit(body(*r));
}

// Frees of a stack address, a global and a double free: how many errors they made.
int FreeBadPointers(Recorder& r) {
  volatile uint64_t on_stack = 0;
  HeapBlock block;
  r.OnFree(const_cast<uint64_t*>(&on_stack), kAllocMalloc, 0x9100);
  r.OnFree(&g_global_word[1], kAllocMalloc, 0x9110);
  r.OnAllocate(block.p, 64, kAllocNewArray, 0x9120);
  r.OnFree(block.p, kAllocMalloc, 0x9130);
  r.OnFree(block.p, kAllocMalloc, 0x9140);
  return static_cast<int>(FreeErrorCount());
}

TEST(FreeCheckerDeathTest, TheSameFreesMakeFourErrorsByDefault) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(InFreshRecorder("depth=1", FreeBadPointers), testing::ExitedWithCode(4), "");
}

TEST(FreeCheckerDeathTest, CheckFreesOffRecordsNothing) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(InFreshRecorder("depth=1:check_frees=0", FreeBadPointers), testing::ExitedWithCode(0), "");
}

TEST(FreeCheckerDeathTest, SampledModeChecksOnlyTheFamily) {
  // Sampled mode does not see most blocks, so it cannot tell a double or invalid free
  // from one it never saw allocated; the mismatch of a block it did see still counts.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(InFreshRecorder("depth=1:mode=sampled", FreeBadPointers), testing::ExitedWithCode(1), "");
}

int g_handler_calls = 0;
void CountingHandler(Recorder&) { ++g_handler_calls; }

TEST(FreeCheckerDeathTest, ErrorsTheAllocatorMayAbortOnCallTheHandlerAtMostEightTimes) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(InFreshRecorder("depth=1",
                              [](Recorder& r) {
                                SetFreeErrorHandler(CountingHandler);
                                HeapBlock block;
                                // A mismatch: glibc does not abort on it, no handler.
                                r.OnAllocate(block.p, 64, kAllocNew, 0xa100);
                                r.OnFree(block.p, kAllocMalloc, 0xa110);
                                if (g_handler_calls != 0) return 50;
                                // Twelve invalid frees: a snapshot for the first eight.
                                for (uintptr_t i = 0; i < 12; ++i) {
                                  r.OnFree(&g_global_word[2], kAllocMalloc, 0xa200 + 16 * i);
                                }
                                return g_handler_calls;
                              }),
              testing::ExitedWithCode(8), "");
}

void AnnouncingHandler(Recorder&) {
  static const char kMessage[] = "handler ran before the abort\n";
  (void)!write(2, kMessage, sizeof(kMessage) - 1);
}

TEST(FreeCheckerDeathTest, HaltOnErrorRunsTheHandlerThenAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(InFreshRecorder("depth=1:halt_on_error=1",
                               [](Recorder& r) {
                                 SetFreeErrorHandler(AnnouncingHandler);
                                 r.OnFree(&g_global_word[3], kAllocMalloc, 0xb100);
                                 return 0;  // not reached
                               }),
               "handler ran before the abort");
}

}  // namespace
}  // namespace heapwarden::internal
