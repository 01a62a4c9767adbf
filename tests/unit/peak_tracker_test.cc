// peak_tracker_test.cc: the peak is exact -- the state at the first free after a
// maximum, or the state now when no free has come since -- only changed sites are
// copied, and readers see whole values while captures land.
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
  uint64_t max = 0;
  Fixture() {
    modules.Init();
    sites.Init(&modules);
    peak.Init(&sites);
  }
  uint32_t Site(uintptr_t pc) { return sites.Intern(&pc, 1, 0, kSourceHeap); }
  // What Recorder::OnAllocate and OnFree do for the counters the tracker reads.
  void Allocate(uint32_t id, uint64_t bytes) {
    sites.site(id).shared.live_blocks.fetch_add(1);
    sites.site(id).shared.live_bytes.fetch_add(bytes);
    peak.MarkDirty(sites.site(id), id);
    live += bytes;
    if (live > max) {
      max = live;
      peak.NoteMaximum(live, live);  // the "time" is the live figure: easy to check
    }
  }
  void Free(uint32_t id, uint64_t bytes) {
    peak.CaptureIfPending();
    sites.site(id).shared.live_blocks.fetch_sub(1);
    sites.site(id).shared.live_bytes.fetch_sub(bytes);
    peak.MarkDirty(sites.site(id), id);
    live -= bytes;
  }
  std::vector<PeakTracker::Entry> Read(PeakTracker::Capture* capture) {
    std::vector<PeakTracker::Entry> entries(sites.site_count());
    EXPECT_TRUE(peak.Read(entries.data(), sites.site_count(), capture));
    return entries;
  }
};

// The case: 1024 blocks of 64 KiB from one site showed 1022 at the peak when
// captures waited for 1/128 of growth.
TEST(PeakTrackerTest, ThePeakIsExactlyWhatWasLive) {
  auto f = std::make_unique<Fixture>();
  uint32_t big = f->Site(0x1000), small = f->Site(0x2000);
  f->Allocate(small, 100);
  f->Free(small, 100);
  for (int i = 0; i < 1024; ++i) f->Allocate(big, 65536);
  for (int i = 0; i < 1024; ++i) f->Free(big, 65536);
  for (int i = 0; i < 200; ++i) f->Allocate(small, 65536);  // lower than the peak

  PeakTracker::Capture capture;
  auto entries = f->Read(&capture);
  EXPECT_EQ(capture.live_bytes, 1024u * 65536u);
  EXPECT_EQ(capture.time_ns, 1024u * 65536u);
  EXPECT_EQ(entries[big].live_blocks, 1024u);
  EXPECT_EQ(entries[big].live_bytes, 67108864u);
  EXPECT_EQ(entries[small].live_blocks, 0u);
  EXPECT_EQ(entries[small].live_bytes, 0u);
}

// No free since the maximum: a report reads the state as it is now.
TEST(PeakTrackerTest, AReportAtTheMaximumTakesTheStateNow) {
  auto f = std::make_unique<Fixture>();
  uint32_t site = f->Site(0x4000);
  for (int i = 0; i < 1000; ++i) f->Allocate(site, 1000);
  PeakTracker::Capture capture;
  auto entries = f->Read(&capture);
  EXPECT_EQ(capture.live_bytes, 1000000u);
  EXPECT_EQ(entries[site].live_blocks, 1000u);
  // Growing on after the report: the next report sees the new maximum.
  for (int i = 0; i < 10; ++i) f->Allocate(site, 1000);
  entries = f->Read(&capture);
  EXPECT_EQ(entries[site].live_blocks, 1010u);
}

// Growing churn (allocate two, free one) over many sites: every free captures, and
// copies only the site that changed; the sites untouched since keep their figures.
TEST(PeakTrackerTest, GrowingChurnCopiesOnlyTheSitesThatChanged) {
  auto f = std::make_unique<Fixture>();
  std::vector<uint32_t> ids;
  for (int i = 0; i < 5000; ++i) {
    ids.push_back(f->Site(0x10000 + static_cast<uintptr_t>(i) * 16));
    f->Allocate(ids.back(), 8);
  }
  uint32_t grower = f->Site(0x9000);
  const uint64_t before = f->peak.captures();
  for (int i = 0; i < 10000; ++i) {
    f->Allocate(grower, 32);
    f->Allocate(grower, 32);
    f->Free(grower, 32);
  }
  EXPECT_EQ(f->peak.captures() - before, 10000u);
  PeakTracker::Capture capture;
  auto entries = f->Read(&capture);
  EXPECT_EQ(capture.live_bytes, 5000u * 8 + 10001u * 32);
  EXPECT_EQ(entries[grower].live_blocks, 10001u);
  for (uint32_t id : ids) ASSERT_EQ(entries[id].live_blocks, 1u) << id;
}

TEST(PeakTrackerTest, NothingBeforeTheFirstAllocation) {
  auto f = std::make_unique<Fixture>();
  PeakTracker::Entry entry;
  PeakTracker::Capture capture;
  EXPECT_FALSE(f->peak.Read(&entry, 1, &capture));
}

// A reader never sees a torn value, and never blocks the allocating thread.
TEST(PeakTrackerTest, ConcurrentCapturesAndReadsStayWhole) {
  auto f = std::make_unique<Fixture>();
  uint32_t site = f->Site(0x3000);
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    std::vector<PeakTracker::Entry> entries(8);
    while (!done.load()) {
      PeakTracker::Capture capture;
      if (f->peak.Read(entries.data(), 8, &capture) &&
          (entries[site].live_bytes % 16 != 0 || capture.live_bytes % 16 != 0)) {
        bad.fetch_add(1);
      }
    }
  });
  for (int i = 0; i < 100000; ++i) {
    f->Allocate(site, 16);
    f->Allocate(site, 16);
    f->Free(site, 16);
  }
  done.store(true);
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  PeakTracker::Capture capture;
  auto entries = f->Read(&capture);
  EXPECT_EQ(entries[site].live_blocks, 100001u);
}

}  // namespace
}  // namespace heapwarden::internal
