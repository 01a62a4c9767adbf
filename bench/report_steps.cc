// report_steps.cc: times each step `heapwarden run` takes after the child has ended,
// on a raw report left by the preload (symbolize=0): read, depth check, parse, validate,
// symbolize, suppressions, serialize, write, render the summary, free (after readying
// the heap as the tool does, report_heap.h). Each step is
// timed alone so a change to one of them shows where it paid.
// usage: heapwarden_bench_report_steps RAW.json [OUT.json] [ROUNDS]
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <utility>

#include "report/json_depth.h"
#include "report/leak_summary.h"
#include "report/report_heap.h"
#include "report/report_io.h"
#include "report/report_sax.h"
#include "report/report_schema.h"
#include "report/report_text.h"
#include "report/suppressions.h"
#include "report/symbolize_report.h"
#include "report/symbolizer.h"

namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s RAW.json [OUT.json] [ROUNDS]\n", argv[0]);
    return 2;
  }
  const std::string out_path = argc > 2 ? argv[2] : "/tmp/report_steps.out.json";
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 3;
  namespace report = heapwarden::report;
  for (int round = 0; round < rounds; ++round) {
    Clock::time_point total = Clock::now();
    Clock::time_point t = Clock::now();
    // As the tool does; STEPS_SMALL_PAGES=1 measures without it.
    if (round == 0 && std::getenv("STEPS_SMALL_PAGES") == nullptr) {
      struct stat st;
      if (stat(argv[1], &st) == 0) report::PrepareHeapForReport(static_cast<size_t>(st.st_size));
    }
    absl::StatusOr<std::string> text = report::ReadRegularFile(argv[1]);
    if (!text.ok()) {
      std::fprintf(stderr, "%s\n", std::string(text.status().message()).c_str());
      return 2;
    }
    double read_s = Since(t);
    t = Clock::now();
    (void)report::CheckJsonDepth(*text);
    double depth_s = Since(t);
    t = Clock::now();
    nlohmann::json doc;
    absl::Status parsed = report::ParseAndUpgrade(*text, &doc);
    double parse_s = Since(t);
    t = Clock::now();
    absl::Status valid = report::ValidateReport(doc);
    double validate_s = Since(t);
    if (!parsed.ok() || !valid.ok()) {
      std::fprintf(stderr, "bad report\n");
      return 2;
    }
    t = Clock::now();
    report::Symbolizer symbolizer;
    report::SymbolizeReport(doc, symbolizer);
    double symbolize_s = Since(t);
    t = Clock::now();
    report::SuppressionList suppressions;
    suppressions.AddBuiltIn();
    report::ApplySuppressions(doc, suppressions);
    (void)report::SummarizeLeaks(doc);
    double suppress_s = Since(t);
    t = Clock::now();
    std::string json_text = report::ReportJson(doc);
    double dump_s = Since(t);
    t = Clock::now();
    (void)report::WriteFileAtomically(out_path, json_text);
    double write_s = Since(t);
    t = Clock::now();
    std::ostringstream summary;
    report::RenderText(doc, report::TextOptions{}, summary);
    double render_s = Since(t);
    t = Clock::now();
    { nlohmann::json gone = std::move(doc); }
    double free_s = Since(t);
    std::printf(
        "read %.3f depth %.3f parse %.3f validate %.3f symbolize %.3f suppress %.3f "
        "dump %.3f write %.3f render %.3f free %.3f total %.3f s (%zu -> %zu bytes)\n",
        read_s, depth_s, parse_s, validate_s, symbolize_s, suppress_s, dump_s, write_s,
        render_s, free_s, Since(total), text->size(), json_text.size());
  }
  return 0;
}
