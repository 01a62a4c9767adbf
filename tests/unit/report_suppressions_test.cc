// report_suppressions_test.cc: LeakSanitizer's pattern rules, the file format, and how
// a report's groups are marked. Report side.
#include "report/suppressions.h"

#include "gtest/gtest.h"
#include "report/leak_summary.h"
#include "report_test_util.h"

namespace heapwarden::report {
namespace {

TEST(TemplateMatchTest, SubstringUnlessAnchored) {
  EXPECT_TRUE(TemplateMatch("parser", "leak_parser"));
  EXPECT_TRUE(TemplateMatch("parser", "src/parser.c"));
  EXPECT_FALSE(TemplateMatch("^parser", "leak_parser"));
  EXPECT_TRUE(TemplateMatch("^leak_", "leak_parser"));
  EXPECT_TRUE(TemplateMatch("parser$", "leak_parser"));
  EXPECT_FALSE(TemplateMatch("parser$", "src/parser.c"));
  EXPECT_TRUE(TemplateMatch("^leak_parser$", "leak_parser"));
  EXPECT_FALSE(TemplateMatch("^leak_parse$", "leak_parser"));
  EXPECT_FALSE(TemplateMatch("", "anything"));
}

TEST(TemplateMatchTest, Wildcards) {
  EXPECT_TRUE(TemplateMatch("src/*/legacy*.c", "/home/me/src/net/legacy_io.c"));
  EXPECT_TRUE(TemplateMatch("^std::*::allocate", "std::allocator<int>::allocate(unsigned long)"));
  EXPECT_FALSE(TemplateMatch("^a*b$", "acbd"));
  EXPECT_TRUE(TemplateMatch("a*b*c", "xxaxxbxxcxx"));
  EXPECT_TRUE(TemplateMatch("*", "x"));
}

TEST(SuppressionListTest, ParsesLeakLinesCommentsAndBlanks) {
  SuppressionList list;
  ASSERT_TRUE(list.AddText("# comment\n\n  leak:foo  \nleak: bar*\n", "f.txt").ok());
  ASSERT_EQ(list.rules().size(), 2u);
  EXPECT_EQ(list.rules()[0].pattern, "foo");
  EXPECT_EQ(list.rules()[0].origin, "f.txt:3");
  EXPECT_EQ(list.rules()[1].pattern, "bar*");
}

TEST(SuppressionListTest, RejectsOtherKindsAndEmptyPatterns) {
  SuppressionList list;
  absl::Status status = list.AddText("leak:ok\nrace:foo\n", "f.txt");
  EXPECT_FALSE(status.ok());
  EXPECT_NE(std::string(status.message()).find("f.txt:2"), std::string::npos) << status;
  EXPECT_FALSE(SuppressionList().AddText("leak:\n", "g").ok());
  EXPECT_FALSE(SuppressionList().AddText("just text\n", "g").ok());
  EXPECT_FALSE(SuppressionList().AddFile("/nonexistent/supp.txt").ok());
}

nlohmann::json Report() {
  return nlohmann::json::parse(R"({
    "stacks": [
      {"id": 1, "frames": [{"function": "leak_parser", "module": "/usr/bin/app", "file": "src/parser.c",
                            "address": "0x10", "offset": 16},
                           {"function": "main", "module": "/usr/bin/app", "address": "0x20", "offset": 32}]},
      {"id": 2, "frames": [{"function": "??", "module": "/usr/lib/libfoo.so.1", "address": "0x30", "offset": 48}]},
      {"id": 3, "frames": [{"function": "make_node", "module": "/usr/bin/app", "file": "src/tree.c",
                           "address": "0x40", "offset": 64}]}
    ],
    "leaks": [
      {"stack": 1, "tag": "", "kind": "direct", "blocks": 3, "bytes": 3000, "suppressed": false},
      {"stack": 2, "tag": "", "kind": "indirect", "blocks": 1, "bytes": 10, "suppressed": false},
      {"stack": 3, "tag": "", "kind": "indirect", "blocks": 2, "bytes": 200, "suppressed": true,
       "suppression": "stale"},
      {"stack": 1, "tag": "", "kind": "reachable", "blocks": 1, "bytes": 64, "suppressed": false}
    ],
    "heapwarden": {}
  })");
}

TEST(ApplySuppressionsTest, MarksMatchingGroupsAndResetsOthers) {
  nlohmann::json report = Upgraded(Report());
  SuppressionList list;
  ASSERT_TRUE(list.AddText("leak:parser.c\nleak:libfoo.so\n", "s").ok());
  ApplySuppressions(report, list);
  EXPECT_TRUE(report["leaks"][0]["suppressed"]);
  EXPECT_EQ(report["leaks"][0]["suppression"], "parser.c");
  EXPECT_TRUE(report["leaks"][1]["suppressed"]);
  EXPECT_FALSE(report["leaks"][2]["suppressed"]);  // the old mark is gone
  EXPECT_FALSE(report["leaks"][2].contains("suppression"));
  EXPECT_FALSE(report["leaks"][3]["suppressed"]);  // reachable: never a leak
  const auto& used = report["heapwarden"]["suppressions_used"];
  ASSERT_EQ(used.size(), 2u);
  EXPECT_EQ(used[0]["pattern"], "parser.c");
  EXPECT_EQ(used[0]["blocks"], 3);
  EXPECT_EQ(used[0]["bytes"], 3000);
  LeakSummary s = SummarizeLeaks(report);
  EXPECT_EQ(s.leaked_bytes(), 200);
  EXPECT_EQ(s.suppressed_bytes, 3010);
  EXPECT_EQ(s.reachable_bytes, 64);
}

// Issue 13: a Python frame is matched by its file ("leak:job.py") and its function, as a
// native frame is; a Python line never matched by a pattern for another file.
TEST(ApplySuppressionsTest, MatchesPythonFramesByFileAndFunction) {
  const auto report_with_python = [] {
    return Upgraded(nlohmann::json::parse(R"({
      "stacks": [
        {"id": 1, "frames": [
          {"function": "PyArray_NewFromDescr", "module": "/usr/lib/libnumpy.so", "address": "0x10", "offset": 16},
          {"kind": "python", "function": "load_table", "file": "/home/me/job.py", "line": 10},
          {"kind": "python", "function": "<module>", "file": "/home/me/job.py", "line": 30}]},
        {"id": 2, "frames": [
          {"kind": "python", "function": "parse", "file": "/home/me/other.py", "line": 4}]}
      ],
      "leaks": [
        {"stack": 1, "tag": "", "kind": "direct", "blocks": 1, "bytes": 4096, "suppressed": false},
        {"stack": 2, "tag": "", "kind": "direct", "blocks": 1, "bytes": 64, "suppressed": false}
      ],
      "heapwarden": {}
    })"));
  };
  for (const char* rule : {"leak:job.py\n", "leak:^load_table$\n"}) {
    nlohmann::json report = report_with_python();
    SuppressionList list;
    ASSERT_TRUE(list.AddText(rule, "s").ok());
    ApplySuppressions(report, list);
    EXPECT_TRUE(report["leaks"][0]["suppressed"]) << rule;
    EXPECT_FALSE(report["leaks"][1]["suppressed"]) << rule;
    EXPECT_EQ(SummarizeLeaks(report).leaked_bytes(), 64) << rule;
  }
}

TEST(LeakGateOptionsTest, ParsesTheGateKeysLaterWins) {
  LeakGateOptions o;
  ParseLeakGateOptions("output=/x/%p.json:fail_on_leak=1:max_leak_bytes=100:leak_exitcode=42:"
                       "suppressions=/s.txt:max_leak_bytes=7:depth=3",
                       &o);
  EXPECT_TRUE(o.fail_on_leak);
  EXPECT_EQ(o.max_leak_bytes, 7);
  EXPECT_EQ(o.exit_code, 42);
  EXPECT_EQ(o.suppressions, "/s.txt");
  ParseLeakGateOptions("fail_on_leak=off:max_leak_bytes=x", &o);
  EXPECT_FALSE(o.fail_on_leak);
  EXPECT_EQ(o.max_leak_bytes, 7);
}

}  // namespace
}  // namespace heapwarden::report
