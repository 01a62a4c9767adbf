// diff_command.cc: `heapwarden diff OLD NEW [--format text|json] [--top N]
// [--fail-on-growth BYTES] [-o OUT]`: what grew and what shrank between two reports or
// snapshots of one program, sites matched by their symbolized frames (report_diff.h).
// Report side (tool).
//
// Exit status: 0, or 23 when --fail-on-growth is given and live memory grew by more
// than BYTES; 1 when the output cannot be written; 2 for bad usage or a report that
// cannot be read.
#include <unistd.h>

#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "commands.h"
#include "common/report_format.h"
#include "report/human_size.h"
#include "report/leak_summary.h"
#include "report/report_diff.h"
#include "report/report_io.h"
#include "report/symbolize_report.h"
#include "report/symbolizer.h"

namespace heapwarden::tools {
namespace {

constexpr char kDiffHelp[] =
    "usage: heapwarden diff OLD NEW [--format text|json] [--top N] [--fail-on-growth BYTES]\n"
    "                      [-o OUT]\n"
    "\n"
    "What grew and what shrank between two reports or snapshots of one program: sites\n"
    "are matched by their frames' functions and files (module and offset where a frame\n"
    "has no name), never by address, so two runs or two builds compare. Lists the sites\n"
    "whose live bytes grew and shrank and whose allocations rose and fell, largest\n"
    "first, with their stacks.\n"
    "\n"
    "options:\n"
    "  --format F             text (default) or json\n"
    "  --top N                sites per list (default 10)\n"
    "  --fail-on-growth BYTES exit 23 when live memory grew by more than BYTES\n"
    "  -o, --output OUT       write to OUT (replaced atomically, mode 0600), not stdout\n"
    "\n"
    "exit status: 0 ok, 23 live memory grew by more than --fail-on-growth, 1 the output\n"
    "could not be written, 2 bad usage or a report that cannot be read\n";

int DiffUsage(const std::string& message) { return UsageError("diff", message); }

// Loads and symbolizes one side; prints why not.
std::optional<nlohmann::json> LoadSide(const std::string& path, report::Symbolizer& symbolizer) {
  absl::StatusOr<nlohmann::json> loaded = report::LoadReport(path);
  if (!loaded.ok()) {
    PrintError(loaded.status().message());
    return std::nullopt;
  }
  if (!report::IsSymbolized(*loaded)) report::SymbolizeReport(*loaded, symbolizer);
  return std::move(*loaded);
}

}  // namespace

int DiffMain(const std::vector<std::string>& args) {
  std::vector<std::string> files;
  std::string format = "text";
  std::string output;
  int top = 10;
  std::optional<int64_t> fail_on_growth;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << kDiffHelp;
      return kExitOk;
    }
    std::string value;
    const bool has_value = SplitInlineValue(&arg, &value);
    if (arg == "--format" || arg == "--top" || arg == "--fail-on-growth" || arg == "--output" ||
        arg == "-o") {
      if (!has_value) {
        if (i + 1 >= args.size()) return DiffUsage(absl::StrCat(arg, ": missing value"));
        value = args[++i];
      }
      if (arg == "--format") {
        if (value != "text" && value != "json") {
          return DiffUsage(absl::StrCat("--format: expected one of text|json, got '", value, "'"));
        }
        format = value;
      } else if (arg == "--top") {
        if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos ||
            !absl::SimpleAtoi(value, &top)) {
          return DiffUsage(absl::StrCat("--top: expected an integer, got '", value, "'"));
        }
      } else if (arg == "--fail-on-growth") {
        int64_t bytes = 0;
        if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos ||
            !absl::SimpleAtoi(value, &bytes)) {
          return DiffUsage(
              absl::StrCat("--fail-on-growth: expected a number of bytes, got '", value, "'"));
        }
        fail_on_growth = bytes;
      } else {
        if (value.empty()) return DiffUsage(absl::StrCat(arg, ": empty file name"));
        output = value;
      }
      continue;
    }
    if (arg.starts_with("-") && arg != "-") return DiffUsage(absl::StrCat("unknown option '", arg, "'"));
    files.push_back(args[i]);
  }
  if (files.size() != 2) {
    return DiffUsage(files.size() < 2 ? "diff: expected two reports, OLD and NEW"
                                      : absl::StrCat("unexpected argument '", files[2], "'"));
  }

  report::Symbolizer symbolizer;
  std::optional<nlohmann::json> before = LoadSide(files[0], symbolizer);
  if (!before) return kExitBadInput;
  std::optional<nlohmann::json> after = LoadSide(files[1], symbolizer);
  if (!after) return kExitBadInput;

  const report::ReportDiff diff = report::DiffReports(*before, *after);
  std::ostringstream buffer;
  std::ostream& out = output.empty() ? std::cout : buffer;
  if (format == "json") {
    const bool pretty = output.empty() && isatty(STDOUT_FILENO) == 1;
    out << report::ReportJson(report::DiffJson(diff, files[0], files[1]), pretty);
  } else {
    report::RenderDiffText(diff, files[0], files[1], top, out);
  }
  if (!output.empty()) {
    absl::Status written = report::WriteFileAtomically(output, buffer.str());
    if (!written.ok()) {
      PrintError(written.message());
      return kExitFailure;
    }
  } else {
    std::cout.flush();
    if (!std::cout) {
      PrintError("diff: cannot write to standard output");
      return kExitFailure;
    }
  }
  if (fail_on_growth.has_value()) {
    const bool fails = diff.live_growth() > *fail_on_growth;
    PrintError(absl::StrFormat("diff: live memory grew by %d byte(s) (%s), %d tolerated: %s",
                               diff.live_growth(), report::HumanBytes(diff.live_growth()),
                               *fail_on_growth, fails ? "FAIL" : "pass"));
    if (fails) return kLeakExitCode;
  }
  return kExitOk;
}

}  // namespace heapwarden::tools
