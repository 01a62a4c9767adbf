// leak_gate_test.cc: the leak gate never passes by mistake. A report that cannot be
// written fails it; `run` refuses an --output it could not write before the program
// starts; the bare preload's fail_on_leak keeps the program's buffered stdout. (The
// gate needs exact mode: the suite also runs with mode=sampled inherited.)

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "report_helpers.h"

namespace heapwarden::testutil {
namespace {

std::string LeakAndPrint() { return std::string(HW_STRESS_PROGRAMS_DIR) + "/stress_leak_and_print"; }

TEST(LeakGate, BarePreloadFailsWhenTheReportCannotBeWritten) {
  Command command{.argv = {LeakAndPrint()}, .timeout_s = 30};
  CommandResult r =
      RunCommand(UnderPreload(command, "fail_on_leak=1:mode=exact:output=/nonexistent-heapwarden-dir/r.json"));
  EXPECT_EQ(r.exit_status, 23) << r.Describe();
  EXPECT_NE(r.err.find("could not be written"), std::string::npos) << r.err;
}

TEST(LeakGate, BarePreloadKeepsTheProgramsBufferedOutput) {
  TempDir dir;
  Command command{.argv = {LeakAndPrint()}, .timeout_s = 30};
  CommandResult r = RunCommand(UnderPreload(command, "fail_on_leak=1:mode=exact:output=" + dir.File("r.json")));
  EXPECT_EQ(r.exit_status, 23) << r.Describe();
  EXPECT_EQ(r.out, "program output\n");
}

TEST(LeakGate, RunRefusesAMissingOutputDirectoryBeforeStarting) {
  TempDir dir;
  const std::string marker = dir.File("started");
  Command command{.argv = {"sh", "-c", "touch " + marker}, .timeout_s = 30};
  CommandResult r = RunCommand(UnderHeapwarden(command, dir.File("missing/r.json"), {"--fail-on-leak"}));
  EXPECT_EQ(r.exit_status, 2) << r.Describe();
  EXPECT_FALSE(FileExists(marker)) << "the program ran";
  EXPECT_NE(r.err.find("no directory"), std::string::npos) << r.err;
}

TEST(LeakGate, RunRefusesADirectoryAsOutput) {
  TempDir dir;
  Command command{.argv = {"true"}, .timeout_s = 30};
  CommandResult r = RunCommand(UnderHeapwarden(command, dir.path()));
  EXPECT_EQ(r.exit_status, 2) << r.Describe();
  EXPECT_NE(r.err.find("is a directory"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace heapwarden::testutil
