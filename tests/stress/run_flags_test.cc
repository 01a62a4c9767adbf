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

// depth=N keeps at most N frames per stack, and the deep stacks of a real program
// (the interpreter's) reach N: not N+1, not fewer (issue 16).
TEST(RunFlags, DepthKeepsExactlyThatManyFrames) {
  for (int depth : {1, 4, 9}) {
    TempDir dir;
    Command command{.argv = {"/usr/bin/python3", "-c", "x = [str(i) for i in range(1000)]"},
                    .timeout_s = 60};
    CommandResult r = RunCommand(UnderHeapwarden(
        command, dir.File("r.json"), {"--depth", std::to_string(depth), "--python-frames", "off"}));
    ASSERT_EQ(r.exit_status, 0) << r.Describe();
    std::string error;
    auto report = LoadReport(dir.File("r.json"), &error);
    ASSERT_TRUE(report) << error;
    size_t deepest = 0;
    for (const auto& stack : (*report)["stacks"]) {
      const size_t frames = stack["frames"].size();
      EXPECT_LE(frames, static_cast<size_t>(depth)) << "depth " << depth;
      deepest = std::max(deepest, frames);
    }
    EXPECT_EQ(deepest, static_cast<size_t>(depth));
  }
}

// run killed outright (SIGKILL, which it cannot forward) takes the program with it.
TEST(RunLifetime, ProgramDiesWithAKilledRun) {
  TempDir dir;
  const std::string pid_file = dir.File("pid");
  const std::string script =
      HeapwardenPath() + " run -o " + dir.File("r.json") + " -- sh -c 'echo $$ > " + pid_file +
      "; exec sleep 30' & run=$!; for i in 1 2 3 4 5 6 7 8 9 10; do [ -s " + pid_file +
      " ] && break; sleep 0.2; done; kill -9 $run; sleep 0.5; "
      // A zombie is gone too (nothing may reap it soon in a container).
      "p=$(cat " + pid_file + "); s=$(cut -d' ' -f3 /proc/$p/stat 2>/dev/null); "
      "if [ -n \"$s\" ] && [ \"$s\" != Z ]; then echo alive; kill -9 $p; else echo gone; fi";
  Command command{.argv = {"sh", "-c", script}, .timeout_s = 30};
  CommandResult r = RunCommand(command);
  EXPECT_EQ(r.out, "gone\n") << r.Describe();
}

}  // namespace
}  // namespace heapwarden::testutil
