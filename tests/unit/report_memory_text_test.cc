// report_memory_text_test.cc: "where did my memory go" -- the peak and live sections of
// the text report, their roll-ups, and collapsed stacks -- on a hand-written report with
// native and python frames. Report side.
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "report/collapsed.h"
#include "report/memory_text.h"
#include "report/report_index.h"
#include "report_test_util.h"

namespace heapwarden::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

nlohmann::json Report() {
  return AsLoaded(nlohmann::json::parse(R"({
    "format": "heapwarden-report", "version": 1,
    "process": {"pid": 1, "complete": true},
    "totals": {"live_bytes": 3000, "live_blocks": 3, "peak_live_bytes": 10000, "peak_time": 1.5},
    "stacks": [
      {"id": 1, "frames": [
        {"address": "0x10", "module": "/usr/lib/libnumpy.so", "offset": 16, "function": "PyArray_NewFromDescr"},
        {"kind": "python", "function": "load", "file": "train.py", "line": 12},
        {"kind": "python", "function": "<module>", "file": "train.py", "line": 30},
        {"address": "0x90", "module": "/usr/bin/python3", "offset": 144, "function": "main"}]},
      {"id": 2, "frames": [
        {"address": "0x10", "module": "/usr/lib/libnumpy.so", "offset": 16, "function": "PyArray_NewFromDescr"},
        {"kind": "python", "function": "load", "file": "train.py", "line": 14},
        {"kind": "python", "function": "<module>", "file": "train.py", "line": 30},
        {"address": "0x90", "module": "/usr/bin/python3", "offset": 144, "function": "main"}]},
      {"id": 3, "frames": [
        {"address": "0x20", "module": "/usr/lib/libfoo.so.1", "offset": 6699},
        {"address": "0x90", "module": "/usr/bin/python3", "offset": 144, "function": "main"}]}
    ],
    "sites": [
      {"stack": 1, "tag": "epoch/load", "source": "heap", "live_bytes": 1000, "live_blocks": 1},
      {"stack": 2, "tag": "", "source": "heap", "live_bytes": 2000, "live_blocks": 2},
      {"stack": 3, "tag": "", "source": "mapped", "live_bytes": 7777, "live_blocks": 1}
    ],
    "leaks": [{"stack": 3, "tag": "", "kind": "direct", "blocks": 1, "bytes": 64, "suppressed": false}],
    "peak": {"time": 1.5, "live_bytes": 10000, "sites": [
      {"stack": 1, "tag": "epoch/load", "live_blocks": 6, "live_bytes": 6000},
      {"stack": 2, "tag": "", "live_blocks": 3, "live_bytes": 3000},
      {"stack": 3, "tag": "", "live_blocks": 1, "live_bytes": 1000}]}
  })"));
}

std::string Render(const nlohmann::json& report, RenderOptions options = {}) {
  const ReportIndex index(report);
  std::ostringstream out;
  RenderWhereMemoryWent(index, options, out);
  return out.str();
}

TEST(MemoryText, PeakBySiteWithShareAndTag) {
  const std::string text = Render(Report());
  EXPECT_THAT(text, HasSubstr("\nPeak: 9.8 KiB (10000 bytes) live at 1.50 s\nPeak by site:\n"
                              "       bytes  share  blocks  site\n"
                              "     5.9 KiB  60.0%       6  load (train.py:12) < <module> (trai... [epoch/load]\n"));
  // A site with Python frames is named from its innermost Python line (the C frame
  // inside it, PyArray_NewFromDescr, is in the stack); untagged, it gets the whole width.
  EXPECT_THAT(text, HasSubstr("3  load (train.py:14) < <module> (train.py:30)\n"));
  // An unnamed frame before the first named one says nothing a reader can use.
  EXPECT_THAT(text, HasSubstr("  1000 B  10.0%       1  main\n"));
}

// Python frames roll up by line: the two lines of load() are two rows; the native frame
// every stack shares with nothing of its own (main) is left out.
TEST(MemoryText, PythonFramesRollUpByLine) {
  const std::string text = Render(Report());
  EXPECT_THAT(text, HasSubstr("Peak by function (each counts every site it is on):\n"
                              "       bytes  share  blocks  function\n"
                              "     8.8 KiB  90.0%       9  <module> (train.py:30)\n"
                              "     8.8 KiB  90.0%       9  PyArray_NewFromDescr\n"
                              "     5.9 KiB  60.0%       6  load (train.py:12)\n"
                              "     2.9 KiB  30.0%       3  load (train.py:14)\n"
                              "  ... 1 function(s) on every stack not shown; unnamed frames hidden\n"));
  EXPECT_THAT(text, Not(HasSubstr("libfoo.so.1+0x1a2b\n")));
}

