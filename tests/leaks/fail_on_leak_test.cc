// fail_on_leak_test.cc: the CI gate. `heapwarden run --fail-on-leak` exits 0 on programs
// that do not leak -- ours and real ones (true, python3, git, sqlite3) -- and 23 on each
// leaky ground-truth program, printing LeakSanitizer's layout; `heapwarden check` on
// the saved report gives the same verdict; --max-leak-bytes and leak_exitcode move it.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "leak_test_helpers.h"

namespace heapwarden::testutil {
namespace {

CommandResult Check(const std::string& report, const std::vector<std::string>& extra = {}) {
  Command command{.argv = {HeapwardenPath(), "check", report}};
  command.argv.insert(command.argv.end(), extra.begin(), extra.end());
  return RunCommand(command);
}

bool Have(const std::string& program) {
  for (const char* dir : {"/usr/bin/", "/bin/", "/usr/local/bin/"}) {
    if (access((std::string(dir) + program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

struct GateCase {
  const char* name;
  std::vector<std::string> argv;  // empty first element: leak_shapes with the mode in [1]
  std::vector<std::string> extra;
  int expected;
};

std::vector<std::string> Resolve(std::vector<std::string> argv) {
  if (argv[0] == "leak_shapes") argv[0] = HW_PROGRAM_leak_shapes;
  if (argv[0] == "clean_cpp") argv[0] = HW_PROGRAM_clean_cpp;
  if (argv.size() > 2 && argv[2] == "PLUGIN") argv[2] = HW_LEAK_PLUGIN;
  return argv;
}

class FailOnLeak : public ::testing::TestWithParam<GateCase> {};

TEST_P(FailOnLeak, ExitsWithTheVerdictAndCheckAgrees) {
  const GateCase& c = GetParam();
  std::vector<std::string> argv = Resolve(c.argv);
  if (argv[0].find('/') == std::string::npos && !Have(argv[0])) GTEST_SKIP() << argv[0] << " not installed";
  TempDir dir;
  std::vector<std::string> extra = {"--fail-on-leak"};
  extra.insert(extra.end(), c.extra.begin(), c.extra.end());
  LeakRun run = RunUnderHeapwarden(dir, c.name, argv, extra);
  EXPECT_EQ(run.result.exit_status, c.expected) << run.result.Describe();
  ASSERT_TRUE(run.error.empty()) << run.error;
  // The same verdict from the saved reports: the run's (with --follow-fork, the worst
  // of the main report's and its descendants', NAME.PID.json).
  int worst = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    std::string file = entry.path().filename();
    if (!file.starts_with(std::string(c.name) + ".") || !file.ends_with(".json")) continue;
    CommandResult check = Check(entry.path());
    EXPECT_TRUE(check.exit_status == 0 || check.exit_status == 23) << check.Describe();
    worst = std::max(worst, check.exit_status);
  }
  EXPECT_EQ(worst, c.expected == 23 ? 23 : 0);
  if (c.expected == 23) {
    EXPECT_NE(run.result.err.find("ERROR: heapwarden: detected memory leaks"), std::string::npos)
        << run.result.err;
    EXPECT_NE(run.result.err.find("leak of "), std::string::npos) << run.result.err;
  } else {
    EXPECT_NE(run.result.err.find("SUMMARY: heapwarden: 0 byte(s) leaked in 0 allocation(s)."),
              std::string::npos)
        << run.result.err;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Programs, FailOnLeak,
    ::testing::Values(
        GateCase{"true", {"true"}, {}, 0},
        GateCase{"python3", {"python3", "-c", "print(1)"}, {}, 0},
        GateCase{"git", {"git", "--version"}, {}, 0},
        GateCase{"sqlite3", {"sqlite3", ":memory:", "select 1"}, {}, 0},
        GateCase{"clean_cpp", {"clean_cpp"}, {}, 0},
        GateCase{"clean", {"leak_shapes", "clean"}, {}, 0},
        GateCase{"global", {"leak_shapes", "global"}, {}, 0},
        GateCase{"fork_parent_only", {"leak_shapes", "fork"}, {}, 0},
        GateCase{"list", {"leak_shapes", "list"}, {}, 23},
        GateCase{"cycle", {"leak_shapes", "cycle"}, {}, 23},
        GateCase{"thread", {"leak_shapes", "thread"}, {}, 23},
        GateCase{"plugin", {"leak_shapes", "plugin", "PLUGIN"}, {}, 23},
        GateCase{"libc", {"leak_shapes", "libc"}, {}, 23},
        GateCase{"fork_child", {"leak_shapes", "fork"}, {"--follow-fork"}, 23},
        GateCase{"clean_cpp_leak", {"clean_cpp", "--leak"}, {}, 23}),
    [](const ::testing::TestParamInfo<GateCase>& info) { return std::string(info.param.name); });

TEST(FailOnLeakText, LooksLikeLeakSanitizers) {
  TempDir dir;
  LeakRun run = RunUnderHeapwarden(dir, "list", {HW_PROGRAM_leak_shapes, "list"}, {"--fail-on-leak"});
  ASSERT_EQ(run.result.exit_status, 23) << run.result.Describe();
  const std::string& err = run.result.err;
  size_t direct = err.find("Direct leak of 136 byte(s) in 1 object(s) allocated from:\n    #0 0x");
  size_t indirect = err.find("Indirect leak of 360 byte(s) in 5 object(s) allocated from:\n    #0 0x");
  size_t summary = err.find("SUMMARY: heapwarden: 496 byte(s) leaked in 6 allocation(s).\n");
  ASSERT_NE(direct, std::string::npos) << err;
  ASSERT_NE(indirect, std::string::npos) << err;
  ASSERT_NE(summary, std::string::npos) << err;
  EXPECT_LT(direct, indirect);
  EXPECT_LT(indirect, summary);
  // "#0 0x... in list_head .../leak_shapes.c:NN"
  EXPECT_NE(err.find(" in list_head "), std::string::npos) << err;
  EXPECT_NE(err.find("leak_shapes.c:"), std::string::npos) << err;
  // Reachable blocks are summed, not listed as leaks.
  EXPECT_EQ(err.find("Still reachable:"), std::string::npos) << err;
}

TEST(FailOnLeakText, LargestFirstWithinAKind) {
  TempDir dir;
  LeakRun run = RunUnderHeapwarden(dir, "libc", {HW_PROGRAM_leak_shapes, "libc"}, {"--fail-on-leak"});
  const std::string& err = run.result.err;
  size_t getline_group = err.find("Direct leak of 120 byte(s)");
  size_t strdup_group = err.find("Direct leak of 30 byte(s)");
  size_t asprintf_group = err.find("Direct leak of 29 byte(s)");
  ASSERT_NE(getline_group, std::string::npos) << err;
  ASSERT_NE(strdup_group, std::string::npos) << err;
  ASSERT_NE(asprintf_group, std::string::npos) << err;
  EXPECT_LT(getline_group, strdup_group);
  EXPECT_LT(strdup_group, asprintf_group);
}

TEST(FailOnLeakGate, MaxLeakBytesIsTheThreshold) {
  TempDir dir;
  // list leaks 136 + 360 = 496 bytes.
  LeakRun at = RunUnderHeapwarden(dir, "at", {HW_PROGRAM_leak_shapes, "list"},
                                  {"--fail-on-leak", "--max-leak-bytes", "496"});
  EXPECT_EQ(at.result.exit_status, 0) << at.result.Describe();
  LeakRun below = RunUnderHeapwarden(dir, "below", {HW_PROGRAM_leak_shapes, "list"},
                                     {"--fail-on-leak", "--max-leak-bytes", "495"});
  EXPECT_EQ(below.result.exit_status, 23) << below.result.Describe();
  // check repeats each run's verdict from its report, and its own flag overrides.
  EXPECT_EQ(Check(at.report_path).exit_status, 0);
  EXPECT_EQ(Check(below.report_path).exit_status, 23);
  EXPECT_EQ(Check(below.report_path, {"--max-leak-bytes", "1000"}).exit_status, 0);
  EXPECT_EQ(Check(at.report_path, {"--max-leak-bytes=0"}).exit_status, 23);
}

TEST(FailOnLeakGate, LeakExitcodeAndNoFlagMeansTheProgramsStatus) {
  TempDir dir;
  LeakRun custom = RunUnderHeapwarden(dir, "custom", {HW_PROGRAM_leak_shapes, "list"},
                                      {"--fail-on-leak", "--leak-exitcode", "42"});
  EXPECT_EQ(custom.result.exit_status, 42) << custom.result.Describe();
  LeakRun plain = RunUnderHeapwarden(dir, "plain", {HW_PROGRAM_leak_shapes, "list"});
  EXPECT_EQ(plain.result.exit_status, 0) << plain.result.Describe();
  // The option from the environment counts like the flag.
  Command command{.argv = {HW_PROGRAM_leak_shapes, "list"},
                  .set_env = {{"HEAPWARDEN_OPTIONS", "fail_on_leak=1"}}};
  CommandResult env = RunCommand(UnderHeapwarden(command, dir.File("env.json")));
  EXPECT_EQ(env.exit_status, 23) << env.Describe();
}

TEST(FailOnLeakGate, BarePreloadFailsTheProcessItself) {
  TempDir dir;
  Command leaky = UnderPreload(Command{.argv = {HW_PROGRAM_leak_shapes, "list"}},
                               "output=" + dir.File("bare.json") + ":fail_on_leak=1");
  CommandResult result = RunCommand(leaky);
  EXPECT_EQ(result.exit_status, 23) << result.Describe();
  EXPECT_NE(result.err.find("Direct leak of 136 byte(s)"), std::string::npos) << result.err;
  Command clean = UnderPreload(Command{.argv = {HW_PROGRAM_leak_shapes, "clean"}},
                               "output=" + dir.File("bare-clean.json") + ":fail_on_leak=1");
  CommandResult clean_result = RunCommand(clean);
  EXPECT_EQ(clean_result.exit_status, 0) << clean_result.Describe();
  // A clean program stays silent, as under LeakSanitizer (the summary is for leaks)...
  EXPECT_EQ(clean_result.err.find("heapwarden"), std::string::npos) << clean_result.err;
  // ...and so does one with summary=0.
  Command quiet = UnderPreload(Command{.argv = {HW_PROGRAM_leak_shapes, "clean"}},
                               "output=" + dir.File("bare-quiet.json") + ":fail_on_leak=1:summary=0");
  CommandResult quiet_result = RunCommand(quiet);
  EXPECT_EQ(quiet_result.exit_status, 0) << quiet_result.Describe();
  EXPECT_EQ(quiet_result.err.find("heapwarden"), std::string::npos) << quiet_result.err;
}

TEST(CheckCommand, UnreadableReportsExitTwo) {
  TempDir dir;
  EXPECT_EQ(Check(dir.File("missing.json")).exit_status, 2);
  WriteFile(dir.File("garbage.json"), "{ not json");
  EXPECT_EQ(Check(dir.File("garbage.json")).exit_status, 2);
  WriteFile(dir.File("other.json"), R"({"format": "something-else"})");
  EXPECT_EQ(Check(dir.File("other.json")).exit_status, 2);
  EXPECT_EQ(RunCommand(Command{.argv = {HeapwardenPath(), "check"}}).exit_status, 2);
}

}  // namespace
}  // namespace heapwarden::testutil
