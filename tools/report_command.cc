// report_command.cc: `heapwarden report FILE [--format F] [--top N] [-o OUT]`: renders
// a saved report, symbolizing it in memory first when it is still raw.
// Report side (tool).
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "commands.h"
#include "report/html_report.h"
#include "report/pprof_report.h"
#include "report/report_io.h"
#include "report/report_text.h"
#include "report/symbolize_report.h"
#include "report/symbolizer.h"
#include "report/to_v2_for_now.h"

namespace heapwarden::tools {
namespace {

// Formats the spec promises; the ones after json are for later issues.
constexpr const char* kPendingFormats[] = {"collapsed"};

// Splits "--flag=value" or takes the next argument; false when there is none.
bool FlagValue(const std::vector<std::string>& args, size_t& i, const std::string& flag,
               std::string* value) {
  const std::string& arg = args[i];
  if (arg.size() > flag.size() && arg.compare(0, flag.size() + 1, flag + "=") == 0) {
    *value = arg.substr(flag.size() + 1);
    return true;
  }
  if (i + 1 >= args.size()) return false;
  *value = args[++i];
  return true;
}

}  // namespace

int ReportMain(const std::vector<std::string>& args) {
  std::string file;
  std::string format = "text";
  std::string output;  // empty: standard output
  report::TextOptions text_options;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << "usage: heapwarden " << FindCommand("report")->synopsis << "\n";
      return kExitOk;
    }
    if (arg == "--format" || arg.starts_with("--format=")) {
      if (!FlagValue(args, i, "--format", &format)) {
        return UsageError("report", "--format: missing value");
      }
      continue;
    }
    if (arg == "-o" || arg == "--output" || arg.starts_with("--output=")) {
      if (!FlagValue(args, i, arg == "-o" ? "-o" : "--output", &output) || output.empty()) {
        return UsageError("report", "-o/--output: missing file name");
      }
      continue;
    }
    if (arg == "--top" || arg.starts_with("--top=")) {
      std::string value;
      if (!FlagValue(args, i, "--top", &value)) return UsageError("report", "--top: missing value");
      if (!absl::SimpleAtoi(value, &text_options.top) || text_options.top < 0 ||
          value.find_first_not_of("0123456789") != std::string::npos) {
        return UsageError("report", absl::StrCat("--top: expected an integer, got '", value, "'"));
      }
      continue;
    }
    if (arg.starts_with("-") && arg != "-") {
      return UsageError("report", absl::StrCat("unknown option '", arg, "'"));
    }
    if (!file.empty()) return UsageError("report", absl::StrCat("unexpected argument '", arg, "'"));
    file = arg;
  }
  if (file.empty()) return UsageError("report", "report: missing the report file");
  for (const char* pending : kPendingFormats) {
    if (format == pending) {
      PrintError(absl::StrCat("--format ", format, ": not implemented yet"));
      return kExitUsage;
    }
  }
  if (format != "text" && format != "json" && format != "html" && format != "pprof") {
    return UsageError("report", absl::StrCat("--format: expected one of text|json|html|pprof, got '",
                                             format, "'"));
  }

  absl::StatusOr<nlohmann::json> loaded = report::LoadReport(file);
  if (!loaded.ok()) {
    PrintError(loaded.status().message());
    return kExitFailure;
  }
  nlohmann::json& report = *loaded;
  if (!report::IsSymbolized(report)) {
    report::Symbolizer symbolizer;
    report::SymbolizeReport(report, symbolizer);
  }
  std::ostringstream rendered;
  if (format == "json") {
    rendered << report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else if (format == "html") {
    rendered << report::RenderHtml(report::ToV2ForNow(report));
  } else if (format == "pprof") {
    absl::StatusOr<std::string> profile = report::RenderPprof(report::ToV2ForNow(report));
    if (!profile.ok()) {
      PrintError(profile.status().message());
      return kExitFailure;
    }
    rendered << *profile;
  } else {
    report::RenderText(report, text_options, rendered);
  }
  if (!output.empty()) {
    absl::Status written = report::WriteFileAtomically(output, rendered.str());
    if (!written.ok()) {
      PrintError(written.message());
      return kExitFailure;
    }
    return kExitOk;
  }
  std::cout << rendered.view();
  std::cout.flush();
  if (!std::cout) {
    PrintError("report: cannot write to standard output");
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace heapwarden::tools
