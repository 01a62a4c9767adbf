// report_python_frames_test.cc: frames of kind "python" in a raw report (issue 13): they
// pass validation without an address, are never symbolized, and print as
// "#N function file:line". Report side.
#include <string>

#include "gtest/gtest.h"
#include "report/report_io.h"
#include "report/report_index.h"
#include "report/report_text.h"
#include "report/site_rollup.h"

namespace heapwarden::report {
namespace {

const char* kReport = R"({
  "format": "heapwarden-report", "version": 1,
  "process": {"pid": 7, "argv": ["python3", "job.py"], "complete": true, "exit_status": 0},
  "totals": {"live_blocks": 1, "live_bytes": 10},
  "stacks": [{"id": 1, "frames": [
    {"address": "0x10", "module": "/usr/bin/python3.11", "offset": 16},
    {"kind": "python", "function": "load_table", "file": "/home/me/job.py", "line": 10}]}],
  "sites": [], "leaks": []
})";

TEST(ReportPythonFrames, PassValidationWithoutAnAddress) {
  auto report = ParseReport(kReport, "python.json");
  ASSERT_TRUE(report.ok()) << report.status();
}

TEST(ReportPythonFrames, APythonFrameWithoutALineIsRejected) {
  std::string text = kReport;
  text.replace(text.find("\"line\": 10"), 10, "\"line\": \"x\"");
  auto report = ParseReport(text, "python.json");
  ASSERT_FALSE(report.ok());
  EXPECT_NE(std::string(report.status().message()).find("frames[1].line"), std::string::npos)
      << report.status();
}

TEST(ReportPythonFrames, PrintAsFunctionFileLine) {
  nlohmann::json frame = {{"kind", "python"}, {"function", "load_table"}, {"file", "/home/me/job.py"},
                          {"line", 10}};
  EXPECT_EQ(FrameLine(4, frame, ""), "    #4 load_table /home/me/job.py:10");
}

TEST(ReportPythonFrames, ASiteIsNamedByItsInnermostPythonLine) {
  // numpy's unnamed C frame allocates; the user's line called it: the site reads as the line.
  nlohmann::json report = {
      {"modules", {{{"id", 0}, {"path", "/usr/lib/numpy/_multiarray_umath.so"}}}},
      {"frames",
       {{{"id", 0}, {"kind", "native"}, {"module", 0}, {"address", "0x1000"}, {"offset", 4096},
         {"function", "??"}},
        {{"id", 1}, {"kind", "python"}, {"function", "load_table"}, {"file", "/home/me/job.py"},
         {"line", 10}},
        {{"id", 2}, {"kind", "python"}, {"function", "<module>"}, {"file", "/home/me/job.py"},
         {"line", 20}}}},
      {"stacks", {{{"id", 7}, {"frames", {0, 1, 2}}}}}};
  ReportIndex index(report);
  EXPECT_EQ(SiteName(index, 7, 200), "load_table (/home/me/job.py:10) < <module> (/home/me/job.py:20)");
}

}  // namespace
}  // namespace heapwarden::report
