// gtest_listener_test.cc: per-test leak checks. tests/programs/gtest_leaky.cc has one
// leaking test and three clean ones and installs heapwarden_gtest's listener: without
// heapwarden all four pass; under heapwarden exactly the leaking test fails, naming the
// allocating function and line.

#include <gtest/gtest.h>

#include <string>

#include "leak_test_helpers.h"

namespace heapwarden::testutil {
namespace {

TEST(GtestListener, WithoutHeapwardenAllFourPass) {
  CommandResult result = RunCommand(Command{.argv = {HW_PROGRAM_gtest_leaky}});
  EXPECT_EQ(result.exit_status, 0) << result.Describe() << result.out;
  EXPECT_NE(result.out.find("[  PASSED  ] 4 tests."), std::string::npos) << result.out;
}

TEST(GtestListener, UnderHeapwardenExactlyTheLeakingTestFails) {
  TempDir dir;
  LeakRun run = RunUnderHeapwarden(dir, "gtest", {HW_PROGRAM_gtest_leaky});
  const std::string& out = run.result.out;
  EXPECT_EQ(run.result.exit_status, 1) << run.result.Describe() << out;
  EXPECT_NE(out.find("[  PASSED  ] 3 tests."), std::string::npos) << out;
  EXPECT_NE(out.find("[  FAILED  ] 1 test, listed below:\n[  FAILED  ] LeakyTest.LeaksABuffer\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("[  FAILED  ] LeakyTest.LeaksABuffer ("), std::string::npos) << out;
  for (const char* clean : {"CleanTest.FreesEverything", "CleanTest.KeepsACacheReachable",
                            "Fixture.FreesInTearDown"}) {
    EXPECT_NE(out.find(std::string("[       OK ] ") + clean), std::string::npos) << clean << "\n" << out;
  }
  EXPECT_NE(out.find("heapwarden: this test leaked 2468 byte(s) in 1 object(s)"), std::string::npos)
      << out;
  EXPECT_NE(out.find(" in (anonymous namespace)::leak_in_test() "), std::string::npos) << out;
  const int line = SiteLine(ProgramSource("gtest_leaky.cc"), "leak_in_test");
  ASSERT_GT(line, 0);
  EXPECT_NE(out.find("gtest_leaky.cc:" + std::to_string(line) + ": Failure"), std::string::npos) << out;
}

TEST(GtestListener, UnderTheBarePreloadToo) {
  TempDir dir;
  Command command = UnderPreload(Command{.argv = {HW_PROGRAM_gtest_leaky}},
                                 "output=" + dir.File("bare.json") + ":symbolize=0");
  CommandResult result = RunCommand(command);
  EXPECT_EQ(result.exit_status, 1) << result.Describe();
  EXPECT_NE(result.out.find("[  FAILED  ] 1 test, listed below:\n[  FAILED  ] LeakyTest.LeaksABuffer\n"),
            std::string::npos)
      << result.out;
}

}  // namespace
}  // namespace heapwarden::testutil
