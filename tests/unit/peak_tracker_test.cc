// peak_tracker_test.cc: the peak capture is within 1% of the true peak, copies site
// counters only on >1/128 growth, and readers see a consistent capture.
#include "record/track/peak_tracker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "record/track/module_table.h"
#include "record/track/site_table.h"

namespace heapwarden::internal {
namespace {

struct Fixture {
  ModuleTable modules;
  SiteTable sites;
  PeakTracker peak;
  uint64_t live = 0;
  Fixture() {
    modules.Init();
    sites.Init(&modules);
    peak.Init();
  }
  uint32_t Site(uintptr_t pc) { return sites.Intern(&pc, 1, 0, kSourceHeap); }
  // What Recorder::OnAllocate does for the counters the tracker reads.
  void Allocate(uint32_t id, uint64_t bytes) {
    sites.site(id).shared.live_blocks.fetch_add(1);
    sites.site(id).shared.live_bytes.fetch_add(bytes);
    live += bytes;
    if (peak.ShouldCapture(live)) peak.TryCapture(live, sites);
  }
  void Free(uint32_t id, uint64_t bytes) {
    sites.site(id).shared.live_blocks.fetch_sub(1);
    sites.site(id).shared.live_bytes.fetch_sub(bytes);
    live -= bytes;
  }
};

TEST(PeakTrackerTest, CaptureIsWithinOnePercentOfTheTruePeak) {
  auto f = std::make_unique<Fixture>();
  uint32_t big = f->Site(0x1000), small = f->Site(0x2000);
  uint64_t true_peak = 0;
  for (int i = 0; i < 1000; ++i) {
    f->Allocate(big, 65536);
    true_peak = std::max(true_peak, f->live);
  }
  for (int i = 0; i < 1000; ++i) f->Free(big, 65536);
  for (int i = 0; i < 200; ++i) f->Allocate(small, 65536);

  std::vector<PeakTracker::Entry> entries(f->sites.site_count());
  PeakTracker::Capture capture;
  ASSERT_TRUE(f->peak.Read(entries.data(), f->sites.site_count(), &capture));
  EXPECT_GE(static_cast<double>(capture.live_bytes), 0.99 * static_cast<double>(true_peak));
  EXPECT_LE(capture.live_bytes, true_peak);
  EXPECT_EQ(entries[big].live_bytes, capture.live_bytes);
  EXPECT_EQ(entries[small].live_bytes, 0u);
  // Hysteresis: fewer captures than new peaks, once live bytes dwarf one block.
  EXPECT_LT(f->peak.captures(), 1000u / 2);
}

TEST(PeakTrackerTest, CapturesGrowWithTheLogarithmOfThePeakNotTheAllocations) {
  auto f = std::make_unique<Fixture>();
  uint32_t site = f->Site(0x4000);
  for (int i = 0; i < 200000; ++i) f->Allocate(site, 1000);  // every one a new peak
  // ln(200000) / ln(1 + 1/128) is about 1570.
  EXPECT_LT(f->peak.captures(), 1700u);
  std::vector<PeakTracker::Entry> entries(f->sites.site_count());
  PeakTracker::Capture capture;
  ASSERT_TRUE(f->peak.Read(entries.data(), f->sites.site_count(), &capture));
  EXPECT_GE(static_cast<double>(capture.live_bytes), 0.99 * static_cast<double>(f->live));
}

TEST(PeakTrackerTest, NothingBeforeTheFirstAllocation) {
  auto f = std::make_unique<Fixture>();
  PeakTracker::Entry entry;
  PeakTracker::Capture capture;
  EXPECT_FALSE(f->peak.Read(&entry, 1, &capture));
}

TEST(PeakTrackerTest, ConcurrentCapturesAndReadsStayConsistent) {
  auto f = std::make_unique<Fixture>();
  uint32_t site = f->Site(0x3000);
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    std::vector<PeakTracker::Entry> entries(8);
    while (!done.load()) {
      PeakTracker::Capture capture;
      if (f->peak.Read(entries.data(), 8, &capture) && entries[site].live_bytes != capture.live_bytes) {
        bad.fetch_add(1);
      }
    }
  });
  for (int i = 0; i < 200000; ++i) f->Allocate(site, 16);
  done.store(true);
  reader.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace heapwarden::internal
