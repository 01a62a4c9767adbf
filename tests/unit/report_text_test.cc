// report_text_test.cc: the human summary: totals, LeakSanitizer-style groups, SUMMARY.
// Report side.
#include "report/report_text.h"

#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "report/report_index.h"
#include "report_test_util.h"

namespace heapwarden::report {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

nlohmann::json SymbolizedReport() {
  return nlohmann::json::parse(R"({
    "format": "heapwarden-report", "version": 1,
    "process": {"pid": 4242, "argv": ["./parser", "input.txt"], "exe": "/usr/bin/parser",
                "backend": "system", "mode": "exact", "complete": true, "exit_status": 0},
    "totals": {"allocations": 1204, "frees": 1200, "bytes_allocated": 5452595,
               "live_blocks": 4, "live_bytes": 11438, "peak_live_bytes": 4194304,
               "peak_time": 1.25, "rss_bytes": 12582912, "peak_rss_bytes": 20971520,
               "retained_bytes": 1048576},
    "stacks": [
      {"id": 1, "frames": [
        {"address": "0x55d0c0a1b2c3", "module": "/usr/bin/parser", "offset": 4803,
         "function": "leak_parser", "file": "src/parser.c", "line": 12},
        {"address": "0x55d0c0a1b400", "module": "/usr/bin/parser", "offset": 5120,
         "function": "main"},
        {"address": "0x7f0000001000", "module": "/lib/libc.so.6", "offset": 4096,
         "function": "??"},
        {"address": "0x1234", "module": "", "offset": 4660, "function": "??"}]},
      {"id": 2, "frames": [
        {"address": "0x55d0c0a1b500", "module": "/usr/bin/parser", "offset": 5376,
         "function": "make_node", "file": "src/tree.c", "line": 40}]},
      {"id": 3, "frames": [
        {"address": "0x55d0c0a1b600", "module": "/usr/bin/parser", "offset": 5632}]}
    ],
    "leaks": [
      {"stack": 2, "tag": "parse/tree", "kind": "indirect", "blocks": 2, "bytes": 10001, "suppressed": false},
      {"stack": 1, "tag": "", "kind": "reachable", "blocks": 1, "bytes": 64, "suppressed": false},
      {"stack": 1, "tag": "", "kind": "direct", "blocks": 1, "bytes": 1337, "suppressed": false},
      {"stack": 3, "tag": "", "kind": "direct", "blocks": 1, "bytes": 99, "suppressed": true}
    ],
    "heapwarden": {"version": "0.1.0", "symbolized": true, "dropped_events": 0}
  })");
}

std::string Render(const nlohmann::json& report, int top = 10) {
  std::ostringstream out;
  RenderText(AsLoaded(report), TextOptions{.top = top}, out);
  return out.str();
}

TEST(ReportTextTest, TotalsWithHumanAndExactSizes) {
  std::string text = Render(SymbolizedReport());
  EXPECT_THAT(text, HasSubstr("heapwarden: pid 4242 ./parser input.txt: exited with status 0\n"));
  EXPECT_THAT(text,
              HasSubstr("allocations  1204, frees 1200; 5.2 MiB (5452595 bytes) allocated\n"));
  EXPECT_THAT(text, HasSubstr("live at exit 11.2 KiB (11438 bytes) in 4 block(s)\n"));
  EXPECT_THAT(text, HasSubstr("peak live    4.0 MiB (4194304 bytes) at 1.25 s\n"));
  EXPECT_THAT(
      text, HasSubstr("RSS          12.0 MiB at exit, peak 20.0 MiB; allocator retains 1.0 MiB\n"));
}

TEST(ReportTextTest, FramesInLeakSanitizerStyle) {
  std::string text = Render(SymbolizedReport());
  EXPECT_THAT(text, HasSubstr("Direct leak of 1337 byte(s) in 1 object(s) allocated from:\n"
                              "    #0 0x55d0c0a1b2c3 in leak_parser src/parser.c:12\n"
                              "    #1 0x55d0c0a1b400 in main (/usr/bin/parser+0x1400)\n"
                              "    #2 0x7f0000001000 (/lib/libc.so.6+0x1000)\n"
                              "    #3 0x1234 (<unknown module>)\n"));
}

