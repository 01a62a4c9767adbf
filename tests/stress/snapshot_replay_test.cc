// snapshot_replay_test.cc: threads allocate and free across threads while snapshots are
// taken (tests/stress/programs/snapshot_replay.c); at every snapshot, each site's live
// blocks and bytes must equal the program's own count of what it holds -- whatever
// the recorder defers or batches per thread is applied before a report is read. In
// sampled mode (the suite's StressInSampledMode run) the figures are estimates: the
// snapshots must still be valid and the program unchanged.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "report_helpers.h"

namespace heapwarden::testutil {
namespace {

constexpr int kRounds = 12;

struct Figures {
  int64_t blocks = 0;
  int64_t bytes = 0;
};

std::map<std::string, Figures> ReadExpected(const std::string& path) {
  std::map<std::string, Figures> out;
  std::ifstream in(path);
  std::string name;
  Figures f;
  while (in >> name >> f.blocks >> f.bytes) out[name] = f;
  return out;
}

// Live figures per site function: the sites with it among their first two frames.
std::map<std::string, Figures> LiveBySite(const nlohmann::json& report) {
  std::map<std::string, Figures> out;
  for (const auto& site : report["sites"]) {
    const nlohmann::json* stack = FindStack(report, site.value("stack", int64_t{-1}));
    if (stack == nullptr) continue;
    for (const char* name : {"SiteSmall", "SiteMedium", "SiteLarge"}) {
      if (FindFrame(*stack, name, 2) == nullptr) continue;
      out[name].blocks += site.value("live_blocks", int64_t{0});
      out[name].bytes += site.value("live_bytes", int64_t{0});
    }
  }
  return out;
}

TEST(SnapshotReplay, EverySnapshotHoldsExactlyWhatTheProgramHolds) {
  TempDir dir;
  Command command{.argv = {std::string(HW_STRESS_PROGRAMS_DIR) + "/stress_snapshot_replay", dir.path(),
                           std::to_string(kRounds)},
                  .timeout_s = 50};
  CommandResult tracked = RunCommand(UnderHeapwarden(command, dir.File("final.json")));
  ASSERT_FALSE(tracked.timed_out) << "hangs under heapwarden: " << tracked.Describe();
  ASSERT_EQ(tracked.exit_status, 0) << tracked.Describe();
  EXPECT_EQ(tracked.out, "rounds " + std::to_string(kRounds) + "\n");
  EXPECT_NE(tracked.err.find("snapshots written: " + std::to_string(kRounds)), std::string::npos)
      << tracked.err;

  int compared = 0;
  bool sampled = false;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::string raw = dir.File("snap." + std::to_string(round) + ".json");
    const std::string symbolized = dir.File("sym." + std::to_string(round) + ".json");
    CommandResult sym = RunCommand({.argv = {HeapwardenPath(), "symbolize", raw, "-o", symbolized}});
    ASSERT_EQ(sym.exit_status, 0) << sym.Describe();
    std::string error;
    auto report = LoadReport(symbolized, &error);
    ASSERT_TRUE(report) << error;
    const auto expected = ReadExpected(dir.File("expected." + std::to_string(round)));
    ASSERT_EQ(expected.size(), 3u);
    if ((*report)["process"].value("mode", "") == "sampled") {
      sampled = true;  // estimates: valid, not exact
      continue;
    }
    const auto live = LiveBySite(*report);
    for (const auto& [name, want] : expected) {
      const Figures got = live.count(name) ? live.at(name) : Figures{};
      EXPECT_EQ(got.blocks, want.blocks) << name;
      EXPECT_EQ(got.bytes, want.bytes) << name;
    }
    ++compared;
  }
  if (!sampled) EXPECT_EQ(compared, kRounds);
}

}  // namespace
}  // namespace heapwarden::testutil
