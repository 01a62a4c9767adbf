// python_snapshot_test.cc: a snapshot a Python script takes of itself
// (heapwarden.snapshot, over heapwarden_snapshot() of the C API) names functions and
// Python lines as the exit report does (issue 13, item 4), checked field by field
// against tests/python/scripts/snapshot_cache.py.
// ctest label: python.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "python_test_helpers.h"
#include "report_helpers.h"

namespace heapwarden::testutil {
namespace {

using nlohmann::json;

constexpr const char* kPython = "/usr/bin/python3.11";
constexpr int64_t kMiB = 1 << 20;

// The Python frames of a stack (inline, as LoadReport gives them), innermost first.
std::vector<const json*> PythonFrames(const json& report, const json& site) {
  std::vector<const json*> out;
  const json* stack = FindStack(report, site["stack"].get<int64_t>());
  if (stack == nullptr) return out;
  for (const json& f : (*stack)["frames"]) {
    if (f.value("kind", "") == "python") out.push_back(&f);
  }
  return out;
}

std::string Describe(const std::vector<const json*>& frames) {
  std::string s;
  for (const json* f : frames) s += "  " + f->dump() + "\n";
  return s.empty() ? "  (no python frames)\n" : s;
}

// The live sites of exactly `bytes` in one block.
std::vector<const json*> LiveSites(const json& report, int64_t bytes) {
  std::vector<const json*> out;
  for (const json& s : report["sites"]) {
    if (s.value("live_bytes", int64_t{0}) == bytes && s.value("live_blocks", int64_t{0}) == 1) {
      out.push_back(&s);
    }
  }
  return out;
}

TEST(PythonSnapshot, NamesTheLinesThatKeepACacheAlive) {
  TempDir dir;
  const std::string script = Script("snapshot_cache.py");
  const std::string snapshot_path = dir.File("snapshot.json");
  // The way a user runs it: under `heapwarden run`, whose preload symbolizes nothing
  // itself (symbolize=0) -- the snapshot must get its names all the same.
  CommandResult result = RunCommand(
      UnderHeapwarden({.argv = {kPython, script, snapshot_path},
                       .set_env = {{"PYTHONPATH", HW_PYTHON_PACKAGE_DIR}}},
                      dir.File("final.json")));
  ASSERT_EQ(result.exit_status, 0) << result.Describe();
  ASSERT_NE(result.out.find("snapshot True"), std::string::npos) << result.out;

  // The file as written: version 2, a snapshot of a running process, symbolized.
  const json raw = json::parse(ReadFile(snapshot_path));
  EXPECT_EQ(raw["format"], "heapwarden-report");
  EXPECT_EQ(raw["version"], 2);
  EXPECT_EQ(raw["process"]["complete"], false);
  EXPECT_EQ(raw["heapwarden"]["symbolized"], true);
  // Every native frame was looked up: named, or "??" for a stripped function.
  int named = 0;
  for (const json& f : raw["frames"]) {
    if (f.value("kind", "") != "native") continue;
    ASSERT_TRUE(f.contains("function")) << f.dump();
    if (f["function"] != "??") ++named;
  }
  EXPECT_GT(named, 0) << "no native frame has a name";

  std::string error;
  std::optional<json> report = LoadReport(snapshot_path, &error);
  ASSERT_TRUE(report.has_value()) << error;

  // The cached numpy array: 24 MiB in one block, made on the "cache" line of
  // remember_array, called from main, called from the module.
  const std::vector<const json*> arrays = LiveSites(*report, 24 * kMiB);
  ASSERT_EQ(arrays.size(), 1u) << "live sites of one 24 MiB block";
  const std::vector<const json*> frames = PythonFrames(*report, *arrays[0]);
  size_t at = 0;
  while (at < frames.size() && (*frames[at])["file"] != script) ++at;  // past numpy's own
  ASSERT_LE(at + 3, frames.size()) << Describe(frames);
  EXPECT_EQ((*frames[at])["function"], "remember_array") << Describe(frames);
  EXPECT_EQ((*frames[at])["line"], MarkedLine(script, "cache")) << Describe(frames);
  EXPECT_EQ((*frames[at + 1])["function"], "main") << Describe(frames);
  EXPECT_EQ((*frames[at + 1])["file"], script) << Describe(frames);
  EXPECT_EQ((*frames[at + 2])["function"], "<module>") << Describe(frames);
  EXPECT_EQ((*arrays[0])["live_bytes"], 24 * kMiB);
  EXPECT_EQ((*arrays[0])["tag"], "");

  // The cached DataFrame: pandas copies the column into a 16 MiB block of its own,
  // deep in pandas; the script's frame that asked for it is the "frame" line.
  bool frame_found = false;
  for (const json* site : LiveSites(*report, 16 * kMiB)) {
    for (const json* f : PythonFrames(*report, *site)) {
      if ((*f)["file"] != script) continue;
      EXPECT_EQ((*f)["function"], "remember_frame");
      EXPECT_EQ((*f)["line"], MarkedLine(script, "frame"));
      frame_found = (*f)["line"] == MarkedLine(script, "frame");
      break;
    }
  }
  EXPECT_TRUE(frame_found) << "no live 16 MiB block made by remember_frame";

  // The scratch array was freed before the snapshot: nothing its line made is live.
  for (const json& site : (*report)["sites"]) {
    if (site.value("live_bytes", int64_t{0}) == 0) continue;
    for (const json* f : PythonFrames(*report, site)) {
      EXPECT_FALSE((*f)["file"] == script && (*f)["line"] == MarkedLine(script, "scratch"))
          << site.dump();
    }
  }

  // The text report of the snapshot names the line too.
  CommandResult text = RunCommand({.argv = {HeapwardenPath(), "report", snapshot_path, "--top", "3"}});
  ASSERT_EQ(text.exit_status, 0) << text.Describe();
  EXPECT_NE(text.out.find("remember_array"), std::string::npos) << text.out;
}

}  // namespace
}  // namespace heapwarden::testutil