TEST(ReportTextTest, DirectBeforeIndirectBeforeReachableThenBySize) {
  std::string text = Render(SymbolizedReport());
  size_t direct = text.find("Direct leak of 1337");
  size_t indirect = text.find(
      "Indirect leak of 10001 byte(s) in 2 object(s) allocated under tag \"parse/tree\" from:\n"
      "    #0 0x55d0c0a1b500 in make_node src/tree.c:40\n");
  // Reachable blocks are no leaks: summed in one line after the leak groups.
  size_t reachable =
      text.find("Still reachable at exit (not leaks): 64 bytes in 1 object(s) from 1 site(s)\n");
  ASSERT_NE(direct, std::string::npos) << text;
  ASSERT_NE(indirect, std::string::npos) << text;
  ASSERT_NE(reachable, std::string::npos) << text;
  EXPECT_LT(direct, indirect);
  EXPECT_LT(indirect, reachable);
}

TEST(ReportTextTest, SuppressedLeaksAreCountedNotListed) {
  std::string text = Render(SymbolizedReport());
  EXPECT_THAT(text, Not(HasSubstr("leak of 99 ")));
  EXPECT_THAT(text, HasSubstr("Suppressed: 99 byte(s) in 1 leak group(s)\n"));
}

TEST(ReportTextTest, EndsWithTheSummaryLine) {
  EXPECT_THAT(Render(SymbolizedReport()),
              EndsWith("\nSUMMARY: heapwarden: 11338 byte(s) leaked in 3 allocation(s).\n"));
}

TEST(ReportTextTest, TopLimitsTheGroupsShown) {
  std::string text = Render(SymbolizedReport(), 1);
  EXPECT_THAT(text, HasSubstr("Direct leak of 1337"));
  EXPECT_THAT(text, Not(HasSubstr("Indirect leak")));
  EXPECT_THAT(text, HasSubstr("... 1 more group(s) with 10001 byte(s) not shown"));
  EXPECT_THAT(Render(SymbolizedReport(), 0), Not(HasSubstr("#0 ")));
}

TEST(ReportTextTest, UnleakedReportHasNoGroups) {
  nlohmann::json report = SymbolizedReport();
  report["leaks"] = nlohmann::json::array();
  report["totals"]["live_bytes"] = 0;
  report["totals"]["live_blocks"] = 0;
  std::string text = Render(report);
  EXPECT_THAT(text, Not(HasSubstr("allocated from:")));
  EXPECT_THAT(text, EndsWith("SUMMARY: heapwarden: 0 byte(s) leaked in 0 allocation(s).\n"));
}

TEST(ReportTextTest, UnclassifiedLeaksAreLiveAtExit) {
  nlohmann::json report = SymbolizedReport();
  report["leaks"] = nlohmann::json::parse(
      R"([{"stack": 2, "tag": "", "kind": "unclassified", "blocks": 1, "bytes": 7001, "suppressed": false}])");
  EXPECT_THAT(Render(report),
              HasSubstr("Live at exit: 7001 byte(s) in 1 object(s) allocated from:\n"
                        "    #0 0x55d0c0a1b500 in make_node src/tree.c:40\n"));
}

TEST(ReportTextTest, UnsymbolizedFramesShowModuleAndOffset) {
  nlohmann::json report = SymbolizedReport();
  for (auto& stack : report["stacks"]) {
    for (auto& frame : stack["frames"]) {
      frame.erase("function");
      frame.erase("file");
      frame.erase("line");
    }
  }
  EXPECT_THAT(Render(report), HasSubstr("    #0 0x55d0c0a1b2c3 (/usr/bin/parser+0x12c3)\n"));
}

// The loader refuses a leak whose stack is missing; handed one built in memory, the
// renderer says so rather than crashing.
TEST(ReportTextTest, MissingStackIsSaidNotCrashedOn) {
  nlohmann::json bad = SymbolizedReport();
  bad["leaks"][2]["stack"] = 77;
  absl::StatusOr<nlohmann::json> parsed = ParseReport(bad.dump(), "bad");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(std::string(parsed.status().message()),
              HasSubstr("(leaks[2].stack names stack 77, which is not in \"stacks\")"));
  nlohmann::json report = AsLoaded(SymbolizedReport());
  report["leaks"][2]["stack"] = 77;
  std::ostringstream out;
  RenderText(report, TextOptions{}, out);
  EXPECT_THAT(out.str(), HasSubstr("    (stack 77 is not in the report)\n"));
}

