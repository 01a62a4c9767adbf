// trim_test.cc: trim through each door on a heap that free() alone cannot shrink
// (tests/memory/programs/fragment_heap.c: 256 MiB of 1 KiB blocks, all but every 64th
// freed), measured against a plain malloc_trim(0) on the same program without
// heapwarden; trim=auto; and trimming while two threads allocate, under both backends.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "report_helpers.h"
#include "trim_test_helpers.h"

namespace heapwarden::testutil {
namespace {

constexpr int64_t kMiB = 1 << 20;

// What plain malloc_trim(0) gives back on the fragmented heap, without heapwarden.
int64_t PlainReleased() {
  static int64_t released = [] {
    CommandResult plain = RunCommand(Command{.argv = {HW_PROGRAM_fragment_heap, "plain"}});
    EXPECT_EQ(plain.exit_status, 0) << plain.Describe();
    auto values = KeyValues(plain.out);
    return IntValue(values, "status_before") - IntValue(values, "status_after");
  }();
  return released;
}

// |measured - expected| within 5% of expected.
void ExpectWithinFivePercent(int64_t measured, int64_t expected, const std::string &what) {
  EXPECT_LE(std::llabs(measured - expected), expected / 20)
      << what << ": report says " << measured << ", /proc says " << expected;
}

TEST(FragmentedHeap, PlainMallocTrimReleasesMostOfIt) {
  // The baseline itself: at least 150 of the 252 MiB freed come back.
  EXPECT_GT(PlainReleased(), 150 * kMiB);
}

TEST(FragmentedHeap, ApiTrimReleasesWhatMallocTrimDoes) {
  TempDir dir;
  const std::string report_path = dir.File("api.json");
  CommandResult run = RunCommand(
      UnderHeapwarden(Command{.argv = {HW_PROGRAM_fragment_heap, "api"}}, report_path));
  ASSERT_EQ(run.exit_status, 0) << run.Describe();
  auto values = KeyValues(run.out);
  ASSERT_EQ(IntValue(values, "api_ok"), 1) << run.out;
  const int64_t released = IntValue(values, "status_before") - IntValue(values, "status_after");
  EXPECT_GE(released, PlainReleased() * 9 / 10)
      << "heapwarden_trim() released " << released << ", malloc_trim(0) " << PlainReleased();

  std::string error;
  auto report = LoadReport(report_path, &error);
  ASSERT_TRUE(report) << error;
  auto trims = TrimsWithTrigger(*report, "api");
  ASSERT_EQ(trims.size(), 1u) << (*report)["trims"].dump();
  ExpectWithinFivePercent((*trims[0])["rss_before"], IntValue(values, "status_before"), "rss_before");
  ExpectWithinFivePercent((*trims[0])["rss_after"], IntValue(values, "status_after"), "rss_after");
  EXPECT_EQ((*trims[0])["released_bytes"].get<int64_t>(),
            (*trims[0])["rss_before"].get<int64_t>() - (*trims[0])["rss_after"].get<int64_t>());
  // What the API returned is what the report keeps.
  EXPECT_EQ((*trims[0])["rss_before"].get<int64_t>(), IntValue(values, "api_before"));
  EXPECT_EQ((*trims[0])["rss_after"].get<int64_t>(), IntValue(values, "api_after"));
}

TEST(FragmentedHeap, ControlTrimReleasesWhatMallocTrimDoes) {
  TempDir dir;
  const std::string report_path = dir.File("control.json");
  Background run(UnderHeapwarden(Command{.argv = {HW_PROGRAM_fragment_heap, "wait"}}, report_path));
  ASSERT_TRUE(run.WaitForLine("ready", 120)) << run.out() << run.err();
  const pid_t pid = static_cast<pid_t>(IntValue(KeyValues(run.out()), "pid"));
  ASSERT_GT(pid, 0) << run.out();

  const int64_t before = VmRssOf(pid);
  CommandResult trim = RunCommand(Command{.argv = {HeapwardenPath(), "trim", std::to_string(pid)}});
  const int64_t after = VmRssOf(pid);
  ASSERT_EQ(trim.exit_status, 0) << trim.Describe();
  EXPECT_NE(trim.out.find("released"), std::string::npos) << trim.out;
  EXPECT_GE(before - after, PlainReleased() * 9 / 10)
      << "heapwarden trim PID released " << before - after << ", malloc_trim(0) " << PlainReleased();

  run.WriteLine("go");
  ASSERT_EQ(run.Wait(120), 0) << run.out() << run.err();
  EXPECT_NE(run.out().find("survivors ok"), std::string::npos) << run.out();
  std::string error;
  auto report = LoadReport(report_path, &error);
  ASSERT_TRUE(report) << error;
  auto trims = TrimsWithTrigger(*report, "control");
  ASSERT_EQ(trims.size(), 1u) << (*report)["trims"].dump();
  ExpectWithinFivePercent((*trims[0])["rss_before"], before, "rss_before");
  ExpectWithinFivePercent((*trims[0])["rss_after"], after, "rss_after");
}

TEST(AutoTrim, TrimsOnceWhenRetainedStaysAboveTheThreshold) {
  TempDir dir;
  const std::string report_path = dir.File("auto.json");
  // 252 MiB freed and retained; threshold 64 MiB; the program waits for the trim, then
  // idles 3 s, three intervals: quiet, because retained memory stays low.
  CommandResult run = RunCommand(UnderHeapwarden(
      Command{.argv = {HW_PROGRAM_fragment_heap, "trimmed", "256", "3"}}, report_path,
      {"--trim", "auto", "--trim-retained-mb", "64", "--trim-interval-s", "1"}));
  ASSERT_EQ(run.exit_status, 0) << run.Describe();
  auto values = KeyValues(run.out);
  std::string error;
  auto report = LoadReport(report_path, &error);
  ASSERT_TRUE(report) << error;
  auto trims = TrimsWithTrigger(*report, "auto");
  ASSERT_EQ(trims.size(), 1u) << (*report)["trims"].dump();
  EXPECT_EQ((*report)["trims"].size(), 1u);
  EXPECT_GE((*trims[0])["released_bytes"].get<int64_t>(), PlainReleased() * 9 / 10);
  EXPECT_LT(IntValue(values, "rss_end"), IntValue(values, "rss_fragmented") / 2) << run.out;
  // The summary says so.
  EXPECT_NE(run.err.find("trims        1"), std::string::npos) << run.err;
}

TEST(AutoTrim, StaysQuietBelowTheThreshold) {
  TempDir dir;
  const std::string report_path = dir.File("quiet.json");
  CommandResult run = RunCommand(UnderHeapwarden(
      Command{.argv = {HW_PROGRAM_fragment_heap, "sleep", "32", "2"}}, report_path,
      {"--trim", "auto", "--trim-retained-mb", "256", "--trim-interval-s", "0.5"}));
  ASSERT_EQ(run.exit_status, 0) << run.Describe();
  std::string error;
  auto report = LoadReport(report_path, &error);
  ASSERT_TRUE(report) << error;
  EXPECT_TRUE(TrimsWithTrigger(*report, "auto").empty()) << (*report)["trims"].dump();
}

class TrimStress : public testing::TestWithParam<std::string> {};

TEST_P(TrimStress, TrimmingWhileTwoThreadsAllocateCorruptsNothing) {
  TempDir dir;
  const std::string report_path = dir.File("stress.json");
  CommandResult run = RunCommand(UnderHeapwarden(Command{.argv = {HW_PROGRAM_trim_stress, "4"}},
                                                 report_path, {"--backend", GetParam()}));
  ASSERT_EQ(run.exit_status, 0) << run.Describe() << run.out;
  EXPECT_NE(run.out.find("trim_stress: ok"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("heapwarden active"), std::string::npos) << run.out;
  std::string error;
  auto report = LoadReport(report_path, &error);
  ASSERT_TRUE(report) << error;
  EXPECT_EQ((*report)["process"]["backend"], GetParam());
  // Every trim the program asked for is in the report (up to the 256 it keeps): a count,
  // not a rate, so a loaded machine cannot fail it.
  const size_t ok = run.out.find("trim_stress: ok, ");
  ASSERT_NE(ok, std::string::npos) << run.out;
  unsigned long long trims = 0;
  ASSERT_EQ(std::sscanf(run.out.c_str() + ok, "trim_stress: ok, %llu trims", &trims), 1) << run.out;
  EXPECT_GT(trims, 0u) << run.out;
  EXPECT_EQ((*report)["trims"].size(), std::min<unsigned long long>(trims, 256)) << run.out;
}

INSTANTIATE_TEST_SUITE_P(Backends, TrimStress, testing::Values("system", "mimalloc"),
                         [](const auto &info) { return info.param; });

}  // namespace
}  // namespace heapwarden::testutil
