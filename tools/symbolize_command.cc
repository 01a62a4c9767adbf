// symbolize_command.cc: `heapwarden symbolize FILE [-o OUT] [--summary]`: adds function,
// file and line to a raw report and marks it symbolized. The preload runs this in a
// helper process when a bare-preloaded program exits, so it reads no terminal and never
// waits on the network (see Symbolizer), and prints nothing on success unless asked for
// the summary (the `summary` option): then it prints what `heapwarden run` prints.
// Report side (tool).
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "commands.h"
#include "report/leak_summary.h"
#include "report/report_fields.h"
#include "report/report_heap.h"
#include "report/report_io.h"
#include "report/report_text.h"
#include "report/suppressions.h"
#include "report/symbolize_report.h"
#include "report/symbolizer.h"

namespace heapwarden::tools {
namespace {

// A final report leaves the bare preload raw: give it the suppressions `heapwarden run`
// would (the built-in rules and the `suppressions` option it ran with), so the file
// reads the same and `heapwarden check` repeats the verdict.
void ApplySuppressionsRanWith(nlohmann::json& report) {
  const nlohmann::json& meta = report::ObjectField(report, "heapwarden");
  if (report::HasField(meta, "suppressions_used")) return;
  report::LeakGateOptions ran_with;
  report::ParseLeakGateOptions(report::StringField(meta, "options"), &ran_with);
  absl::Status status = report::ApplyRunSuppressions(report, ran_with.suppressions);
  if (!status.ok()) {
    PrintError(status.message());
    report::ApplyRunSuppressions(report, "").IgnoreError();
  }
}

}  // namespace

int SymbolizeMain(const std::vector<std::string>& args) {
  std::string file;
  std::string output;
  bool summary = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << "usage: heapwarden " << FindCommand("symbolize")->synopsis << "\n";
      return kExitOk;
    }
    if (arg == "-o" || arg == "--output") {
      if (i + 1 >= args.size())
        return UsageError("symbolize", absl::StrCat(arg, ": missing file name"));
      output = args[++i];
      continue;
    }
    if (arg == "--summary") {
      summary = true;
      continue;
    }
    if (arg.starts_with("--output=")) {
      output = arg.substr(9);
      continue;
    }
    if (arg.starts_with("-") && arg != "-") {
      return UsageError("symbolize", absl::StrCat("unknown option '", arg, "'"));
    }
    if (!file.empty())
      return UsageError("symbolize", absl::StrCat("unexpected argument '", arg, "'"));
    file = arg;
  }
  if (file.empty()) return UsageError("symbolize", "symbolize: missing the report file");
  if (output.empty()) output = file;

  int file_version = 0;
  report::PrepareHeapForReportFile(file);
  absl::StatusOr<nlohmann::json> report = report::LoadReport(file, &file_version);
  if (!report.ok()) {
    PrintError(report.status().message());
    return kExitBadInput;
  }
  // Already symbolized version 2 and nowhere else to put it: nothing to do (and
  // rewriting would only race with a reader for no gain). A version-1 file is rewritten
  // as version 2.
  bool symbolized = report::IsSymbolized(*report);
  absl::Status status = absl::OkStatus();
  const bool current = symbolized && file_version == heapwarden::kReportVersion;
  if (!current || output != file) {
    if (!symbolized) {
      report::Symbolizer symbolizer;
      report::SymbolizeReport(*report, symbolizer);
      ApplySuppressionsRanWith(*report);
    }
    status = report::WriteReportAtomically(output, *report);
  }
  // Like LeakSanitizer: a program that leaked says so on stderr; a clean one stays
  // silent, so the shim changes nothing a clean program prints.
  if (summary && report::SummarizeLeaks(*report).leaked_bytes() > 0) {
    report::RenderText(*report, report::TextOptions{}, std::cerr);
    if (status.ok()) PrintError(absl::StrCat("report written to ", output));
  }
  report::KeepUntilExit(std::move(*report));
  if (!status.ok()) {
    PrintError(status.message());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace heapwarden::tools