// A stripped library (Debian's libsqlite3) and a stripped program: the site is named
// from its first named frame, each run of unnamed frames in one module is one
// "module+..."; the function table lists functions only. A stack with no name at all
// keeps its offsets in both.
TEST(MemoryText, StrippedFramesFoldIntoTheirModule) {
  const nlohmann::json report = AsLoaded(nlohmann::json::parse(R"({
    "format": "heapwarden-report", "version": 1,
    "process": {"pid": 1, "complete": true},
    "totals": {"live_bytes": 300, "live_blocks": 2},
    "stacks": [
      {"id": 1, "frames": [
        {"address": "0x1", "module": "/usr/lib/libsq.so", "offset": 1},
        {"address": "0x2", "module": "/usr/lib/libsq.so", "offset": 2, "function": "sqMalloc"},
        {"address": "0x3", "module": "/usr/lib/libsq.so", "offset": 3},
        {"address": "0x4", "module": "/usr/lib/libsq.so", "offset": 4},
        {"address": "0x5", "module": "/usr/lib/libsq.so", "offset": 5, "function": "sq_step"},
        {"address": "0x6", "module": "/usr/bin/sqlite3", "offset": 6},
        {"address": "0x7", "module": "/usr/lib/libc.so.6", "offset": 7, "function": "__libc_start_call_main"}]},
      {"id": 2, "frames": [
        {"address": "0x8", "module": "/usr/lib/libstripped.so", "offset": 8},
        {"address": "0x9", "module": "/usr/bin/stripped", "offset": 9}]}
    ],
    "sites": [
      {"stack": 1, "tag": "", "source": "heap", "live_bytes": 200, "live_blocks": 1},
      {"stack": 2, "tag": "", "source": "heap", "live_bytes": 100, "live_blocks": 1}
    ]
  })"));
  const std::string text = Render(report);
  EXPECT_THAT(text, HasSubstr("  sqMalloc < libsq.so+... < sq_step < sqlite3+...\n"));
  EXPECT_THAT(text, HasSubstr("  libstripped.so+0x8 < stripped+0x9\n"));
  EXPECT_THAT(text, HasSubstr("       200 B  66.7%       1  sqMalloc\n"));
  EXPECT_THAT(text, HasSubstr("       100 B  33.3%       1  libstripped.so+0x8\n"));
  EXPECT_THAT(text, Not(HasSubstr("libsq.so+0x")));
}

// A stripped program (Debian's git) whose only named frames are libc's entry frames,
// never shown: its site keeps its offsets. It read "(stack 2: no frames)" when the
// entry frame's name counted as a name the site could show.
TEST(MemoryText, StrippedProgramUnderNamedEntryFramesKeepsItsOffsets) {
  const nlohmann::json report = AsLoaded(nlohmann::json::parse(R"({
    "format": "heapwarden-report", "version": 1,
    "process": {"pid": 1, "complete": true},
    "totals": {"live_bytes": 100, "live_blocks": 1},
    "stacks": [
      {"id": 2, "frames": [
        {"address": "0xa", "module": "/usr/bin/git", "offset": 10},
        {"address": "0xb", "module": "/usr/bin/git", "offset": 11},
        {"address": "0xc", "module": "/usr/lib/libc.so.6", "offset": 12, "function": "__libc_start_call_main"}]}
    ],
    "sites": [{"stack": 2, "tag": "", "source": "heap", "live_bytes": 100, "live_blocks": 1}]
  })"));
  const std::string text = Render(report);
  EXPECT_THAT(text, HasSubstr("  git+0xa < git+0xb\n"));
  EXPECT_THAT(text, Not(HasSubstr("no frames")));
}

// Live memory is the heap's: the program's own mapping (7777 bytes) is not a row of it.
TEST(MemoryText, LiveIsHeapOnlyAndTopLimitsRows) {
  RenderOptions options;
  options.top = 1;
  options.by = "tag";
  const std::string text = Render(Report(), options);
  EXPECT_THAT(text, HasSubstr("Live at exit: 2.9 KiB (3000 bytes) in 3 block(s)\n"
                              "Live at exit by tag:\n"
                              "       bytes  share  blocks  tag\n"
                              "     2.0 KiB  66.7%       2  (no tag)\n"
                              "  ... 1 more with 1000 B\n"));
  EXPECT_THAT(text, Not(HasSubstr("7777")));
  EXPECT_THAT(text, Not(HasSubstr("by site")));
  options.top = 0;
  EXPECT_EQ(Render(Report(), options), "");
}

TEST(Collapsed, OutermostFirstPerMeasure) {
  const nlohmann::json report = Report();
  std::ostringstream out;
  RenderOptions options;
  ASSERT_TRUE(RenderCollapsed(report, options, out).ok());
  EXPECT_EQ(out.str(),
            "main;<module> (train.py:30);load (train.py:12);PyArray_NewFromDescr 6000\n"
            "main;<module> (train.py:30);load (train.py:14);PyArray_NewFromDescr 3000\n"
            "main;libfoo.so.1+0x1a2b 1000\n");
  options.measure = "leaked";
  out.str("");
  ASSERT_TRUE(RenderCollapsed(report, options, out).ok());
  EXPECT_EQ(out.str(), "main;libfoo.so.1+0x1a2b 64\n");
  options.measure = "nonsense";
  EXPECT_FALSE(RenderCollapsed(report, options, out).ok());
}

}  // namespace
}  // namespace heapwarden::report
