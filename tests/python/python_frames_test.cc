// python_frames_test.cc: Python frames in the stacks of CPython 3.11 programs (issue 13),
// checked field by field against scripts with marked lines (tests/python/scripts).
// ctest label: python.
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "python_test_helpers.h"

namespace heapwarden::testutil {
namespace {

constexpr const char* kPython = "/usr/bin/python3.11";

TEST(PythonFrames, PeakSitesNameTheLinesThatHoldTheArrays) {
  TempDir dir;
  const std::string script = Script("peak_lines.py");
  const std::string report_path = dir.File("peak.json");
  auto result = RunCommand(UnderPreload({.argv = {kPython, script}}, "symbolize=0:output=" + report_path));
  ASSERT_EQ(result.exit_status, 0) << result.Describe();
  nlohmann::json report = Load(report_path);
  const auto& peak = report["peak"];
  ASSERT_TRUE(peak.contains("sites"));
  // The two biggest sites at the peak: the table (32 MiB) and the index (8 MiB).
  std::vector<const nlohmann::json*> top;
  for (const auto& s : peak["sites"]) {
    if (s.value("live_bytes", int64_t{0}) >= (8 << 20)) top.push_back(&s);
  }
  ASSERT_EQ(top.size(), 2u) << "sites of 8 MiB or more at the peak";
  struct Want {
    int64_t bytes;
    const char* function;
    const char* marker;
  };
  const Want wants[] = {{32 << 20, "load_table", "table"}, {8 << 20, "build_index", "index"}};
  for (const Want& want : wants) {
    const nlohmann::json* site = nullptr;
    for (const auto* s : top) {
      if ((*s)["live_bytes"].get<int64_t>() == want.bytes) site = s;
    }
    ASSERT_NE(site, nullptr) << want.function;
    auto frames = PythonFramesOf(FindStack(report, (*site)["stack"].get<int64_t>()));
    // Innermost first: numpy's own function (no line asserted), then ours, then main.
    bool found = false;
    for (size_t i = 0; i < frames.size(); ++i) {
      if (frames[i].function != want.function) continue;
      found = true;
      EXPECT_EQ(frames[i].file, script);
      EXPECT_EQ(frames[i].line, MarkedLine(script, want.marker)) << Describe(frames);
      ASSERT_LT(i + 2, frames.size() + 1) << Describe(frames);
      ASSERT_GE(frames.size(), i + 3) << Describe(frames);
      EXPECT_EQ(frames[i + 1].function, "main") << Describe(frames);
      EXPECT_EQ(frames[i + 2].function, "<module>") << Describe(frames);
    }
    EXPECT_TRUE(found) << want.function << " not in\n" << Describe(frames);
  }
  // The scratch array was freed before the peak: its site is not among the peak's.
  for (const auto* s : top) EXPECT_NE((*s)["live_bytes"].get<int64_t>(), 16 << 20);
}

TEST(PythonFrames, OffGivesNativeStacksOnly) {
  TempDir dir;
  const std::string report_path = dir.File("off.json");
  auto result = RunCommand(
      UnderPreload({.argv = {kPython, Script("peak_lines.py")}}, "python_frames=off:symbolize=0:output=" + report_path));
  ASSERT_EQ(result.exit_status, 0) << result.Describe();
  nlohmann::json report = Load(report_path);
  for (const auto& stack : report["stacks"]) EXPECT_TRUE(PythonFramesOf(&stack).empty());
}

TEST(PythonFrames, ThreadingThreadAndForkChild) { CheckThreadsAndFork(kPython); }

TEST(PythonFrames, GeneratorsCoroutinesExceptionsRecursion) { CheckShapes(kPython); }

#ifdef HW_EMBED_TWICE
TEST(PythonFrames, EmbeddedTwiceAndACThread) {
  TempDir dir;
  const std::string report_path = dir.File("embed.json");
  auto result = RunCommand(UnderPreload({.argv = {HW_EMBED_TWICE}}, "output=" + report_path));
  ASSERT_EQ(result.exit_status, 0) << result.Describe();
  EXPECT_NE(result.out.find("embedded twice"), std::string::npos);
  nlohmann::json report = Load(report_path);
  for (int round : {1, 2}) {
    auto sites = SitesOfOneBlock(report, 1000001 + round, 1000001 + round);
    ASSERT_EQ(sites.size(), 1u) << "round " << round;
    auto frames = PythonFramesOf(FindStack(report, (*sites[0])["stack"].get<int64_t>()));
    ASSERT_EQ(frames.size(), 2u) << Describe(frames);
    EXPECT_EQ(frames[0].function, "embedded_round");
    EXPECT_EQ(frames[0].file, "<embedded>");
    EXPECT_EQ(frames[0].line, 3);
    EXPECT_EQ(frames[1].function, "<module>");
    EXPECT_EQ(frames[1].line, 4);
  }
  auto c_sites = SitesOfOneBlock(report, 2000003, 2000003);
  ASSERT_EQ(c_sites.size(), 1u);
  const nlohmann::json* stack = FindStack(report, (*c_sites[0])["stack"].get<int64_t>());
  EXPECT_TRUE(PythonFramesOf(stack).empty());
  EXPECT_NE(FindFrame(*stack, "c_thread"), nullptr) << "native frames stay";
}
#endif

#ifdef HW_EMBED_DLOPEN
// libpython opened by dlopen after start-up, by a program not linked to it: the first
// stack that runs its code makes heapwarden ask it for _PyRuntime, and Python frames
// appear from then on. RTLD_LOCAL too (the library's own link map is asked, not the
// global scope). The block made before the dlopen keeps native frames.
class LoadedLate : public ::testing::TestWithParam<const char*> {};

TEST_P(LoadedLate, FramesAppearOnceLibpythonIsLoaded) {
  TempDir dir;
  const std::string report_path = dir.File("late.json");
  auto result = RunCommand(
      UnderPreload({.argv = {HW_EMBED_DLOPEN, GetParam(), HW_LIBPYTHON}}, "symbolize=0:output=" + report_path));
  ASSERT_EQ(result.exit_status, 0) << result.Describe();
  EXPECT_NE(result.out.find(std::string("loaded late ") + GetParam()), std::string::npos) << result.out;
  EXPECT_EQ(result.err.find("heapwarden: "), std::string::npos) << "no warning: " << result.err;
  nlohmann::json report = Load(report_path);
  auto frames = FramesOfBytearray(report, 1000011);
  ASSERT_EQ(frames.size(), 2u) << Describe(frames);
  EXPECT_EQ(frames[0].function, "loaded_late");
  EXPECT_EQ(frames[0].file, "<string>");
  EXPECT_EQ(frames[0].line, 3);
  EXPECT_EQ(frames[1].function, "<module>");
  EXPECT_EQ(frames[1].line, 4);
  auto before = SitesOfOneBlock(report, 2000011, 2000011);
  ASSERT_EQ(before.size(), 1u);
  EXPECT_TRUE(PythonFramesOf(FindStack(report, (*before[0])["stack"].get<int64_t>())).empty());
}

INSTANTIATE_TEST_SUITE_P(Dlopen, LoadedLate, ::testing::Values("global", "local"));
#endif

}  // namespace
}  // namespace heapwarden::testutil
