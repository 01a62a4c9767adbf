// address_space_test.cc: programs under a limit on address space (ulimit -v, set with
// prlimit(1) around the whole command, as a user's shell would): the program gets
// nearly the address space it gets plain, sees the same NULL and errno when it runs
// out, and the report is still written.

#include <gtest/gtest.h>

#include <cstdlib>
#include <ostream>
#include <string>

#include "report_helpers.h"

namespace heapwarden::testutil {
namespace {

std::string ProgramPath(const std::string &name) {
  return std::string(HW_STRESS_PROGRAMS_DIR) + "/stress_" + name;
}

Command Limited(long kib, Command command) {
  command.argv.insert(command.argv.begin(),
                      {"prlimit", "--as=" + std::to_string(kib * 1024), "--"});
  return command;
}

// "mib N" from the program's output; -1 when missing.
int MibOf(const std::string &out) {
  size_t at = out.find("mib ");
  return at == std::string::npos ? -1 : std::atoi(out.c_str() + at + 4);
}

struct LimitCase {
  long kib;
  const char *mode;  // "free": freed before exit; "hold": still live at exit
};

void PrintTo(const LimitCase &c, std::ostream *os) { *os << c.kib << " KiB, " << c.mode; }

class AddressSpaceLimit : public ::testing::TestWithParam<LimitCase> {};

TEST_P(AddressSpaceLimit, ProgramGetsNearlyAllOfItAndTheReportIsWritten) {
  const LimitCase &c = GetParam();
  Command program{.argv = {ProgramPath("address_space_limit"), c.mode}, .timeout_s = 60};
  // With the mimalloc backend the fair plain run is the program on mimalloc, whose
  // segments take their own share of the limit (930 of glibc's 969 MiB under 1 GB).
  Command plain_program = program;
  const char *options = getenv("HEAPWARDEN_OPTIONS");
  if (options != nullptr && std::string(options).find("backend=mimalloc") != std::string::npos) {
    plain_program.set_env["LD_PRELOAD"] = "libmimalloc.so.2";
  }
  CommandResult plain = RunCommand(Limited(c.kib, plain_program));
  ASSERT_EQ(plain.exit_status, 0) << plain.Describe();
  TempDir dir;
  const std::string report_path = dir.File("r.json");
  // The limit covers `heapwarden run` too: a user's `ulimit -v` does.
  CommandResult tracked = RunCommand(Limited(c.kib, UnderHeapwarden(program, report_path)));
  ASSERT_EQ(tracked.exit_status, 0) << tracked.Describe();
  const int plain_mib = MibOf(plain.out);
  const int tracked_mib = MibOf(tracked.out);
  ASSERT_GT(plain_mib, 0) << plain.out;
  // heapwarden's own share: about 2.3% of the limit plus a fixed ~19 MiB (its own
  // libraries and small tables; docs/reliability.md). Before, 622 MB were reserved up
  // front: 366 of 969 MiB under 1 GB, and nothing at all under 500 MB.
  EXPECT_GE(tracked_mib, plain_mib - plain_mib * 3 / 100 - 24)
      << "plain " << plain_mib << " MiB, tracked " << tracked_mib << " MiB";
  // Out of memory is ENOMEM, plain and tracked.
  EXPECT_NE(tracked.out.find("errno 12"), std::string::npos) << tracked.out;
  std::string error;
  auto report = LoadReport(report_path, &error);
  ASSERT_TRUE(report) << error << "\n" << tracked.Describe();
  // Every 1 MiB block is in the report, or counted as dropped: when the program takes
  // the last of the address space, the live table may be unable to grow for it.
  const uint64_t recorded = (*report)["totals"].value("bytes_allocated", uint64_t{0});
  const uint64_t dropped = (*report)["heapwarden"].value("dropped_events", uint64_t{0});
  EXPECT_GE(recorded + (dropped << 20), static_cast<uint64_t>(tracked_mib) << 20)
      << "recorded " << recorded << " bytes, dropped " << dropped;
}

INSTANTIATE_TEST_SUITE_P(Limits, AddressSpaceLimit,
                         ::testing::Values(LimitCase{1000000, "free"}, LimitCase{1000000, "hold"},
                                           LimitCase{500000, "free"}, LimitCase{500000, "hold"}),
                         [](const auto &info) {
                           return std::to_string(info.param.kib) + "_KiB_" + info.param.mode;
                         });

// malloc returning NULL under the limit: every allocation function returns and sets
// errno as plain (the output says so and must match), and heapwarden's own tables,
// sized to the limit, overflow: it counts what it dropped instead of crashing.
TEST(MemoryPressure, SameNullsAndErrnoAndTablesDegrade) {
  for (long kib : {100L << 10, 300L << 10}) {
    Command program{.argv = {ProgramPath("memory_pressure")}, .timeout_s = 60};
    CommandResult plain = RunCommand(Limited(kib, program));
    ASSERT_EQ(plain.exit_status, 0) << plain.Describe();
    ASSERT_NE(plain.out.find("small blocks until NULL            NULL errno=12"), std::string::npos)
        << plain.out;
    TempDir dir;
    const std::string report_path = dir.File("r.json");
    CommandResult tracked = RunCommand(Limited(kib, UnderHeapwarden(program, report_path)));
    ASSERT_FALSE(tracked.timed_out) << tracked.Describe();
    EXPECT_EQ(tracked.exit_status, 0) << tracked.Describe();
    EXPECT_EQ(tracked.out, plain.out) << kib << " KiB";
    std::string error;
    auto report = LoadReport(report_path, &error);
    ASSERT_TRUE(report) << error << "\n" << tracked.Describe();
    // 8192 call stacks are more sites than 1.5% of 100 MiB holds.
    if (kib == (100L << 10) && (*report)["process"].value("mode", "") != "sampled") {
      EXPECT_GT((*report)["heapwarden"].value("dropped_events", 0), 0);
    }
  }
}

// `run` names the cause the preload left next to a report it could not write
// (report_format.h), instead of guessing "killed early".
TEST(AddressSpaceLimit, RunSaysWhyThereIsNoReport) {
  TempDir dir;
  const std::string report_path = dir.File("r.json");
  Command program{.argv = {ProgramPath("no_report_note")}, .timeout_s = 30};
  CommandResult tracked = RunCommand(UnderHeapwarden(program, report_path));
  EXPECT_EQ(tracked.exit_status, 0) << tracked.Describe();
  EXPECT_NE(tracked.err.find("could not write its report (errno 12"), std::string::npos)
      << tracked.err;
  EXPECT_EQ(tracked.err.find("killed early"), std::string::npos) << tracked.err;
}

}  // namespace
}  // namespace heapwarden::testutil
