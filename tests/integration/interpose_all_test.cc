// interpose_all_test.cc: every interposed allocation function behaves like the real one
// under heapwarden (tests/programs/interpose_all checks its own results), and the report
// sees the one block the program keeps and counts the calls it made.

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "report_helpers.h"

namespace heapwarden::testutil {
namespace {

// "interpose_all: ok, N allocations" -> N, or -1.
long AllocationCount(const std::string &out) {
  const std::string prefix = "interpose_all: ok, ";
  size_t at = out.find(prefix);
  if (at == std::string::npos) return -1;
  return std::strtol(out.c_str() + at + prefix.size(), nullptr, 10);
}

const Command kInterposeAll{.argv = {HW_PROGRAM_interpose_all}};

TEST(InterposeAll, PassesWithoutHeapwarden) {
  CommandResult plain = RunCommand(kInterposeAll);
  EXPECT_EQ(plain.exit_status, 0) << plain.Describe();
  EXPECT_GT(AllocationCount(plain.out), 250) << plain.out;
}

TEST(InterposeAll, PassesUnderRunAndReportsTheKeptBlock) {
  CommandResult plain = RunCommand(kInterposeAll);
  TempDir dir;
  const std::string report_path = dir.File("interpose_all.json");
  CommandResult tracked = RunCommand(UnderHeapwarden(kInterposeAll, report_path));
  ASSERT_EQ(tracked.exit_status, 0) << tracked.Describe();
  EXPECT_EQ(tracked.out, plain.out);
  EXPECT_EQ(tracked.err.find("FAILED"), std::string::npos) << tracked.err;

  std::string error;
  auto report = LoadReport(report_path, &error);
  ASSERT_TRUE(report) << error;

  // Of all leak groups allocated from the program's own code, only the kept block.
  const auto own = LeaksInModule(*report, "interpose_all");
  std::string all;
  for (const auto *leak : own) all += DescribeLeak(*report, *leak);
  ASSERT_EQ(own.size(), 1u) << "leak groups from interpose_all's code:\n" << all;
  const auto kept = LeaksWithFunction(*report, "kept_by_interpose");
  ASSERT_EQ(kept.size(), 1u) << all;
  EXPECT_EQ(kept[0]->value("blocks", int64_t{-1}), 1) << all;
  EXPECT_EQ(kept[0]->value("bytes", int64_t{-1}), 4242) << all;

  const long calls = AllocationCount(tracked.out);
  ASSERT_GT(calls, 0) << tracked.out;
  ASSERT_TRUE(report->contains("totals"));
  EXPECT_GE((*report)["totals"].value("allocations", int64_t{0}), calls);
  EXPECT_GE((*report)["totals"].value("frees", int64_t{0}), calls - 1);
  EXPECT_GE((*report)["totals"].value("live_blocks", int64_t{0}), 1);
}

TEST(InterposeAll, PassesUnderTheBarePreload) {
  TempDir dir;
  CommandResult plain = RunCommand(kInterposeAll);
  CommandResult tracked =
      RunCommand(UnderPreload(kInterposeAll, "output=" + dir.File("bare.%p.json")));
  EXPECT_EQ(tracked.exit_status, 0) << tracked.Describe();
  EXPECT_EQ(tracked.out, plain.out);
}

// backend=mimalloc serves the program from mimalloc; the program must not notice
// (mimalloc 2.0.9 on its own differs: calloc overflow sets EOVERFLOW, not ENOMEM, and a
// failing nothrow new aborts).
TEST(InterposeAll, PassesWithTheMimallocBackend) {
  TempDir dir;
  CommandResult plain = RunCommand(kInterposeAll);
  CommandResult tracked = RunCommand(UnderHeapwarden(kInterposeAll, dir.File("mi.json"),
                                              {"--backend", "mimalloc"}));
  EXPECT_EQ(tracked.exit_status, 0) << tracked.Describe();
  EXPECT_EQ(tracked.out, plain.out);
}

}  // namespace
}  // namespace heapwarden::testutil
