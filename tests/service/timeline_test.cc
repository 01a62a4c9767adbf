// timeline_test.cc: peak attribution, the timeline, tags (C++ and Python), and a report
// whose size and whose heapwarden memory do not grow with run length.
#include <sys/wait.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "report_helpers.h"
#include "timeline_helpers.h"

namespace heapwarden::testutil {
namespace {

using nlohmann::json;

constexpr uint64_t kMiB = 1024 * 1024;

json RunAndLoad(const Command& program, const std::vector<std::string>& flags, TempDir& dir,
                CommandResult* result_out = nullptr, const std::string& name = "report.json") {
  std::string report_path = dir.File(name);
  CommandResult result = RunCommand(UnderHeapwarden(program, report_path, flags));
  if (result_out != nullptr) *result_out = result;
  EXPECT_EQ(result.exit_status, 0) << result.Describe();
  std::string error;
  std::optional<json> report = LoadReport(report_path, &error);
  EXPECT_TRUE(report.has_value()) << error << "\n" << result.Describe();
  return report.value_or(json::object());
}

TEST(PeakTest, AttributesThePeakToTheFunctionThatBuiltIt) {
  TempDir dir;
  json report = RunAndLoad({.argv = {HW_PROGRAM_peak_phases}}, {"--timeline-ms", "20"}, dir);
  const json& peak = report["peak"];
  const uint64_t peak_bytes = peak.value("live_bytes", uint64_t{0});
  const uint64_t captured = peak.value("captured_live_bytes", uint64_t{0});
  EXPECT_EQ(peak_bytes, report["totals"].value("peak_live_bytes", uint64_t{1}));
  EXPECT_GE(peak_bytes, 64 * kMiB);
  // Exactly what was live at the peak (issue 16: a capture at 1/128 of growth showed
  // 1022 of the 1024 blocks).
  EXPECT_EQ(captured, peak_bytes);
  EXPECT_EQ(BytesWithFunction(report, peak["sites"], "build_structure", "live_bytes"), 67108864u);
  EXPECT_EQ(BytesWithFunction(report, peak["sites"], "small_phase", "live_bytes"), 0u);
  uint64_t blocks = 0;
  for (const json& site : peak["sites"]) {
    if (StackHas(report, site["stack"], "build_structure")) blocks += site.value("live_blocks", 0);
  }
  EXPECT_EQ(blocks, 1024u);
  EXPECT_GT(report["heapwarden"].value("peak_captures", 0), 0);
}

TEST(TimelineTest, ARunShorterThanOneIntervalStillEndsWithAPoint) {
  // The default interval is 100 ms; tagged_threads is done long before that. The last
  // point is the process at exit: what it still held then, and its RSS.
  TempDir dir;
  json report = RunAndLoad({.argv = {HW_PROGRAM_tagged_threads}}, {"--timeline-ms", "60000"}, dir);
  const json& timeline = report["timeline"];
  ASSERT_EQ(timeline.size(), 1u) << timeline.dump();
  const json& last = timeline.back();
  EXPECT_EQ(last.value("live_bytes", uint64_t{1}), report["totals"].value("live_bytes", uint64_t{0}));
  EXPECT_GT(last.value("rss_bytes", uint64_t{0}), 0u);
  EXPECT_LE(last.value("t", 1e9), report["heapwarden"].value("report_time", 0.0));
}

TEST(TimelineTest, ShowsTheRiseAndTheFall) {
  TempDir dir;
  json report = RunAndLoad({.argv = {HW_PROGRAM_peak_phases}}, {"--timeline-ms", "20"}, dir);
  const json& timeline = report["timeline"];
  ASSERT_GE(timeline.size(), 10u) << timeline.dump();
  size_t top = 0;
  for (size_t i = 0; i < timeline.size(); ++i) {
    if (timeline[i]["live_bytes"] > timeline[top]["live_bytes"]) top = i;
    if (i > 0) {
      EXPECT_GE(timeline[i]["t"], timeline[i - 1]["t"]) << "samples out of order";
    }
    EXPECT_GT(timeline[i].value("rss_bytes", 0), 0);
  }
  const uint64_t top_bytes = timeline[top]["live_bytes"];
  EXPECT_GE(top_bytes, 60 * kMiB) << timeline.dump();
  // Rise: an earlier sample well below the top. Fall: a later one back below 8 MiB,
  // and the 16 MiB phase after it.
  bool rise = false, fall = false, second_phase = false;
  for (size_t i = 0; i < top; ++i) rise = rise || timeline[i]["live_bytes"] < top_bytes / 4;
  for (size_t i = top + 1; i < timeline.size(); ++i) {
    uint64_t live = timeline[i]["live_bytes"];
    if (live < 8 * kMiB) fall = true;
    if (fall && live >= 16 * kMiB && live < 32 * kMiB) second_phase = true;
  }
  EXPECT_TRUE(rise) << timeline.dump();
  EXPECT_TRUE(fall) << timeline.dump();
  EXPECT_TRUE(second_phase) << timeline.dump();
}

TEST(TagsTest, PerTagLiveAndPeakAreExactAcrossThreads) {
  TempDir dir;
  CommandResult result;
  json report = RunAndLoad({.argv = {HW_PROGRAM_tagged_threads}}, {}, dir, &result);
  struct Expected {
    const char* tag;
    uint64_t allocations, bytes_allocated, live, peak;
  };
  for (const Expected& e : {Expected{"alpha", 10, 1000030, 600018, 1000030},
                            Expected{"alpha/inner", 2, 8484, 8484, 8484},
                            Expected{"beta", 7, 544439, 544439, 544439},
                            Expected{"gamma", 1, 1337, 0, 1337}}) {
    json tag = TagEntry(report, e.tag);
    ASSERT_FALSE(tag.is_null()) << "no tag " << e.tag << " in " << report["tags"].dump();
    EXPECT_EQ(tag["allocations"], e.allocations) << e.tag;
    EXPECT_EQ(tag["bytes_allocated"], e.bytes_allocated) << e.tag;
    EXPECT_EQ(tag["live_bytes"], e.live) << e.tag;
    EXPECT_EQ(tag["peak_live_bytes"], e.peak) << e.tag;
  }
  // Sites carry their tag; the gamma block was freed by main, charged to gamma.
  bool alpha_site = false;
  for (const json& site : report["sites"]) {
    if (site["tag"] == "alpha" && StackHas(report, site["stack"], "alpha_work")) alpha_site = true;
  }
  EXPECT_TRUE(alpha_site);
  EXPECT_NE(result.out.find("active=1"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("tag_stats gamma found=1 live=0 peak=1337"), std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("tag_stats alpha found=1 live=600018 peak=1000030"), std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("stats active=1 live>=1"), std::string::npos) << result.out;
}

TEST(TagsTest, ProgramRunsUnchangedWithoutHeapwarden) {
  CommandResult result = RunCommand({.argv = {HW_PROGRAM_tagged_threads}});
  EXPECT_EQ(result.exit_status, 0) << result.Describe();
  EXPECT_NE(result.out.find("active=0"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("tag_stats gamma found=0 live=0 peak=0"), std::string::npos)
      << result.out;
}

// The first python3 on PATH with numpy, then /usr/bin/python3 (Debian's python3-numpy).
std::string PythonWithNumpy() {
  for (const char* python : {"python3", "/usr/bin/python3"}) {
    CommandResult probe = RunCommand({.argv = {python, "-c", "import numpy"}});
    if (probe.exit_status == 0) return python;
  }
  return "";
}

TEST(PythonTest, TagOwnsTheNumpyBytes) {
  std::string python = PythonWithNumpy();
  if (python.empty()) GTEST_SKIP() << "no python3 with numpy";
  TempDir dir;
  CommandResult result;
  // No PYTHONPATH from the test: `heapwarden run` must make `import heapwarden` work.
  json report = RunAndLoad({.argv = {python, HW_TAGGED_NUMPY_PY}, .unset_env = {"PYTHONPATH"}},
                           {}, dir, &result);
  EXPECT_NE(result.out.find("active True"), std::string::npos) << result.Describe();
  EXPECT_NE(result.out.find("stats True"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("trim True"), std::string::npos) << result.out;
  // While the script ran, the tag held the array (the module's own view)...
  EXPECT_NE(result.out.find("load {'live_bytes': 8388608, 'peak_live_bytes': 8388608}"),
            std::string::npos)
      << result.out;
  // ...and the report charges the array to it. (CPython frees its objects before the
  // final report, so what the report has live at exit is 0: peak and totals tell.)
  json load = TagEntry(report, "load");
  ASSERT_FALSE(load.is_null()) << report["tags"].dump();
  EXPECT_GE(load["peak_live_bytes"].get<uint64_t>(), 8 * kMiB);
  EXPECT_LT(load["peak_live_bytes"].get<uint64_t>(), 9 * kMiB);
  EXPECT_GE(load["bytes_allocated"].get<uint64_t>(), 8 * kMiB);
  json train = TagEntry(report, "train");
  ASSERT_FALSE(train.is_null()) << report["tags"].dump();
  EXPECT_GE(train["peak_live_bytes"].get<uint64_t>(), 1 * kMiB);
  // The 8 MiB block's site carries the tag.
  bool found = false;
  for (const json& site : report["sites"]) {
    found = found || (site["tag"] == "load" && site.value("peak_live_bytes", uint64_t{0}) >= 8 * kMiB);
  }
  EXPECT_TRUE(found);
}

TEST(PythonTest, DegradesWithOneWarningWithoutThePreload) {
  CommandResult result = RunCommand(
      {.argv = {"python3", "-c",
                "import heapwarden as h\n"
                "with h.tag('x'): pass\n"
                "@h.tag('y')\n"
                "def f(): return 7\n"
                "print(h.active(), f(), h.snapshot('/nonexistent/x.json'), h.stats()['live_bytes'],"
                " h.trim()['ok'], h.tag_stats('x'))\n"
                "import heapwarden\n"},
       .set_env = {{"PYTHONPATH", HW_PYTHON_PACKAGE_DIR}}});
  EXPECT_EQ(result.exit_status, 0) << result.Describe();
  EXPECT_NE(result.out.find("False 7 False 0 False None"), std::string::npos) << result.out;
  size_t first = result.err.find("RuntimeWarning");
  ASSERT_NE(first, std::string::npos) << result.err;
  EXPECT_EQ(result.err.find("RuntimeWarning", first + 1), std::string::npos) << result.err;
}

TEST(BoundedTest, ReportAndOwnMemoryDoNotGrowWithRunLength) {
  // 1 ms samples: the long run overflows the timeline several times over, so its
  // merging is exercised; sizes are compared, never times.
  TempDir dir;
  json short_run = RunAndLoad({.argv = {HW_PROGRAM_churn, "1"}}, {"--timeline-ms", "1"}, dir,
                              nullptr, "short.json");
  json long_run = RunAndLoad({.argv = {HW_PROGRAM_churn, "8"}}, {"--timeline-ms", "1"}, dir,
                             nullptr, "long.json");
  // The long run did several times the work...
  ASSERT_GT(long_run["totals"]["allocations"].get<double>(),
            3 * short_run["totals"]["allocations"].get<double>());
  // ...yet its report and heapwarden's own memory are of the same size: everything but
  // the timeline is the same size, and the timeline stops growing at its cap (how
  // many points the short run got depends on the machine's load, so it is capped, not
  // compared).
  auto size_without_timeline = [](json report) {
    report.erase("timeline");
    return static_cast<double>(report.dump(2).size());
  };
  const double short_bytes = size_without_timeline(short_run);
  const double long_bytes = size_without_timeline(long_run);
  EXPECT_LT(long_bytes, 1.25 * short_bytes) << short_bytes << " vs " << long_bytes;
  EXPECT_LE(long_run["timeline"].size(), 2049u);
  if (long_run["heapwarden"]["timeline_interval_s"].get<double>() > 0.001) {
    EXPECT_GE(long_run["timeline"].size(), 1024u) << "merged down to under half";
  }
  EXPECT_LT(ReadFile(dir.File("long.json")).size(), 2.0 * ReadFile(dir.File("short.json")).size() + 400000);
  const double short_own = short_run["heapwarden"]["own_bytes"].get<double>();
  const double long_own = long_run["heapwarden"]["own_bytes"].get<double>();
  EXPECT_GT(short_own, 0);
  EXPECT_LT(long_own, 1.25 * short_own + 1024 * 1024) << short_own << " vs " << long_own;
}

}  // namespace
}  // namespace heapwarden::testutil
