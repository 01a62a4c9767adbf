// python_test_helpers.cc: see python_test_helpers.h.
#include "python_test_helpers.h"

#include <dirent.h>

#include <fstream>

#include <gtest/gtest.h>

namespace heapwarden::testutil {

std::string Script(const std::string& name) { return std::string(HW_PYTHON_SCRIPTS) + "/" + name; }

int MarkedLine(const std::string& path, const std::string& name) {
  std::ifstream in(path);
  std::string text;
  for (int line = 1; std::getline(in, text); ++line) {
    if (text.find("# LINE:" + name) != std::string::npos) return line;
  }
  return -1;
}

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

std::vector<PyFrame> FramesOfBytearray(const nlohmann::json& report, int64_t n) {
  auto sites = SitesOfOneBlock(report, n + 1, n + 1);
  if (sites.size() != 1) {
    ADD_FAILURE() << sites.size() << " sites of bytearray(" << n << ")";
    return {};
  }
  return PythonFramesOf(FindStack(report, (*sites[0])["stack"].get<int64_t>()));
}

void CheckThreadsAndFork(const std::string& python) {
  TempDir dir;
  const std::string script = Script("threads_fork.py");
  auto result = RunCommand(UnderPreload({.argv = {python, script}}, "symbolize=0:output=" + dir.File("r.%p.json")));
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

void CheckShapes(const std::string& python) {
  TempDir dir;
  const std::string script = Script("shapes.py");
  const std::string report_path = dir.File("shapes.json");
  // depth=128 (the most): the 500-deep recursion is still cut, Python frames included.
  auto result =
      RunCommand(UnderPreload({.argv = {python, script}}, "depth=128:symbolize=0:output=" + report_path));
  ASSERT_EQ(result.exit_status, 0) << result.Describe();
  nlohmann::json report = Load(report_path);
  ExpectBytearraySite(report, 1000001, script, "generator", "gen");
  ExpectBytearraySite(report, 1000003, script, "coroutine", "inner_coro");
  ExpectBytearraySite(report, 1000007, script, "except", "handle_exception");
  ExpectBytearraySite(report, 1000009, script, "recursion", "recurse");
  // The generator's consumer and the coroutine's awaiting caller are outer frames.
  auto generator = FramesOfBytearray(report, 1000001);
  ASSERT_GE(generator.size(), 2u);
  EXPECT_EQ(generator[1].function, "consume_generator") << Describe(generator);
  auto coroutine = FramesOfBytearray(report, 1000003);
  ASSERT_GE(coroutine.size(), 2u);
  EXPECT_EQ(coroutine[1].function, "outer_coro") << Describe(coroutine);
  // 500 deep: the stack is cut at 128 frames; every Python frame but the innermost is a
  // call of recurse on its recursive line.
  auto deep = FramesOfBytearray(report, 1000009);
  ASSERT_GE(deep.size(), 100u);
  for (size_t i = 1; i < deep.size(); ++i) {
    EXPECT_EQ(deep[i].function, "recurse");
    EXPECT_EQ(deep[i].line, MarkedLine(script, "recursion") + 2);
  }
}

}  // namespace heapwarden::testutil
