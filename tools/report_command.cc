// report_command.cc: `heapwarden report FILE [--format text|json] [--top N]`: renders
// a saved report, symbolizing it in memory first when it is still raw.
// Report side (tool).
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "commands.h"
#include "report/report_io.h"
#include "report/report_text.h"
#include "report/symbolize_report.h"
#include "report/symbolizer.h"

namespace heapwarden::tools {
namespace {

// Formats the spec promises; the ones after json are for later issues.
constexpr const char* kPendingFormats[] = {"html", "collapsed", "pprof"};

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
  if (format != "text" && format != "json") {
    return UsageError("report",
                      absl::StrCat("--format: expected one of text|json, got '", format, "'"));
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
  if (format == "json") {
    std::cout << report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    report::RenderText(report, text_options, std::cout);
  }
  std::cout.flush();
  if (!std::cout) {
    PrintError("report: cannot write to standard output");
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace heapwarden::tools
