// bare_preload_test.cc: LD_PRELOAD=libheapwarden_preload.so with HEAPWARDEN_OPTIONS and
// no `heapwarden run`: the output path expands %p and %e, the report is symbolized (by
// the helper the preload spawns at exit), and a bad option is a warning, not a failure.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "report_helpers.h"

namespace heapwarden::testutil {
namespace {

// The report may be finished by a helper just after the program exits: wait a little.
bool WaitForFile(const std::string &path, int seconds = 30) {
  for (int i = 0; i < seconds * 20; ++i) {
    if (FileExists(path)) return true;
    usleep(50000);
  }
  return FileExists(path);
}

const Command kLeaksKnown{.argv = {HW_PROGRAM_leaks_known}};

TEST(BarePreload, ExpandsPidAndExeAndWritesASymbolizedReport) {
  TempDir dir;
  CommandResult result = RunCommand(UnderPreload(kLeaksKnown, "output=" + dir.File("r.%p.%e.json")));
  ASSERT_EQ(result.exit_status, 0) << result.Describe();
  const std::string expected =
      dir.File("r." + std::to_string(result.pid) + ".leaks_known.json");
  ASSERT_TRUE(WaitForFile(expected)) << "no " << expected;

  std::string error;
  auto report = LoadReport(expected, &error);
  ASSERT_TRUE(report) << error;
  ASSERT_TRUE(report->contains("process"));
  EXPECT_EQ((*report)["process"].value("pid", int64_t{-1}), result.pid);
  const auto leaks = LeaksWithFunction(*report, "leak_malloc");
  ASSERT_EQ(leaks.size(), 1u) << "symbolized stacks expected in a bare-preload report";
  EXPECT_EQ(leaks[0]->value("bytes", int64_t{-1}), 1337);
  EXPECT_EQ(LeaksWithFunction(*report, "plugin_leak_inner").size(), 1u);
}

TEST(BarePreload, UnknownOptionWarnsOnceAndIsIgnored) {
  TempDir dir;
  const std::string report_path = dir.File("r.json");
  CommandResult plain = RunCommand(kLeaksKnown);
  CommandResult result =
      RunCommand(UnderPreload(kLeaksKnown, "output=" + report_path + ":no_such_option=1"));
  EXPECT_EQ(result.exit_status, 0) << result.Describe();
  EXPECT_EQ(result.out, plain.out);
  size_t mentions = 0;
  for (size_t at = result.err.find("no_such_option"); at != std::string::npos;
       at = result.err.find("no_such_option", at + 1)) {
    ++mentions;
  }
  EXPECT_EQ(mentions, 1u) << result.err;
  EXPECT_TRUE(WaitForFile(report_path)) << "an unknown key must not stop the report";
}

// Like `heapwarden run`, and like LeakSanitizer, the bare preload prints the summary
// at exit -- leaks first, named -- on stderr; summary=0 keeps stderr the program's own.
TEST(BarePreload, PrintsTheSummaryAtExitUnlessTurnedOff) {
  TempDir dir;
  CommandResult plain = RunCommand(kLeaksKnown);
  CommandResult on = RunCommand(UnderPreload(kLeaksKnown, "output=" + dir.File("on.json")));
  EXPECT_EQ(on.exit_status, 0) << on.Describe();
  EXPECT_EQ(on.out, plain.out);
  EXPECT_NE(on.err.find("ERROR: heapwarden: detected memory leaks"), std::string::npos) << on.err;
  EXPECT_NE(on.err.find("Direct leak of 1337 byte(s) in 1 object(s) allocated from:"),
            std::string::npos) << on.err;
  EXPECT_NE(on.err.find(" in leak_malloc"), std::string::npos) << on.err;
  EXPECT_NE(on.err.find("SUMMARY: heapwarden: "), std::string::npos) << on.err;
  EXPECT_NE(on.err.find("report written to " + dir.File("on.json")), std::string::npos) << on.err;

  CommandResult off =
      RunCommand(UnderPreload(kLeaksKnown, "output=" + dir.File("off.json") + ":summary=0"));
  EXPECT_EQ(off.exit_status, 0) << off.Describe();
  EXPECT_EQ(off.err, plain.err);
  EXPECT_TRUE(WaitForFile(dir.File("off.json")));
}

// `heapwarden run --summary 0`: the report is written, stderr has no summary.
TEST(BarePreload, RunWithSummaryOffPrintsNoSummary) {
  TempDir dir;
  CommandResult run =
      RunCommand(UnderHeapwarden(kLeaksKnown, dir.File("r.json"), {"--summary", "0"}));
  EXPECT_EQ(run.exit_status, 0) << run.Describe();
  EXPECT_EQ(run.err.find("SUMMARY:"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("report written to"), std::string::npos) << run.err;
  EXPECT_TRUE(FileExists(dir.File("r.json")));
}

// follow_fork (default on): parent and child each write their own report, naming only
// their own leak.
TEST(BarePreload, ForkedChildWritesItsOwnReport) {
  TempDir dir;
  Command command{.argv = {HW_PROGRAM_fork_child}};
  CommandResult result = RunCommand(UnderPreload(command, "output=" + dir.File("f.%p.json")));
  ASSERT_EQ(result.exit_status, 0) << result.Describe();
  const std::string parent_path = dir.File("f." + std::to_string(result.pid) + ".json");
  ASSERT_TRUE(WaitForFile(parent_path));
  std::string error;
  auto parent = LoadReport(parent_path, &error);
  ASSERT_TRUE(parent) << error;
  EXPECT_EQ(LeaksWithFunction(*parent, "parent_leak").size(), 1u);
  EXPECT_TRUE(LeaksWithFunction(*parent, "child_leak").empty());
  // The child's report is the other file in the directory.
  int children = 0;
  for (const auto &entry : std::filesystem::directory_iterator(dir.path())) {
    if (entry.path() == parent_path) continue;
    auto child = LoadReport(entry.path(), &error);
    ASSERT_TRUE(child) << error;
    EXPECT_EQ(LeaksWithFunction(*child, "child_leak").size(), 1u);
    EXPECT_TRUE(LeaksWithFunction(*child, "parent_leak").empty());
    ++children;
  }
  EXPECT_EQ(children, 1);
}

}  // namespace
}  // namespace heapwarden::testutil
