// free_errors_test.cc: the report's "errors" against ground truth. Each mode of
// tests/programs/free_errors.cc makes one bad call from a function named after it; the
// program must end as it does without heapwarden (glibc aborts on a double or invalid
// free), and the report -- written before glibc's abort -- must name the error, the
// bad call's line and, for a double free, where the block was first freed.

#include <gtest/gtest.h>

#include <string>

#include "leak_test_helpers.h"

namespace heapwarden::testutil {
namespace {

struct ErrorCase {
  const char* mode;
  const char* kind;       // "" for none
  const char* function;   // the function making the bad call
  const char* other_key;  // "first_free_stack" / "allocation_stack" / ""
  const char* other_function;
};

class FreeErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(FreeErrors, RecordedWithTheBadCallsStackAndBehaviourUnchanged) {
  const ErrorCase& c = GetParam();
  TempDir dir;
  Command command{.argv = {HW_PROGRAM_free_errors, c.mode}};
  CommandResult plain = RunCommand(command);
  LeakRun run = RunUnderHeapwarden(dir, c.mode, command.argv);
  EXPECT_EQ(run.result.exit_status, plain.exit_status) << run.result.Describe();
  EXPECT_EQ(run.result.out, plain.out);
  ASSERT_TRUE(run.error.empty()) << run.error << "\n" << run.result.Describe();
  const nlohmann::json& errors = run.report["errors"];
  if (std::string(c.kind).empty()) {
    EXPECT_TRUE(errors.empty()) << errors.dump(2);
    return;
  }
  ASSERT_EQ(errors.size(), 1u) << errors.dump(2);
  const nlohmann::json& e = errors[0];
  EXPECT_EQ(e.value("kind", ""), c.kind);
  EXPECT_TRUE(e.contains("address") && e["address"].is_string());
  EXPECT_EQ(e.value("count", 0), 1);
  const nlohmann::json* stack = FindStack(run.report, e.value("stack", int64_t{-1}));
  ASSERT_NE(stack, nullptr) << e.dump();
  const nlohmann::json* frame = FindFrame(*stack, c.function, 3);
  ASSERT_NE(frame, nullptr) << (*stack).dump(2);
  EXPECT_EQ(frame->value("line", 0), SiteLine(ProgramSource("free_errors.cc"), c.function))
      << frame->dump();
  if (std::string(c.other_key).empty()) return;
  const nlohmann::json* other = FindStack(run.report, e.value(c.other_key, int64_t{-1}));
  ASSERT_NE(other, nullptr) << e.dump();
  EXPECT_NE(FindFrame(*other, c.other_function, 3), nullptr) << (*other).dump(2);
  // The text names it the way AddressSanitizer users know.
  EXPECT_NE(run.result.err.find("ERROR: heapwarden: "), std::string::npos) << run.result.err;
}

INSTANTIATE_TEST_SUITE_P(
    Modes, FreeErrors,
    ::testing::Values(
        ErrorCase{"double_free", "double_free", "bad_double_free", "first_free_stack", "first_free"},
        ErrorCase{"invalid_stack", "invalid_free", "bad_free_stack", "", ""},
        ErrorCase{"invalid_global", "invalid_free", "bad_free_global", "", ""},
        ErrorCase{"new_array_delete", "mismatched_free", "bad_delete", "allocation_stack", "bad_delete"},
        ErrorCase{"new_free", "mismatched_free", "bad_free_of_new", "allocation_stack",
                  "bad_free_of_new"},
        ErrorCase{"malloc_delete", "mismatched_free", "bad_delete_of_malloc", "allocation_stack",
                  "bad_delete_of_malloc"},
        ErrorCase{"clean", "", "", "", ""}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) { return std::string(info.param.mode); });

TEST(FreeErrorsOptions, MismatchNamesBothFamilies) {
  TempDir dir;
  LeakRun run = RunUnderHeapwarden(dir, "m", {HW_PROGRAM_free_errors, "new_array_delete"});
  ASSERT_TRUE(run.error.empty()) << run.error;
  ASSERT_EQ(run.report["errors"].size(), 1u);
  EXPECT_EQ(run.report["errors"][0].value("allocated_by", ""), "operator new []");
  EXPECT_EQ(run.report["errors"][0].value("freed_by", ""), "operator delete");
  EXPECT_NE(run.result.err.find("alloc-dealloc-mismatch (operator new [] vs operator delete)"),
            std::string::npos)
      << run.result.err;
}

TEST(FreeErrorsOptions, HaltOnErrorAbortsWithTheReport) {
  TempDir dir;
  LeakRun run = RunUnderHeapwarden(dir, "halt", {HW_PROGRAM_free_errors, "new_free"},
                                   {"--halt-on-error"});
  EXPECT_EQ(run.result.exit_status, 128 + 6) << run.result.Describe();  // SIGABRT
  EXPECT_EQ(run.result.out.find("survived"), std::string::npos);
  ASSERT_TRUE(run.error.empty()) << run.error;
  ASSERT_EQ(run.report["errors"].size(), 1u);
  EXPECT_EQ(run.report["errors"][0].value("kind", ""), "mismatched_free");
}

TEST(FreeErrorsOptions, CheckFreesOffRecordsNothing) {
  TempDir dir;
  LeakRun run = RunUnderHeapwarden(dir, "off", {HW_PROGRAM_free_errors, "new_free"},
                                   {"--check-frees", "0"});
  EXPECT_EQ(run.result.exit_status, 0);
  ASSERT_TRUE(run.error.empty()) << run.error;
  EXPECT_TRUE(run.report["errors"].empty());
}

}  // namespace
}  // namespace heapwarden::testutil
