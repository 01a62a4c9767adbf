// mapped_test.cc: memory the program maps itself is tracked by call site as "mapped"
// (tests/memory/programs/map_regions.c), kept out of the heap's live bytes and the
// leaks; CPython's pymalloc arenas show up that way, and the summary says what to do
// about them.

#include <gtest/gtest.h>

#include <string>

#include "report_helpers.h"
#include "trim_test_helpers.h"

namespace heapwarden::testutil {
namespace {

constexpr int64_t kMiB = 1 << 20;

class MapRegions : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    run_ = new CommandResult(RunCommand(
        UnderHeapwarden(Command{.argv = {HW_PROGRAM_map_regions}}, dir_->File("map.json"))));
    std::string error;
    auto report = LoadReport(dir_->File("map.json"), &error);
    if (report) report_ = new nlohmann::json(std::move(*report));
  }
  static void TearDownTestSuite() {
    delete report_;
    delete run_;
    delete dir_;
  }
  void SetUp() override {
    ASSERT_EQ(run_->exit_status, 0) << run_->Describe();
    ASSERT_EQ(run_->out, "map_regions: ok\n");
    ASSERT_NE(report_, nullptr);
  }
  static const nlohmann::json &report() { return *report_; }

  static TempDir *dir_;
  static CommandResult *run_;
  static nlohmann::json *report_;
};

TempDir *MapRegions::dir_ = nullptr;
CommandResult *MapRegions::run_ = nullptr;
nlohmann::json *MapRegions::report_ = nullptr;

TEST_F(MapRegions, SixtyFourMiBMapAppearsUnderItsFunction) {
  auto sites = SitesWithFunction(report(), "mapped", "map_sixty_four_mib", 1);
  ASSERT_EQ(sites.size(), 1u);
  EXPECT_EQ((*sites[0])["live_bytes"], 64 * kMiB);
  EXPECT_EQ((*sites[0])["live_blocks"], 1);
  EXPECT_EQ((*sites[0])["allocations"], 1);
}

TEST_F(MapRegions, MallocsOwnMappingIsHeapNotMapped) {
  // glibc maps a 64 MiB malloc itself, through no PLT: not seen as mapped.
  EXPECT_TRUE(SitesWithFunction(report(), "mapped", "malloc_sixty_four_mib").empty());
  auto heap = SitesWithFunction(report(), "heap", "malloc_sixty_four_mib", 1);
  ASSERT_EQ(heap.size(), 1u);
  EXPECT_EQ((*heap[0])["live_bytes"], 64 * kMiB);
}

TEST_F(MapRegions, PartialUnmapsAndRemapAreAccounted) {
  auto sites = SitesWithFunction(report(), "mapped", "map_then_cut", 1);
  ASSERT_EQ(sites.size(), 1u);
  // 16 MiB mapped, 8 MiB unmapped in two cuts, the rest grown to 24 MiB.
  EXPECT_EQ((*sites[0])["live_bytes"], 24 * kMiB);
  EXPECT_EQ((*sites[0])["live_blocks"], 1);
  EXPECT_EQ((*sites[0])["allocations"], 1);
  EXPECT_EQ((*sites[0])["bytes_allocated"], 32 * kMiB);
  EXPECT_EQ((*sites[0])["peak_live_bytes"], 24 * kMiB);
}

TEST_F(MapRegions, UnmappedRegionIsNotLive) {
  auto sites = SitesWithFunction(report(), "mapped", "map_and_release", 1);
  ASSERT_EQ(sites.size(), 1u);
  EXPECT_EQ((*sites[0])["live_bytes"], 0);
  EXPECT_EQ((*sites[0])["live_blocks"], 0);
  EXPECT_EQ((*sites[0])["bytes_allocated"], 8 * kMiB);
}

TEST_F(MapRegions, FileMapsAndReservationsAreNotTracked) {
  EXPECT_TRUE(SitesWithFunction(report(), "mapped", "map_file_and_reserve").empty());
}

