// suppressions_test.cc: a suppressions file removes exactly the groups it names (by
// function, module or source file, with wildcards and comments), the report marks
// them, the text ends with LeakSanitizer's "Suppressions used" table, and `heapwarden
// check` repeats the run's verdict with or without the file.

#include <gtest/gtest.h>

#include <string>

#include "leak_test_helpers.h"

namespace heapwarden::testutil {
namespace {

bool Suppressed(const nlohmann::json& report, const std::string& function) {
  auto groups = Groups(report, function, "direct");
  return groups.size() == 1 && groups[0]->value("suppressed", false);
}

TEST(Suppressions, RemoveExactlyTheNamedGroups) {
  TempDir dir;
  WriteFile(dir.File("supp.txt"),
            "# accepted leaks\n"
            "\n"
            "leak:leak_strdup\n"
            "leak:*asprintf*   \n");
  LeakRun run = RunUnderHeapwarden(dir, "libc", {HW_PROGRAM_leak_shapes, "libc"},
                                   {"--fail-on-leak", "--suppressions", dir.File("supp.txt")});
  ASSERT_TRUE(run.error.empty()) << run.error << run.result.Describe();
  // getline's 120 bytes are still a leak.
  EXPECT_EQ(run.result.exit_status, 23) << run.result.Describe();
  EXPECT_TRUE(Suppressed(run.report, "leak_strdup")) << DescribeLeaks(run.report);
  EXPECT_TRUE(Suppressed(run.report, "leak_asprintf")) << DescribeLeaks(run.report);
  EXPECT_FALSE(Suppressed(run.report, "leak_getline")) << DescribeLeaks(run.report);
  auto strdup_group = Groups(run.report, "leak_strdup", "direct");
  ASSERT_EQ(strdup_group.size(), 1u);
  EXPECT_EQ((*strdup_group[0])["suppression"], "leak_strdup");
  EXPECT_EQ(UnsuppressedBytes(run.report, "direct"), 120);
  // The text: suppressed groups are not listed, the table says what matched.
  const std::string& err = run.result.err;
  EXPECT_EQ(err.find("Direct leak of 30 byte(s)"), std::string::npos) << err;
  EXPECT_NE(err.find("Direct leak of 120 byte(s)"), std::string::npos) << err;
  EXPECT_NE(err.find("Suppressions used:\n  count      bytes template\n"), std::string::npos) << err;
  EXPECT_NE(err.find("      1         30 leak_strdup\n"), std::string::npos) << err;
  EXPECT_NE(err.find("      1         29 *asprintf*\n"), std::string::npos) << err;
  EXPECT_NE(err.find("SUMMARY: heapwarden: 120 byte(s) leaked in 1 allocation(s)."), std::string::npos)
      << err;

  // check: the marks in the report repeat the verdict; the file again gives the same;
  // a file naming getline too lets it pass.
  auto check = [&](std::vector<std::string> extra) {
    Command command{.argv = {HeapwardenPath(), "check", run.report_path}};
    command.argv.insert(command.argv.end(), extra.begin(), extra.end());
    return RunCommand(command).exit_status;
  };
  EXPECT_EQ(check({}), 23);
  EXPECT_EQ(check({"--suppressions", dir.File("supp.txt")}), 23);
  WriteFile(dir.File("all.txt"), "leak:leak_strdup\nleak:*asprintf*\nleak:^leak_getline$\n");
  EXPECT_EQ(check({"--suppressions", dir.File("all.txt")}), 0);

  LeakRun passing = RunUnderHeapwarden(dir, "libc-all", {HW_PROGRAM_leak_shapes, "libc"},
                                       {"--fail-on-leak", "--suppressions", dir.File("all.txt")});
  EXPECT_EQ(passing.result.exit_status, 0) << passing.result.Describe();
  EXPECT_EQ(check({"--suppressions", dir.File("all.txt")}), passing.result.exit_status);
}

TEST(Suppressions, MatchModulesAndSourceFiles) {
  TempDir dir;
  WriteFile(dir.File("module.txt"), "leak:libhw_test_plugin.so\n");
  LeakRun plugin = RunUnderHeapwarden(dir, "plugin", {HW_PROGRAM_leak_shapes, "plugin", HW_LEAK_PLUGIN},
                                      {"--fail-on-leak", "--suppressions", dir.File("module.txt")});
  EXPECT_EQ(plugin.result.exit_status, 0) << plugin.result.Describe();
  EXPECT_TRUE(Suppressed(plugin.report, "plugin_leak_inner")) << DescribeLeaks(plugin.report);

  // A source file: hw_test_plugin.c's line, not leak_shapes.c's.
  WriteFile(dir.File("file.txt"), "leak:hw_test_plugin.c\n");
  LeakRun by_file = RunUnderHeapwarden(dir, "file", {HW_PROGRAM_leak_shapes, "plugin", HW_LEAK_PLUGIN},
                                       {"--fail-on-leak", "--suppressions", dir.File("file.txt")});
  EXPECT_EQ(by_file.result.exit_status, 0) << by_file.result.Describe();

  // Indirect groups need a rule of their own: suppressing the head leaves the nodes.
  WriteFile(dir.File("head.txt"), "leak:list_head\n");
  LeakRun list = RunUnderHeapwarden(dir, "list", {HW_PROGRAM_leak_shapes, "list"},
                                    {"--fail-on-leak", "--suppressions", dir.File("head.txt")});
  EXPECT_EQ(list.result.exit_status, 23);
  EXPECT_EQ(UnsuppressedBytes(list.report, "direct"), 0) << DescribeLeaks(list.report);
  EXPECT_EQ(UnsuppressedBytes(list.report, "indirect"), 360) << DescribeLeaks(list.report);
}

TEST(Suppressions, ABadFileIsAUsageErrorBeforeTheProgramRuns) {
  TempDir dir;
  WriteFile(dir.File("bad.txt"), "race:something\n");
  std::string marker = dir.File("ran");
  Command command{.argv = {"/bin/sh", "-c", "touch " + marker}};
  CommandResult result = RunCommand(UnderHeapwarden(command, dir.File("r.json"),
                                                    {"--suppressions", dir.File("bad.txt")}));
  EXPECT_EQ(result.exit_status, 2) << result.Describe();
  EXPECT_NE(result.err.find("bad.txt:1"), std::string::npos) << result.err;
  EXPECT_FALSE(FileExists(marker));
  CommandResult missing = RunCommand(UnderHeapwarden(command, dir.File("r.json"),
                                                     {"--suppressions", dir.File("nope.txt")}));
  EXPECT_EQ(missing.exit_status, 2) << missing.Describe();
}

}  // namespace
}  // namespace heapwarden::testutil
