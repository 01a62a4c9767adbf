// report_fuzzer.cc: libFuzzer target for the report reader (lib/report: report_io,
// report_sax, report_upgrade, report_schema). A text the reader accepts is then given
// to every consumer a command would give it to -- text, collapsed, pprof, HTML, diff,
// suppressions, JSON out -- since ValidateReport() promises them fields they can trust.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "absl/strings/string_view.h"
#include "report/collapsed.h"
#include "report/html_report.h"
#include "report/leak_summary.h"
#include "report/pprof_report.h"
#include "report/render_options.h"
#include "report/report_diff.h"
#include "report/report_io.h"
#include "report/report_text.h"
#include "report/suppressions.h"

namespace report = heapwarden::report;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<nlohmann::json> parsed = report::ParseReport(text, "fuzz.json");
  if (!parsed.ok()) return 0;
  nlohmann::json& r = *parsed;
  std::ostringstream out;
  report::RenderText(r, report::TextOptions{}, out);
  report::RenderOptions options;
  report::RenderCollapsed(r, options, out).IgnoreError();
  report::RenderPprof(r).IgnoreError();
  report::RenderHtml(r);
  report::SummarizeLeaks(r);
  report::ReportDiff diff = report::DiffReports(r, r);
  report::RenderDiffText(diff, "a", "b", 10, out);
  report::DiffJson(diff, "a", "b");
  report::ApplyRunSuppressions(r, "").IgnoreError();
  // What `symbolize` and `report --format json` write must read back.
  std::string again = report::ReportJson(r);
  if (!report::ParseReport(again, "again.json").ok()) __builtin_trap();
  return 0;
}
