// recorder_benchmark.cc: each recorder piece on its own, linked directly (no preload):
// stack capture at several depths, site interning of a known stack, and the live
// table's insert+erase.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "record/track/live_table.h"
#include "record/track/module_table.h"
#include "record/track/site_table.h"
#include "record/track/stack_capture.h"
#include "record/base/thread_state.h"

namespace heapwarden::internal {
namespace {

__attribute__((noinline)) int CaptureAtDepth(int depth, uintptr_t* frames) {
  if (depth == 0) {
    return CaptureStack(frames, 64, reinterpret_cast<uintptr_t>(__builtin_return_address(0)));
  }
  int n = CaptureAtDepth(depth - 1, frames);
  benchmark::DoNotOptimize(n);
  return n;
}

void BM_CaptureStack(benchmark::State& state) {
  static bool loaded = [] {
    RecursionGuard guard;  // dlopen allocates
    return InitStackCapture();
  }();
  benchmark::DoNotOptimize(loaded);
  uintptr_t frames[kMaxFrames];
  for (auto _ : state) benchmark::DoNotOptimize(CaptureAtDepth(static_cast<int>(state.range(0)), frames));
}
BENCHMARK(BM_CaptureStack)->Arg(2)->Arg(8)->Arg(24);

SiteTable* Sites() {
  static ModuleTable* modules = [] {
    auto* m = new ModuleTable;
    m->Init();
    return m;
  }();
  static SiteTable* sites = [] {
    auto* s = new SiteTable;
    s->Init(modules);
    return s;
  }();
  return sites;
}

void BM_SiteInternExisting(benchmark::State& state) {
  std::vector<uintptr_t> frames(static_cast<size_t>(state.range(0)));
  for (size_t i = 0; i < frames.size(); ++i) {
    frames[i] = reinterpret_cast<uintptr_t>(&BM_SiteInternExisting) + i * 16;
  }
  SiteTable* sites = Sites();
  for (auto _ : state) {
    benchmark::DoNotOptimize(sites->Intern(frames.data(), static_cast<int>(frames.size()), 0, kSourceHeap));
  }
}
BENCHMARK(BM_SiteInternExisting)->Arg(4)->Arg(32);

void BM_LiveTableInsertErase(benchmark::State& state) {
  static LiveTable table;
  uintptr_t address = 0x100000;
  const uintptr_t live = static_cast<uintptr_t>(state.range(0));
  for (uintptr_t i = 0; i < live; ++i) table.Insert(LiveBlock{0x900000000 + i * 32, 32, 0, 1, 0});
  LiveBlock out;
  for (auto _ : state) {
    address += 48;
    table.Insert(LiveBlock{address, 48, 0, 1, 0});
    benchmark::DoNotOptimize(table.Erase(address, &out));
  }
  for (uintptr_t i = 0; i < live; ++i) table.Erase(0x900000000 + i * 32, &out);
}
BENCHMARK(BM_LiveTableInsertErase)->Arg(0)->Arg(1 << 20);

}  // namespace
}  // namespace heapwarden::internal

BENCHMARK_MAIN();
