// demo_test.cc: the demo that scripts/demo.sh shows runs cleanly under `heapwarden run`
// and its report names the three leaks examples/demo/demo.cc makes on purpose.

#include <gtest/gtest.h>

#include <string>

#include "report_helpers.h"

namespace heapwarden::testutil {
namespace {

TEST(Demo, ReportNamesTheThreeLeaks) {
  TempDir dir;
  const std::string report_path = dir.File("demo.json");
  Command command{.argv = {HW_DEMO}, .unset_env = {"DEMO_CONFIG_NAME"}};
  CommandResult plain = RunCommand(command);
  ASSERT_EQ(plain.exit_status, 0) << plain.Describe();
  CommandResult tracked = RunCommand(UnderHeapwarden(command, report_path));
  EXPECT_EQ(tracked.exit_status, 0) << tracked.Describe();
  EXPECT_EQ(tracked.out, plain.out);

  std::string error;
  auto report = LoadReport(report_path, &error);
  ASSERT_TRUE(report) << error;
  struct Expected {
    const char *function;
    int64_t blocks, bytes;
  };
  for (const Expected &e : {Expected{"LoadConfigName", 1, sizeof "heapwarden-demo.conf"},
                            Expected{"BuildRecords", 1, 128 * 64},
                            Expected{"Cache::Insert", 64, 64 * 128}}) {
    // A site's blocks may be split by kind: the cache list's head is a direct leak, the
    // nodes behind it indirect ones.
    const auto leaks = LeaksWithFunction(*report, e.function);
    ASSERT_FALSE(leaks.empty()) << e.function;
    int64_t blocks = 0, bytes = 0;
    for (const auto *leak : leaks) {
      blocks += leak->value("blocks", int64_t{0});
      bytes += leak->value("bytes", int64_t{0});
    }
    EXPECT_EQ(blocks, e.blocks) << e.function;
    EXPECT_EQ(bytes, e.bytes) << e.function;
  }
  EXPECT_TRUE(LeaksWithFunction(*report, "DoFreedWork", 10).empty());
}

}  // namespace
}  // namespace heapwarden::testutil
