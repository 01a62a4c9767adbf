// exit_paths_test.cc: a report is written however the program ends (exit, _exit, return
// from main), under `heapwarden run` and under the bare preload; `run` passes the exit
// status on, and a signal death as 128 + the signal.

#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "report_helpers.h"

namespace heapwarden::testutil {
namespace {

struct ExitPath {
  const char *how;
  int status;
  const char *name;
};

void PrintTo(const ExitPath &path, std::ostream *os) { *os << path.how; }

const ExitPath kExitPaths[] = {
    {"exit", 3, "exit"},
    {"_exit", 4, "underscore_exit"},
    {"return", 5, "return_from_main"},
};

void ExpectLeakBeforeExit(const std::string &report_path) {
  std::string error;
  auto report = LoadReport(report_path, &error);
  ASSERT_TRUE(report) << error;
  EXPECT_TRUE((*report)["process"].value("complete", false));
  const auto leaks = LeaksWithFunction(*report, "leak_before_exit");
  ASSERT_EQ(leaks.size(), 1u);
  EXPECT_EQ(leaks[0]->value("blocks", int64_t{-1}), 1);
  EXPECT_EQ(leaks[0]->value("bytes", int64_t{-1}), 2222);
}

class ExitPathTest : public ::testing::TestWithParam<ExitPath> {};

TEST_P(ExitPathTest, RunWritesAReportAndPassesTheStatusOn) {
  const ExitPath &path = GetParam();
  TempDir dir;
  const std::string report_path = dir.File("exit_paths.json");
  Command command{.argv = {HW_PROGRAM_exit_paths, path.how}};
  CommandResult plain = RunCommand(command);
  ASSERT_EQ(plain.exit_status, path.status) << plain.Describe();
  CommandResult tracked = RunCommand(UnderHeapwarden(command, report_path));
  EXPECT_EQ(tracked.exit_status, path.status) << tracked.Describe();
  ExpectLeakBeforeExit(report_path);
  std::string error;
  if (auto report = LoadReport(report_path, &error)) {
    EXPECT_EQ((*report)["process"].value("exit_status", -1), path.status);
  }
}

TEST_P(ExitPathTest, BarePreloadWritesAReport) {
  const ExitPath &path = GetParam();
  TempDir dir;
  const std::string report_path = dir.File("bare.json");
  Command command{.argv = {HW_PROGRAM_exit_paths, path.how}};
  CommandResult tracked = RunCommand(UnderPreload(command, "output=" + report_path));
  EXPECT_EQ(tracked.exit_status, path.status) << tracked.Describe();
  ExpectLeakBeforeExit(report_path);
}

// The report itself says how the process ended ("exit_status" in "process"), also
// without `heapwarden run` to fill it in from waitpid.
TEST_P(ExitPathTest, BarePreloadReportHasTheExitStatus) {
  const ExitPath &path = GetParam();
  TempDir dir;
  const std::string report_path = dir.File("bare.json");
  Command command{.argv = {HW_PROGRAM_exit_paths, path.how}};
  CommandResult tracked = RunCommand(UnderPreload(command, "output=" + report_path));
  ASSERT_EQ(tracked.exit_status, path.status) << tracked.Describe();
  std::string error;
  auto report = LoadReport(report_path, &error);
  ASSERT_TRUE(report) << error;
  ASSERT_TRUE(report->contains("process"));
  EXPECT_EQ((*report)["process"].value("exit_status", -1), path.status)
      << (*report)["process"].dump();
}

INSTANTIATE_TEST_SUITE_P(ExitPaths, ExitPathTest, ::testing::ValuesIn(kExitPaths),
                         [](const ::testing::TestParamInfo<ExitPath> &info) {
                           return std::string(info.param.name);
                         });

TEST(ExitPaths, RunReportsADeathBySignalAs128PlusTheSignal) {
  TempDir dir;
  Command command{.argv = {HW_PROGRAM_exit_paths, "kill"}};
  CommandResult tracked = RunCommand(UnderHeapwarden(command, dir.File("killed.json")));
  EXPECT_EQ(tracked.exit_status, 128 + 9) << tracked.Describe();
  EXPECT_FALSE(tracked.timed_out);
}

}  // namespace
}  // namespace heapwarden::testutil
