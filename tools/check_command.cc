// check_command.cc: `heapwarden check FILE [--max-leak-bytes N] [--suppressions F]`:
// the CI gate of `heapwarden run --fail-on-leak`, applied to a saved report.
// Report side (tool).
//
// The verdict is the run's: unsuppressed direct + indirect leak bytes above the
// maximum fail. Without flags the report's own settings decide -- the suppressions
// `heapwarden run` already marked (or, for a report that never went through them, the
// built-in rules and the `suppressions` option the process ran with) and the
// max_leak_bytes it ran with -- so checking a saved report repeats the run's verdict.
// --suppressions re-applies the built-in rules and that file instead.
//
// Exit status: 0 pass, 23 fail, 2 for a bad command line or a report (or suppressions
// file) that cannot be read.
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "commands.h"
#include "report/leak_summary.h"
#include "report/leak_text.h"
#include "report/report_fields.h"
#include "report/report_heap.h"
#include "report/report_io.h"
#include "report/report_text.h"
#include "report/suppressions.h"
#include "report/symbolize_report.h"
#include "report/symbolizer.h"

namespace heapwarden::tools {
namespace {

constexpr int kCheckUnreadable = 2;

constexpr char kCheckHelp[] =
    "usage: heapwarden check FILE [--max-leak-bytes N] [--suppressions F] [--quiet]\n"
    "                        [--report-on-failure]\n"
    "\n"
    "Applies the leak gate of `heapwarden run --fail-on-leak` to a saved report: fails\n"
    "when unsuppressed direct + indirect leaks exceed the maximum. Prints the leak report\n"
    "(LeakSanitizer's layout) to stdout.\n"
    "\n"
    "options:\n"
    "  --max-leak-bytes N   leaked bytes tolerated (default: what the run used, else 0)\n"
    "  --suppressions F     apply the built-in rules and the leak:PATTERN lines of F\n"
    "                       (default: keep the suppressions the run applied)\n"
    "  --quiet              print only the SUMMARY line\n"
    "  --report-on-failure  print the leak report when the gate fails, nothing when it\n"
    "                       passes (what the bare preload's fail_on_leak=1 runs at exit)\n"
    "\n"
    "exit status: 0 pass, 23 leaks above the maximum, 2 unreadable report or bad usage\n";

int CheckUsage(const std::string& message) {
  UsageError("check", message);
  return kCheckUnreadable;
}

}  // namespace

int CheckMain(const std::vector<std::string>& args) {
  std::string file;
  std::optional<int64_t> max_leak_bytes;
  std::optional<std::string> suppressions;
  bool quiet = false;
  bool only_on_failure = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    std::string value;
    const bool has_value = SplitInlineValue(&arg, &value);
    if (arg == "-h" || arg == "--help") {
      std::cout << kCheckHelp;
      return kExitOk;
    }
    if (arg == "--quiet" || arg == "-q") {
      quiet = true;
      continue;
    }
    if (arg == "--report-on-failure") {
      only_on_failure = true;
      continue;
    }
    if (arg == "--max-leak-bytes" || arg == "--suppressions") {
      if (!has_value) {
        if (i + 1 >= args.size()) return CheckUsage(absl::StrCat(arg, ": missing value"));
        value = args[++i];
      }
      if (arg == "--suppressions") {
        suppressions = value;
        continue;
      }
      int64_t parsed = 0;
      if (!absl::SimpleAtoi(value, &parsed) || parsed < 0) {
        return CheckUsage(absl::StrCat("--max-leak-bytes: expected a non-negative integer, got '",
                                       value, "'"));
      }
      max_leak_bytes = parsed;
      continue;
    }
    if (arg.starts_with("-") && arg != "-") return CheckUsage(absl::StrCat("unknown option '", arg, "'"));
    if (!file.empty()) return CheckUsage(absl::StrCat("unexpected argument '", arg, "'"));
    file = arg;
  }
  if (file.empty()) return CheckUsage("check: missing the report file");

  report::PrepareHeapForReportFile(file);
  absl::StatusOr<nlohmann::json> loaded = report::LoadReport(file);
  if (!loaded.ok()) {
    PrintError(loaded.status().message());
    return kCheckUnreadable;
  }
  nlohmann::json& report = *loaded;
  const nlohmann::json& meta = report::ObjectField(report, "heapwarden");
  if (report::StringField(report::ObjectField(report, "process"), "mode") == "sampled") {
    PrintError(absl::StrCat(file, ": a sampled report has no leak check; run with --mode exact"));
    return kCheckUnreadable;
  }

  // What the process ran with; a run's own record of its gate wins over it.
  report::LeakGateOptions ran_with;
  report::ParseLeakGateOptions(report::StringField(meta, "options"), &ran_with);
  const nlohmann::json& gate = report::ObjectField(meta, "leak_gate");
  if (report::HasField(gate, "max_leak_bytes")) {
    ran_with.max_leak_bytes = report::IntField(gate, "max_leak_bytes");
  }

  if (!report::IsSymbolized(report)) {
    report::Symbolizer symbolizer;
    report::SymbolizeReport(report, symbolizer);
  }
  if (suppressions.has_value()) {
    absl::Status status = report::ApplyRunSuppressions(report, *suppressions);
    if (!status.ok()) {
      PrintError(status.message());
      return kCheckUnreadable;
    }
  } else if (!report::HasField(meta, "suppressions_used")) {
    absl::Status status = report::ApplyRunSuppressions(report, ran_with.suppressions);
    if (!status.ok()) {
      PrintError(absl::StrCat(status.message(), " (the run's suppressions; only the built-in rules apply)"));
      report::ApplyRunSuppressions(report, "").IgnoreError();
    }
  }

  const int64_t max = max_leak_bytes.value_or(ran_with.max_leak_bytes);
  const report::LeakSummary summary = report::SummarizeLeaks(report);
  const bool fails = report::LeakGateFails(summary, max);
  if (only_on_failure && !fails) return kExitOk;
  if (quiet) {
    std::cout << report::LeakSummaryLine(report) << "\n";
  } else {
    report::RenderText(report, report::TextOptions{}, std::cout);
  }
  std::cout.flush();
  PrintError(absl::StrFormat("check: %d byte(s) leaked in %d allocation(s), %d tolerated: %s",
                             summary.leaked_bytes(), summary.leaked_blocks(), max,
                             fails ? "FAIL" : "pass"));
  return fails ? report::kDefaultLeakExitCode : kExitOk;
}

}  // namespace heapwarden::tools
