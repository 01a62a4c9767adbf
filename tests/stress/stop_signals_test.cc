// stop_signals_test.cc: SIGTERM and SIGINT end a tracked program as they end it plain
// (same exit status, same stdout), and the report survives: valid, saying which
// signal ended the program, holding what was live. The signal is sent to `heapwarden
// run` (which forwards it, as a CI job's timeout does) or straight to the program (as
// `kill PID` or systemd does).
#include <string>

#include <gtest/gtest.h>

#include "report_helpers.h"

namespace heapwarden::testutil {
namespace {

struct StopCase {
  const char* name;
  const char* signal;  // for kill -s
  bool to_run;         // to `heapwarden run` rather than straight to the program
};

std::string Program() { return std::string(HW_STRESS_PROGRAMS_DIR) + "/stress_stop_signal"; }

// A shell line that starts LAUNCH in the background, waits for the program's pid file,
// sends the signal and prints the job's exit status.
std::string Script(const std::string& launch, const std::string& pid_file, const StopCase& c) {
  const std::string target = c.to_run ? "$job" : "$(cat " + pid_file + ")";
  return launch + " & job=$!; for i in $(seq 100); do [ -s " + pid_file +
         " ] && break; sleep 0.05; done; sleep 0.5; kill -s " + c.signal + " " + target +
         "; wait $job; echo status=$?";
}

class StopSignalTest : public ::testing::TestWithParam<StopCase> {};

TEST_P(StopSignalTest, StatusAsPlainAndTheReportSurvives) {
  const StopCase& c = GetParam();
  TempDir dir;
  const std::string plain_pid = dir.File("plain.pid");
  CommandResult plain = RunCommand(
      Command{.argv = {"sh", "-c", Script(Program() + " " + plain_pid, plain_pid, c)}, .timeout_s = 30});
  const std::string pid_file = dir.File("tracked.pid");
  const std::string report_path = dir.File("r.json");
  // A signal sent straight to the program leaves the last periodic snapshot (every
  // 0.2 s here); one sent to run must leave a report with no periodic snapshot at all:
  // run asks the program for one before it forwards the signal.
  const std::string launch = HeapwardenPath() + " run --snapshot-s " +
                             (c.to_run ? "0" : "0.2") + " -o " + report_path +
                             " -- " + Program() + " " + pid_file;
  CommandResult tracked =
      RunCommand(Command{.argv = {"sh", "-c", Script(launch, pid_file, c)}, .timeout_s = 30});
  ASSERT_FALSE(tracked.timed_out) << tracked.Describe();
  EXPECT_EQ(tracked.out, plain.out) << tracked.Describe();
  EXPECT_NE(plain.out.find("ready\nstatus=1"), std::string::npos) << plain.out;
  EXPECT_NE(tracked.err.find(std::string("killed by SIG") + c.signal), std::string::npos)
      << tracked.err;
  std::string error;
  std::optional<nlohmann::json> report = LoadReport(report_path, &error);
  ASSERT_TRUE(report.has_value()) << error << "\n" << tracked.Describe();
  EXPECT_EQ((*report)["process"].value("signal_name", ""), std::string("SIG") + c.signal);
  EXPECT_EQ((*report)["process"].value("complete", true), false);
  // By its stack, not its size: sampled mode scales sizes to estimates.
  bool held = false;
  for (const nlohmann::json& site : (*report)["sites"]) {
    const nlohmann::json* stack = FindStack(*report, site.value("stack", int64_t{-1}));
    held = held || (site.value("live_blocks", 0) > 0 && stack != nullptr &&
                    FindFrame(*stack, "HoldBlock") != nullptr);
  }
  EXPECT_TRUE(held) << "the block HoldBlock holds is not in the report";
}

INSTANTIATE_TEST_SUITE_P(Signals, StopSignalTest,
                         ::testing::Values(StopCase{"TermToRun", "TERM", true},
                                           StopCase{"TermToProgram", "TERM", false},
                                           StopCase{"IntToProgram", "INT", false},
                                           StopCase{"HupToRun", "HUP", true}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace heapwarden::testutil
