// report_leak_text_test.cc: the leak-checking sections of the text report: memory
// errors with their stacks, the "Suppressions used" table, long-lived groups and the
// SUMMARY line of a classified report. Report side.
#include "report/leak_text.h"

#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "report/report_text.h"
#include "report_test_util.h"

namespace heapwarden::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

nlohmann::json Report() {
  return nlohmann::json::parse(R"({
    "format": "heapwarden-report", "version": 1,
    "process": {"pid": 7, "argv": ["./app"], "complete": true, "exit_status": 0},
    "totals": {"live_blocks": 9, "live_bytes": 9999},
    "stacks": [
      {"id": 1, "frames": [{"address": "0x10", "module": "/app", "offset": 16,
                            "function": "leak_parser", "file": "src/parser.c", "line": 12}]},
      {"id": 2, "frames": [{"address": "0x20", "module": "/app", "offset": 32,
                            "function": "first_free", "file": "src/a.c", "line": 5}]},
      {"id": 3, "frames": [{"address": "0x30", "module": "/app", "offset": 48,
                            "function": "cache_fill", "file": "src/cache.c", "line": 40}]}
    ],
    "leaks": [
      {"stack": 1, "tag": "", "kind": "direct", "blocks": 3, "bytes": 3000, "suppressed": false},
      {"stack": 3, "tag": "", "kind": "direct", "blocks": 1, "bytes": 24, "suppressed": true,
       "suppression": "cache_fill"}
    ],
    "long_lived": [
      {"stack": 3, "tag": "", "blocks": 2, "bytes": 200, "oldest_age_s": 75.25},
      {"stack": 1, "tag": "io", "blocks": 1, "bytes": 5000, "oldest_age_s": 61.0}
    ],
    "errors": [
      {"kind": "double_free", "address": "0xabc", "stack": 1, "first_free_stack": 2,
       "freed_by": "free", "count": 2},
      {"kind": "mismatched_free", "address": "0xdef", "stack": 2, "allocation_stack": 3,
       "allocated_by": "operator new []", "freed_by": "operator delete", "count": 1}
    ],
    "heapwarden": {"suppressions_used": [
      {"pattern": "cache_fill", "origin": "s.txt:1", "blocks": 1, "bytes": 24}]}
  })");
}

std::string Render(const nlohmann::json& report) {
  std::ostringstream out;
  RenderText(AsLoaded(report), TextOptions{}, out);
  return out.str();
}

TEST(LeakTextTest, LeakSanitizerHeadingGroupsTableAndSummary) {
  std::string text = Render(Report());
  EXPECT_THAT(text, HasSubstr("\nERROR: heapwarden: detected memory leaks\n\nDirect leak of 3000 byte(s) "
                              "in 3 object(s) allocated from:\n"
                              "    #0 0x10 in leak_parser src/parser.c:12\n"));
  EXPECT_THAT(text, Not(HasSubstr("Direct leak of 24 ")));
  EXPECT_THAT(text, HasSubstr("-----------------------------------------------------\n"
                              "Suppressions used:\n"
                              "  count      bytes template\n"
                              "      1         24 cache_fill\n"
                              "-----------------------------------------------------\n"));
  EXPECT_THAT(text, ::testing::EndsWith(
                        "\nSUMMARY: heapwarden: 3000 byte(s) leaked in 3 allocation(s).\n"));
}

TEST(LeakTextTest, ErrorsWithTheirStacks) {
  std::string text = Render(Report());
  EXPECT_THAT(text, HasSubstr("ERROR: heapwarden: attempting double-free on 0xabc:\n"
                              "    #0 0x10 in leak_parser src/parser.c:12\n"
                              "  first freed at:\n"
                              "    #0 0x20 in first_free src/a.c:5\n"
                              "  (the same error 2 times from this stack)\n"));
  EXPECT_THAT(text, HasSubstr("ERROR: heapwarden: alloc-dealloc-mismatch (operator new [] vs operator "
                              "delete) on 0xdef:\n"
                              "    #0 0x20 in first_free src/a.c:5\n"
                              "  allocated by operator new [] at:\n"
                              "    #0 0x30 in cache_fill src/cache.c:40\n"));
}

TEST(LeakTextTest, LargestLongLivedGroupsFirst) {
  std::string text = Render(Report());
  size_t largest = text.find("Long-lived 5000 byte(s) in 1 object(s), oldest 61.0 s, allocated under "
                             "tag \"io\" from:\n    #0 0x10 in leak_parser");
  size_t smaller = text.find("Long-lived 200 byte(s) in 2 object(s), oldest 75.2 s, allocated from:");
  ASSERT_NE(largest, std::string::npos) << text;
  ASSERT_NE(smaller, std::string::npos) << text;
  EXPECT_LT(largest, smaller);
  EXPECT_THAT(text, HasSubstr("Long-lived buffers: 5.1 KiB (5200 bytes) in 2 group(s); the largest:\n"));
}

TEST(LeakTextTest, NoLeaksNoErrorHeading) {
  nlohmann::json report = Report();
  report["leaks"] = nlohmann::json::array();
  report["errors"] = nlohmann::json::array();
  std::string text = Render(report);
  EXPECT_THAT(text, Not(HasSubstr("ERROR:")));
  EXPECT_THAT(text, HasSubstr("SUMMARY: heapwarden: 0 byte(s) leaked in 0 allocation(s).\n"));
}

}  // namespace
}  // namespace heapwarden::report
