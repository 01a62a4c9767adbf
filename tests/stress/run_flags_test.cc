// run_flags_test.cc: a bad value on `heapwarden run`'s command line is an error (exit 2)
// before the program starts; in HEAPWARDEN_OPTIONS it is a one-line warning.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "report_helpers.h"

namespace heapwarden::testutil {
namespace {

TEST(RunFlags, OutOfRangeDepthIsAUsageErrorBeforeTheProgramStarts) {
  for (const char* depth : {"0", "129"}) {
    TempDir dir;
    const std::string marker = dir.File("started");
    Command command{.argv = {"sh", "-c", "touch " + marker}, .timeout_s = 30};
    CommandResult r =
        RunCommand(UnderHeapwarden(command, dir.File("r.json"), {"--depth", depth}));
    EXPECT_EQ(r.exit_status, 2) << depth << ": " << r.Describe();
    EXPECT_FALSE(FileExists(marker)) << depth << ": the program ran";
    EXPECT_NE(r.err.find("--depth"), std::string::npos) << r.err;
  }
}

TEST(RunFlags, BadDepthInTheEnvironmentIsOneWarning) {
  TempDir dir;
  Command command{.argv = {"true"}, .timeout_s = 30};
  CommandResult r = RunCommand(UnderPreload(command, "depth=0:output=" + dir.File("r.json")));
  EXPECT_EQ(r.exit_status, 0) << r.Describe();
  EXPECT_NE(r.err.find("depth"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace
}  // namespace heapwarden::testutil
