// python_frames_test.cc: Python frames in the stacks of CPython 3.11 programs (issue 13),
// checked field by field against scripts with marked lines (tests/python/scripts).
// ctest label: python.
#include <dirent.h>

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "report_helpers.h"

namespace heapwarden::testutil {
namespace {

constexpr const char* kPython = "/usr/bin/python3.11";

std::string Script(const std::string& name) { return std::string(HW_PYTHON_SCRIPTS) + "/" + name; }

// Line of the "# LINE:name" marker in a script, or -1.
int MarkedLine(const std::string& path, const std::string& name) {
  std::ifstream in(path);
  std::string text;
  for (int line = 1; std::getline(in, text); ++line) {
    if (text.find("# LINE:" + name) != std::string::npos) return line;
  }
  return -1;
}

struct PyFrame {
  std::string function;
  std::string file;
  int64_t line;
};

std::vector<PyFrame> PythonFramesOf(const nlohmann::json* stack) {
  std::vector<PyFrame> out;
  if (stack == nullptr) return out;
  for (const auto& f : (*stack)["frames"]) {
    if (f.value("kind", "") != "python") continue;
    EXPECT_FALSE(f.contains("address")) << "a python frame has no address";
    out.push_back({f.value("function", ""), f.value("file", ""), f.value("line", int64_t{-1})});
  }
  return out;
}

std::string Describe(const std::vector<PyFrame>& frames) {
  std::string s;
  for (const auto& f : frames) s += "  " + f.function + " " + f.file + ":" + std::to_string(f.line) + "\n";
  return s.empty() ? "  (no python frames)\n" : s;
}

// The sites that allocated between `low` and `high` bytes in one block.
std::vector<const nlohmann::json*> SitesOfOneBlock(const nlohmann::json& report, int64_t low, int64_t high) {
  std::vector<const nlohmann::json*> out;
  for (const auto& s : report["sites"]) {
    const int64_t bytes = s.value("bytes_allocated", int64_t{0});
    if (s.value("allocations", int64_t{0}) == 1 && bytes >= low && bytes <= high) out.push_back(&s);
  }
  return out;
}

nlohmann::json Load(const std::string& path) {
  std::string error;
  auto report = LoadReport(path, &error);
  EXPECT_TRUE(report.has_value()) << error;
  return report.value_or(nlohmann::json::object());
}

// The one site of a bytearray(n) (n + 1 bytes) made on `marker`'s line: its innermost
// Python frame must be `function` at that line of `script`.
void ExpectBytearraySite(const nlohmann::json& report, int64_t n, const std::string& script,
                         const std::string& marker, const std::string& function) {
  auto sites = SitesOfOneBlock(report, n + 1, n + 1);
  ASSERT_EQ(sites.size(), 1u) << "bytearray(" << n << ")";
  auto frames = PythonFramesOf(FindStack(report, (*sites[0])["stack"].get<int64_t>()));
  ASSERT_FALSE(frames.empty()) << marker;
  EXPECT_EQ(frames[0].function, function) << Describe(frames);
  EXPECT_EQ(frames[0].file, script) << Describe(frames);
  EXPECT_EQ(frames[0].line, MarkedLine(script, marker)) << Describe(frames);
}

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

TEST(PythonFrames, ThreadingThreadAndForkChild) {
  TempDir dir;
  const std::string script = Script("threads_fork.py");
  auto result = RunCommand(UnderPreload({.argv = {kPython, script}}, "symbolize=0:output=" + dir.File("r.%p.json")));
  ASSERT_EQ(result.exit_status, 0) << result.Describe();
  std::vector<std::string> reports;
  if (DIR* d = opendir(dir.path().c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.rfind("r.", 0) == 0) reports.push_back(dir.File(name));
    }
    closedir(d);
  }
  ASSERT_EQ(reports.size(), 2u) << "the parent's report and the fork child's";
  int parents = 0, children = 0;
  for (const auto& path : reports) {
    nlohmann::json report = Load(path);
    if (!SitesOfOneBlock(report, 3 * 1024 * 1024 + 12, 3 * 1024 * 1024 + 12).empty()) {
      ++parents;  // (or the child, which inherits it)
      ExpectBytearraySite(report, 3 * 1024 * 1024 + 11, script, "thread", "in_thread");
    }
    if (!SitesOfOneBlock(report, 5 * 1024 * 1024 + 14, 5 * 1024 * 1024 + 14).empty()) {
      ++children;
      ExpectBytearraySite(report, 5 * 1024 * 1024 + 13, script, "child", "in_child");
    }
  }
  // The child's report starts from the parent's tables: the thread's block is in both.
  EXPECT_EQ(parents, 2);
  EXPECT_EQ(children, 1);
}

TEST(PythonFrames, GeneratorsCoroutinesExceptionsRecursion) {
  TempDir dir;
  const std::string script = Script("shapes.py");
  const std::string report_path = dir.File("shapes.json");
  // depth=128 (the most): the 500-deep recursion is still cut, Python frames included.
  auto result =
      RunCommand(UnderPreload({.argv = {kPython, script}}, "depth=128:symbolize=0:output=" + report_path));
  ASSERT_EQ(result.exit_status, 0) << result.Describe();
  nlohmann::json report = Load(report_path);
  ExpectBytearraySite(report, 1000001, script, "generator", "gen");
  ExpectBytearraySite(report, 1000003, script, "coroutine", "inner_coro");
  ExpectBytearraySite(report, 1000007, script, "except", "handle_exception");
  ExpectBytearraySite(report, 1000009, script, "recursion", "recurse");
  // The generator's consumer and the coroutine's awaiting caller are outer frames.
  auto generator = PythonFramesOf(FindStack(report, (*SitesOfOneBlock(report, 1000002, 1000002)[0])["stack"].get<int64_t>()));
  ASSERT_GE(generator.size(), 2u);
  EXPECT_EQ(generator[1].function, "consume_generator") << Describe(generator);
  auto coroutine = PythonFramesOf(FindStack(report, (*SitesOfOneBlock(report, 1000004, 1000004)[0])["stack"].get<int64_t>()));
  ASSERT_GE(coroutine.size(), 2u);
  EXPECT_EQ(coroutine[1].function, "outer_coro") << Describe(coroutine);
  // 500 deep: the stack is cut at 128 frames; every Python frame but the innermost is a
  // call of recurse on its recursive line.
  auto deep = PythonFramesOf(FindStack(report, (*SitesOfOneBlock(report, 1000010, 1000010)[0])["stack"].get<int64_t>()));
  ASSERT_GE(deep.size(), 100u);
  for (size_t i = 1; i < deep.size(); ++i) {
    EXPECT_EQ(deep[i].function, "recurse");
    EXPECT_EQ(deep[i].line, MarkedLine(script, "recursion") + 2);
  }
}

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

}  // namespace
}  // namespace heapwarden::testutil