TEST_F(MapRegions, MappedMemoryIsNotHeapAndNeverALeak) {
  const auto &totals = report()["totals"];
  EXPECT_EQ(totals["mapped_bytes"], 88 * kMiB);
  EXPECT_GE(totals["mapped_resident_bytes"].get<int64_t>(), 80 * kMiB);
  // Heap live bytes hold the 64 MiB malloc, not the 88 MiB mapped.
  EXPECT_GE(totals["live_bytes"].get<int64_t>(), 64 * kMiB);
  EXPECT_LT(totals["live_bytes"].get<int64_t>(), 80 * kMiB);
  EXPECT_LT(totals["peak_live_bytes"].get<int64_t>(), 140 * kMiB);
  EXPECT_TRUE(LeaksWithFunction(report(), "map_sixty_four_mib").empty());
  EXPECT_TRUE(LeaksWithFunction(report(), "map_then_cut").empty());
  EXPECT_FALSE(LeaksWithFunction(report(), "malloc_sixty_four_mib").empty());
}

// Keeps 300,000 small objects (pymalloc) and a few big buffers (malloc) alive.
const char kPythonScript[] = R"py(
kept = [("row-%d" % i, i, float(i)) for i in range(300000)]
buffers = [bytearray(1 << 20) for _ in range(4)]
print(len(kept), sum(len(b) for b in buffers))
)py";

TEST(PythonMapped, PymallocArenasAreMappedByCallSite) {
  std::string python = DebianPython();
  if (python.empty()) GTEST_SKIP() << "/usr/bin/python3 with pandas not installed";
  TempDir dir;
  const std::string report_path = dir.File("py.json");
  CommandResult run = RunCommand(
      UnderHeapwarden(Command{.argv = {python, "-c", kPythonScript}}, report_path));
  ASSERT_EQ(run.exit_status, 0) << run.Describe();
  std::string error;
  auto report = LoadReport(report_path, &error);
  ASSERT_TRUE(report) << error;
  // The arenas: mapped sites whose innermost frame is in the interpreter. By the
  // final report the interpreter has freed its objects: their peaks tell.
  int64_t arena_bytes = 0;
  for (const auto &site : (*report)["sites"]) {
    if (site["source"] != "mapped") continue;
    const auto *stack = FindStack(*report, site["stack"]);
    ASSERT_NE(stack, nullptr);
    const auto &frames = (*stack)["frames"];
    ASSERT_FALSE(frames.empty());
    if (frames[0].value("module", std::string()).find("python3") != std::string::npos) {
      arena_bytes += site["peak_live_bytes"].get<int64_t>();
    }
  }
  EXPECT_GE(arena_bytes, 16 * kMiB) << "pymalloc arenas should hold the 300,000 tuples";
  EXPECT_GE((*report)["totals"]["peak_mapped_bytes"].get<int64_t>(), 16 * kMiB);
  // The summary names them and suggests the flag.
  EXPECT_NE(run.err.find("pymalloc"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("--python-malloc"), std::string::npos) << run.err;
}

TEST(PythonMapped, WithPythonMallocEveryObjectIsHeap) {
  std::string python = DebianPython();
  if (python.empty()) GTEST_SKIP() << "/usr/bin/python3 with pandas not installed";
  TempDir dir;
  const std::string report_path = dir.File("pym.json");
  CommandResult run = RunCommand(UnderHeapwarden(Command{.argv = {python, "-c", kPythonScript}},
                                                 report_path, {"--python-malloc"}));
  ASSERT_EQ(run.exit_status, 0) << run.Describe();
  std::string error;
  auto report = LoadReport(report_path, &error);
  ASSERT_TRUE(report) << error;
  EXPECT_LT((*report)["totals"]["peak_mapped_bytes"].get<int64_t>(), 4 * kMiB);
  // 300,000 tuples, strings and floats were heap blocks.
  EXPECT_GT((*report)["totals"]["allocations"].get<int64_t>(), 900000);
  EXPECT_EQ(run.err.find("pymalloc "), std::string::npos) << run.err;
}

}  // namespace
}  // namespace heapwarden::testutil
