// peak_benchmark.cc: what peak attribution costs. The allocation path pays one relaxed
// load and a compare (BM_PeakCheck); a capture copies every site's live counters
// (BM_PeakCapture, by number of sites); and over a growth from nothing to 1 GiB in
// 4 KiB steps the captures add up to the per-allocation cost of BM_GrowthTo1GiB
// (compare its two variants: with and without the tracker).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>

#include "record/track/module_table.h"
#include "record/track/peak_tracker.h"
#include "record/track/site_table.h"

namespace heapwarden::internal {
namespace {

struct Tables {
  ModuleTable modules;
  SiteTable sites;
  PeakTracker peak;
  explicit Tables(int site_count) {
    modules.Init();
    sites.Init(&modules);
    peak.Init();
    for (int i = 1; i <= site_count; ++i) {
      uintptr_t pc = 0x10000 + static_cast<uintptr_t>(i) * 16;
      sites.site(sites.Intern(&pc, 1, 0, kSourceHeap)).shared.live_bytes.store(static_cast<uint64_t>(i));
    }
  }
};

void BM_PeakCheck(benchmark::State& state) {
  static Tables* tables = new Tables(16);
  tables->peak.TryCapture(uint64_t{1} << 40, tables->sites);  // threshold far above
  uint64_t live = 1000;
  for (auto _ : state) {
    benchmark::DoNotOptimize(tables->peak.ShouldCapture(++live));
  }
}
BENCHMARK(BM_PeakCheck);

void BM_PeakCapture(benchmark::State& state) {
  auto tables = std::make_unique<Tables>(static_cast<int>(state.range(0)));
  uint64_t live = 1;
  for (auto _ : state) {
    live = live * 2 + 1000;  // always above the threshold: a full capture each time
    if (live > (uint64_t{1} << 60)) live = 1;
    tables->peak.ForceNextCapture();
    tables->peak.TryCapture(live, tables->sites);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_PeakCapture)->Arg(1000)->Arg(10000)->Arg(100000);

// Growth from 0 to 1 GiB in 4 KiB allocations over 10,000 sites: every allocation is
// a new peak. Reported per allocation.
void BM_GrowthTo1GiB(benchmark::State& state) {
  const bool track = state.range(0) != 0;
  auto tables = std::make_unique<Tables>(10000);
  uint64_t captures = 0;
  for (auto _ : state) {
    state.PauseTiming();
    tables->peak.ForceNextCapture();
    const uint64_t before = tables->peak.captures();
    state.ResumeTiming();
    uint64_t live = 0;
    for (int i = 0; i < (1 << 18); ++i) {
      live += 4096;
      if (track && tables->peak.ShouldCapture(live)) tables->peak.TryCapture(live, tables->sites);
      benchmark::DoNotOptimize(live);
    }
    captures += tables->peak.captures() - before;
  }
  state.SetItemsProcessed(state.iterations() * (1 << 18));
  state.counters["captures_per_growth"] =
      static_cast<double>(captures) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_GrowthTo1GiB)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace heapwarden::internal
BENCHMARK_MAIN();
