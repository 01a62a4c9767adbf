// peak_benchmark.cc: what the exact peak costs. The allocation and free paths pay the
// dirty-site test (BM_MarkDirty: a load and a compare when the site is already
// listed); a capture copies the sites changed since the last one (BM_CaptureDirty, by
// number of changed sites); and growing churn -- allocate two, free one, so every
// free follows a new maximum and captures -- costs BM_GrowingChurn per step (compare
// its two variants: with and without the tracker).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "record/track/module_table.h"
#include "record/track/peak_tracker.h"
#include "record/track/site_table.h"

namespace heapwarden::internal {
namespace {

struct Tables {
  ModuleTable modules;
  SiteTable sites;
  PeakTracker peak;
  std::vector<uint32_t> ids;
  explicit Tables(int site_count) {
    modules.Init();
    sites.Init(&modules);
    peak.Init(&sites);
    for (int i = 1; i <= site_count; ++i) {
      uintptr_t pc = 0x10000 + static_cast<uintptr_t>(i) * 16;
      ids.push_back(sites.Intern(&pc, 1, 0, kSourceHeap));
      sites.site(ids.back()).shared.live_bytes.store(static_cast<uint64_t>(i));
    }
  }
};

void BM_MarkDirty(benchmark::State& state) {
  static Tables* tables = new Tables(16);
  Site& site = tables->sites.site(tables->ids[0]);
  tables->peak.MarkDirty(site, tables->ids[0]);
  for (auto _ : state) {
    tables->peak.MarkDirty(site, tables->ids[0]);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_MarkDirty);

void BM_CaptureDirty(benchmark::State& state) {
  auto tables = std::make_unique<Tables>(100000);
  const int changed = static_cast<int>(state.range(0));
  uint64_t live = 0;
  for (auto _ : state) {
    for (int i = 0; i < changed; ++i) tables->peak.MarkDirty(tables->sites.site(tables->ids[i]), tables->ids[i]);
    ++live;
    tables->peak.NoteMaximum(live, live);
    tables->peak.CaptureIfPending();
  }
  state.SetItemsProcessed(state.iterations() * changed);
}
BENCHMARK(BM_CaptureDirty)->Arg(1)->Arg(100)->Arg(10000);

// 2^18 steps of allocate-two-free-one on one site of 10,000: every free captures.
void BM_GrowingChurn(benchmark::State& state) {
  const bool track = state.range(0) != 0;
  auto tables = std::make_unique<Tables>(10000);
  const uint32_t id = tables->ids[5000];
  Site& site = tables->sites.site(id);
  uint64_t live = 0;
  for (auto _ : state) {
    for (int i = 0; i < (1 << 18); ++i) {
      for (int k = 0; k < 2; ++k) {
        site.shared.live_bytes.fetch_add(64, std::memory_order_relaxed);
        live += 64;
        if (track) {
          tables->peak.MarkDirty(site, id);
          tables->peak.NoteMaximum(live, live);
        }
      }
      if (track) tables->peak.CaptureIfPending();
      site.shared.live_bytes.fetch_sub(64, std::memory_order_relaxed);
      live -= 64;
      if (track) tables->peak.MarkDirty(site, id);
    }
  }
  state.SetItemsProcessed(state.iterations() * (1 << 18));
}
BENCHMARK(BM_GrowingChurn)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace heapwarden::internal

BENCHMARK_MAIN();
