// stress_test.cc: each program of tests/stress/programs runs plain and under
// `heapwarden run`; the exit status and stdout must match and the report must be valid.
// A hang is a failure (each run has its own deadline), as is a report that is missing.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <ostream>
#include <string>
#include <vector>

#include "report_helpers.h"

namespace heapwarden::testutil {
namespace {

struct StressCase {
  const char *program;  // tests/stress/programs/PROGRAM.c
  std::vector<std::string> args;
};

void PrintTo(const StressCase &c, std::ostream *os) { *os << c.program; }

std::string ProgramPath(const std::string &name) {
  return std::string(HW_STRESS_PROGRAMS_DIR) + "/stress_" + name;
}

const StressCase kCases[] = {
    {"fork_from_thread", {}},
    {"main_pthread_exit", {}},
    {"signal_handler_allocates", {}},
    {"crash_early", {"segv"}},
    {"crash_early", {"abort"}},
    {"crash_early", {"handled"}},
    {"bad_sizes", {}},
    {"thread_storm", {}},
    {"exit_from_thread", {}},
    {"fork_storm", {}},
    {"foreign_mimalloc", {}},
    {"foreign_symbolic", {}},
    {"deepbind", {}},
    {"deepbind", {"bare"}},
    {"dlopen_storm", {}},
    {"dlopen_storm", {"deepbind"}},
};

class StressTest : public ::testing::TestWithParam<StressCase> {};

TEST_P(StressTest, BehavesAsPlainAndWritesAValidReport) {
  const StressCase &c = GetParam();
  Command command{.argv = {ProgramPath(c.program)}, .timeout_s = 30};
  for (const auto &arg : c.args) command.argv.push_back(arg);
  CommandResult plain = RunCommand(command);
  ASSERT_FALSE(plain.timed_out) << plain.Describe();
  TempDir dir;
  const std::string report_path = dir.File("r.json");
  CommandResult tracked = RunCommand(UnderHeapwarden(command, report_path));
  ASSERT_FALSE(tracked.timed_out) << "hangs under heapwarden: " << tracked.Describe();
  EXPECT_EQ(tracked.exit_status, plain.exit_status) << tracked.Describe();
  EXPECT_EQ(tracked.out, plain.out);
  std::string error;
  auto report = LoadReport(report_path, &error);
  ASSERT_TRUE(report) << error << "\n" << tracked.Describe();
  EXPECT_EQ((*report).value("format", ""), "heapwarden-report");
}

INSTANTIATE_TEST_SUITE_P(Programs, StressTest, ::testing::ValuesIn(kCases),
                         [](const auto &info) {
                           std::string name = info.param.program;
                           for (const auto &arg : info.param.args) name += "_" + arg;
                           return name;
                         });

// A program whose malloc is another library's: the report names that library, and with
// the mimalloc backend the library's own blocks went back to it (foreign_frees).
TEST(ForeignAllocator, ReportNamesTheProgramsAllocator) {
  const struct {
    const char *program;
    const char *library;
  } cases[] = {{"foreign_mimalloc", "libmimalloc.so"}, {"foreign_symbolic", "libstress_own_malloc.so"}};
  for (const auto &c : cases) {
    TempDir dir;
    const std::string report_path = dir.File("r.json");
    CommandResult tracked =
        RunCommand(UnderHeapwarden(Command{.argv = {ProgramPath(c.program)}, .timeout_s = 30}, report_path));
    ASSERT_EQ(tracked.exit_status, 0) << tracked.Describe();
    std::string error;
    auto report = LoadReport(report_path, &error);
    ASSERT_TRUE(report) << error;
    const auto &own = (*report)["heapwarden"];
    EXPECT_NE(own.value("program_allocator", "").find(c.library), std::string::npos) << own.dump();
    // No false double or invalid frees from blocks the allocator's own API handed out.
    EXPECT_TRUE((*report)["errors"].empty()) << (*report)["errors"].dump();
    const char *options = getenv("HEAPWARDEN_OPTIONS");
    if (std::string(c.program) == "foreign_symbolic" && options != nullptr &&
        std::string(options).find("backend=mimalloc") != std::string::npos) {
      EXPECT_GE(own.value("foreign_frees", 0), 100) << own.dump();
    }
  }
}

// A plugin dlopen'd with RTLD_DEEPBIND calls libc's malloc and free directly: its
// 63,020-byte leak was missed and the 448-byte block of the program's it freed was
// reported as a direct leak (which fails a CI gate).
TEST(Deepbind, PluginLeakFoundAndItsFreeSeen) {
  for (const char *how : {"path", "bare"}) {
    TempDir dir;
    const std::string report_path = dir.File("r.json");
    CommandResult tracked = RunCommand(UnderHeapwarden(
        Command{.argv = {ProgramPath("deepbind"), how}, .timeout_s = 30}, report_path));
    ASSERT_EQ(tracked.exit_status, 0) << tracked.Describe();
    std::string error;
    auto report = LoadReport(report_path, &error);
    ASSERT_TRUE(report) << error;
    for (const auto &leak : (*report)["leaks"]) {
      if (leak.value("kind", "") == "reachable") continue;
      EXPECT_NE(leak.value("bytes", 0), 448) << "false leak: " << DescribeLeak(*report, leak);
    }
    EXPECT_EQ((*report)["heapwarden"].value("deepbind_loads", 0), 1) << how;
    // Sampled mode gives no leak verdict.
    if ((*report)["process"].value("mode", "") == "sampled") continue;
    uint64_t plugin_leak = 0;
    for (const auto *leak : LeaksWithFunction(*report, "plugin_leak")) {
      if (leak->value("kind", "") != "reachable") plugin_leak += leak->value("bytes", uint64_t{0});
    }
    EXPECT_EQ(plugin_leak, 63020u) << how;
  }
}

// A leaking library loaded and unloaded 200 times from two threads: every leak is
// attributed to it (named, with its module) though it is gone at exit, nothing else
// leaks, and the module table holds a handful of entries, not one per load.
TEST(DlopenStorm, LeaksAttributedToTheUnloadedLibrary) {
  for (const char *how : {"local", "deepbind"}) {
    TempDir dir;
    const std::string report_path = dir.File("r.json");
    CommandResult tracked = RunCommand(UnderHeapwarden(
        Command{.argv = {ProgramPath("dlopen_storm"), how}, .timeout_s = 60}, report_path));
    ASSERT_EQ(tracked.exit_status, 0) << tracked.Describe();
    EXPECT_EQ(tracked.out, "storm: ok\n");
    std::string error;
    auto report = LoadReport(report_path, &error);
    ASSERT_TRUE(report) << error;
    if (std::string(how) == "deepbind") {
      EXPECT_EQ((*report)["heapwarden"].value("deepbind_loads", 0), 200);
    }
    if ((*report)["process"].value("mode", "") == "sampled") continue;
    // One leak record per load address the library had (stacks are kept by address).
    uint64_t storm_bytes = 0, storm_blocks = 0;
    const auto storm = LeaksWithFunction(*report, "storm_leak");
    for (const auto *leak : storm) {
      storm_bytes += leak->value("bytes", uint64_t{0});
      storm_blocks += leak->value("blocks", uint64_t{0});
    }
    EXPECT_EQ(storm_bytes, 200u * 4242) << how;
    EXPECT_EQ(storm_blocks, 200u) << how;
    EXPECT_EQ(LeaksInModule(*report, "libstress_storm_plugin.so").size(), storm.size()) << how;
    for (const auto &leak : (*report)["leaks"]) {
      if (leak.value("kind", "") == "reachable" || leak.value("suppressed", false)) continue;
      EXPECT_NE(std::find(storm.begin(), storm.end(), &leak), storm.end())
          << "not the library's: " << DescribeLeak(*report, leak);
    }
    // Far fewer than the 200 loads: the module table does not grow by one per load (the
    // program's libraries, and the mimalloc backend's, make about 33).
    EXPECT_LT((*report)["modules"].size(), 64u) << how;
  }
}

}  // namespace
}  // namespace heapwarden::testutil
