// leak_classification_test.cc: the exit-time classification against ground truth,
// field by field. tests/programs/leak_shapes.c leaks (or keeps) blocks of distinctive
// sizes from named functions in one mode per run; clean_cpp.cc uses iostreams,
// exceptions and threads and leaks nothing.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "leak_test_helpers.h"

namespace heapwarden::testutil {
namespace {

// Exactly one group with `function` and `kind`, with these blocks and bytes.
void ExpectGroup(const nlohmann::json& report, const std::string& function, const std::string& kind,
                 int64_t blocks, int64_t bytes) {
  auto groups = Groups(report, function, kind);
  ASSERT_EQ(groups.size(), 1u) << kind << " groups of " << function << ":\n" << DescribeLeaks(report);
  EXPECT_EQ(groups[0]->value("blocks", int64_t{-1}), blocks) << DescribeLeaks(report);
  EXPECT_EQ(groups[0]->value("bytes", int64_t{-1}), bytes) << DescribeLeaks(report);
  EXPECT_FALSE(groups[0]->value("suppressed", true));
  EXPECT_TRUE(groups[0]->contains("stack") && groups[0]->contains("tag"));
}

void ExpectNoLeaks(const nlohmann::json& report) {
  EXPECT_EQ(UnsuppressedBytes(report, "direct"), 0) << DescribeLeaks(report);
  EXPECT_EQ(UnsuppressedBytes(report, "indirect"), 0) << DescribeLeaks(report);
  EXPECT_EQ(UnsuppressedBytes(report, "unclassified"), 0) << DescribeLeaks(report);
}

// A run that worked: the program's own status, a complete report with a scan.
bool Usable(const LeakRun& run) {
  EXPECT_EQ(run.result.exit_status, 0) << run.result.Describe();
  EXPECT_TRUE(run.error.empty()) << run.error << "\n" << run.result.Describe();
  if (!run.error.empty()) return false;
  EXPECT_TRUE(run.report["process"].value("complete", false));
  EXPECT_TRUE(run.report["heapwarden"].contains("leak_scan"));
  return true;
}

TEST(LeakClassification, LinkedListHeadIsDirectAndNodesIndirect) {
  const LeakRun& run = LeakShapes("list");
  if (!Usable(run)) return;
  ExpectGroup(run.report, "list_head", "direct", 1, 136);
  ExpectGroup(run.report, "list_node", "indirect", 5, 5 * 72);
  EXPECT_EQ(UnsuppressedBytes(run.report, "direct"), 136) << DescribeLeaks(run.report);
  EXPECT_EQ(UnsuppressedBytes(run.report, "indirect"), 360) << DescribeLeaks(run.report);
  // The frame in list_head names the malloc's line.
  const auto* stack = FindStack(run.report, (*Groups(run.report, "list_head", "direct")[0])["stack"]);
  ASSERT_NE(stack, nullptr);
  const auto* frame = FindFrame(*stack, "list_head");
  ASSERT_NE(frame, nullptr);
  EXPECT_NE(frame->value("file", "").find("leak_shapes.c"), std::string::npos) << frame->dump();
}

TEST(LeakClassification, BlocksHeldByAGlobalAreReachable) {
  const LeakRun& run = LeakShapes("global");
  if (!Usable(run)) return;
  ExpectGroup(run.report, "keep_global", "reachable", 1, 2222);
  ExpectGroup(run.report, "keep_global_child", "reachable", 1, 333);
  ExpectNoLeaks(run.report);
}

TEST(LeakClassification, ACycleWithNoWayInIsOneDirectAndOneIndirect) {
  const LeakRun& run = LeakShapes("cycle");
  if (!Usable(run)) return;
  ExpectGroup(run.report, "cycle_node", "direct", 1, 88);
  ExpectGroup(run.report, "cycle_node", "indirect", 1, 88);
}

TEST(LeakClassification, SecondThreadLeakIsDirectAndARunningThreadsStackIsARoot) {
  const LeakRun& run = LeakShapes("thread");
  if (!Usable(run)) return;
  ExpectGroup(run.report, "leak_in_thread", "direct", 1, 3003);
  // Held in a local of a thread still blocked in read() when the process exits.
  ExpectGroup(run.report, "held_by_thread", "reachable", 1, 4004);
  const auto& scan = run.report["heapwarden"]["leak_scan"];
  EXPECT_GE(scan.value("threads", 0), 1) << scan.dump();
  EXPECT_EQ(scan.value("threads_not_stopped", -1), 0) << scan.dump();
}

TEST(LeakClassification, PluginLeakAfterDlcloseIsDirect) {
  const LeakRun& run = LeakShapes("plugin");
  if (!Usable(run)) return;
  ExpectGroup(run.report, "plugin_leak_inner", "direct", 1, 7001);
  auto groups = Groups(run.report, "plugin_leak_inner", "direct");
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(LeaksInModule(run.report, "libhw_test_plugin.so").size(), 1u);
}

TEST(LeakClassification, LeaksThroughStrdupAsprintfGetlineAreDirect) {
  const LeakRun& run = LeakShapes("libc");
  if (!Usable(run)) return;
  ExpectGroup(run.report, "leak_strdup", "direct", 1, 30);
  ExpectGroup(run.report, "leak_getline", "direct", 1, 120);
  auto asprintf_groups = Groups(run.report, "leak_asprintf", "direct");
  ASSERT_EQ(asprintf_groups.size(), 1u) << DescribeLeaks(run.report);
  EXPECT_EQ((*asprintf_groups[0])["blocks"], 1);
  // "asprintf leaks 42 bytes here": 28 characters and the NUL.
  EXPECT_EQ((*asprintf_groups[0])["bytes"], 29);
  EXPECT_EQ(UnsuppressedBytes(run.report, "indirect"), 0) << DescribeLeaks(run.report);
}

TEST(LeakClassification, CleanProgramHasNoLeaks) {
  const LeakRun& run = LeakShapes("clean");
  if (!Usable(run)) return;
  ExpectNoLeaks(run.report);
}

// glibc's backtrace() dlopens libgcc_s; the dynamic loader's 56-byte dependency list
// (from _dl_map_object_deps) was a false direct leak in every program that called it,
// numpy among them. Blocks ld.so allocates are glibc's, as LeakSanitizer holds.
TEST(LeakClassification, BacktraceLeavesNoLeak) {
  const LeakRun& run = LeakShapes("backtrace");
  if (!Usable(run)) return;
  ExpectNoLeaks(run.report);
}

TEST(LeakClassification, ForkedChildsLeakIsInTheChildsReportOnly) {
  TempDir dir;
  LeakRun run = RunUnderHeapwarden(dir, "fork", {HW_PROGRAM_leak_shapes, "fork"}, {"--follow-fork"});
  if (!Usable(run)) return;
  EXPECT_TRUE(Groups(run.report, "child_only_leak").empty()) << DescribeLeaks(run.report);
  ExpectNoLeaks(run.report);
  // The child's report: fork.<child pid>.json next to the parent's.
  std::string child_path;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    std::string name = entry.path().filename();
    if (name.starts_with("fork.") && name != "fork.json") child_path = entry.path();
  }
  ASSERT_FALSE(child_path.empty()) << run.result.Describe();
  std::string error;
  auto child = LoadReport(child_path, &error);
  ASSERT_TRUE(child.has_value()) << error;
  ExpectGroup(*child, "child_only_leak", "direct", 1, 5005);
  EXPECT_NE((*child)["process"].value("pid", 0), run.report["process"].value("pid", 0));
}

TEST(LeakClassification, CppRuntimeNoiseIsNoLeak) {
  TempDir dir;
  LeakRun run = RunUnderHeapwarden(dir, "clean_cpp", {HW_PROGRAM_clean_cpp});
  if (!Usable(run)) return;
  ExpectNoLeaks(run.report);
  // The program's kept registry is there, as reachable.
  int64_t reachable = 0;
  for (const auto& leak : run.report["leaks"]) {
    if (leak["kind"] == "reachable") reachable += leak.value("bytes", int64_t{0});
  }
  EXPECT_GT(reachable, 0);
}

TEST(LeakClassification, SnapshotsCarryNoLeakClassification) {
  // A snapshot is written while the program runs: its leaks array stays empty.
  TempDir dir;
  std::string path = dir.File("snap.json");
  Command command = UnderPreload(Command{.argv = {HW_PROGRAM_free_errors, "double_free"}},
                                 "output=" + path + ":symbolize=0");
  CommandResult result = RunCommand(command);
  EXPECT_NE(result.exit_status, 0);  // glibc aborts on the double free
  std::string error;
  auto report = LoadReport(path, &error);
  ASSERT_TRUE(report.has_value()) << error << "\n" << result.Describe();
  EXPECT_FALSE((*report)["process"].value("complete", true));
  EXPECT_TRUE((*report)["leaks"].empty());
}

}  // namespace
}  // namespace heapwarden::testutil