TEST(ReportTextTest, SnapshotShowsLiveSites) {
  nlohmann::json report = SymbolizedReport();
  report["process"]["complete"] = false;
  report["process"].erase("exit_status");
  report["leaks"] = nlohmann::json::array();
  report["sites"] = nlohmann::json::parse(
      R"([{"stack": 2, "tag": "load", "source": "heap", "allocations": 9, "bytes_allocated": 900,
           "live_blocks": 5, "live_bytes": 500, "peak_live_bytes": 900, "median_lifetime_s": 0.1},
          {"stack": 1, "tag": "", "source": "heap", "allocations": 1, "bytes_allocated": 10,
           "live_blocks": 0, "live_bytes": 0, "peak_live_bytes": 10, "median_lifetime_s": 0.1}])");
  std::string text = Render(report);
  EXPECT_THAT(text, HasSubstr(": snapshot taken while it ran\n"));
  EXPECT_THAT(text,
              HasSubstr("Live: 500 byte(s) in 5 object(s) allocated under tag \"load\" from:\n"));
  EXPECT_THAT(text, Not(HasSubstr("Live: 0 byte(s)")));
  EXPECT_THAT(
      text,
      EndsWith("SUMMARY: heapwarden: 11438 byte(s) live at the snapshot in 4 allocation(s).\n"));
}

TEST(ReportTextTest, KilledProcessAndCaveats) {
  nlohmann::json report = SymbolizedReport();
  report["process"].erase("exit_status");
  report["process"]["signal"] = 9;
  report["process"]["signal_name"] = "SIGKILL";
  report["process"]["mode"] = "sampled";
  report["heapwarden"]["dropped_events"] = 3;
  report["errors"] = nlohmann::json::parse(
      R"([{"kind": "double_free", "address": "0x10", "stack": 1},
          {"kind": "double_free", "address": "0x20", "stack": 1},
          {"kind": "invalid_free", "address": "0x30", "stack": 2}])");
  std::string text = Render(report);
  EXPECT_THAT(text, HasSubstr("./parser input.txt: killed by SIGKILL\n"));
  EXPECT_THAT(text, HasSubstr("(sampled mode: counts and sizes are estimates)"));
  EXPECT_THAT(text, HasSubstr("warning: 3 event(s) dropped"));
  EXPECT_THAT(text, HasSubstr("memory errors: 2 double_free, 1 invalid_free\n"));
}

// The loader refuses such a report; the renderer, handed one built in memory, still
// must not throw.
TEST(ReportTextTest, WrongTypesAreRenderedAsDefaultsNotThrown) {
  nlohmann::json bad = SymbolizedReport();
  bad["leaks"][0]["bytes"] = "lots";
  EXPECT_FALSE(ParseReport(bad.dump(), "bad").ok());
  nlohmann::json report = AsLoaded(SymbolizedReport());
  report["leaks"][0]["bytes"] = "lots";
  report["totals"]["live_bytes"] = nlohmann::json::array();
  report["process"]["argv"] = 5;
  report["frames"][0]["line"] = "twelve";
  std::string text;
  std::ostringstream out;
  EXPECT_NO_THROW(RenderText(report, TextOptions{}, out));
  text = out.str();
  EXPECT_THAT(text, HasSubstr("SUMMARY: heapwarden: 1337 byte(s) leaked"));
  EXPECT_THAT(text, HasSubstr("#0 0x55d0c0a1b2c3 in leak_parser (/usr/bin/parser+0x12c3)\n"));
}

TEST(ReportTextTest, LongCommandLineIsShortened) {
  nlohmann::json report = SymbolizedReport();
  report["process"]["argv"] = {"./parser", std::string(500, 'x')};
  std::string first_line = Render(report).substr(0, Render(report).find('\n'));
  EXPECT_LT(first_line.size(), 200u);
  EXPECT_THAT(first_line, HasSubstr("...: exited with status 0"));
}

}  // namespace
}  // namespace heapwarden::report
