// report_command.cc: `heapwarden report FILE [--format F] [--top N] [--by B]
// [--measure M] [-o OUT]`: renders a saved report (any version, raw or symbolized: it
// is symbolized in memory first when raw).
// Report side (tool).
#include <unistd.h>

#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "commands.h"
#include "report/collapsed.h"
#include "report/html_report.h"
#include "report/pprof_report.h"
#include "report/render_options.h"
#include "report/report_heap.h"
#include "report/report_io.h"
#include "report/report_text.h"
#include "report/site_rollup.h"
#include "report/symbolize_report.h"
#include "report/symbolizer.h"

namespace heapwarden::tools {
namespace {

constexpr char kReportHelp[] =
    "usage: heapwarden report FILE [--format F] [--top N] [--by B] [--measure M] [-o OUT]\n"
    "\n"
    "Renders a saved report (version 1 or 2, symbolized or raw).\n"
    "\n"
    "options:\n"
    "  --format F    text (default), json (version 2; indented on a terminal),\n"
    "                html (one self-contained page), pprof (gzip'd profile.proto),\n"
    "                collapsed (flamegraph.pl, inferno, speedscope)\n"
    "  --top N       rows or stacks per section (default 10)\n"
    "  --by B        text: roll the peak and live memory up by site, function, file or\n"
    "                tag (default: sites and functions)\n"
    "  --measure M   collapsed: what a stack weighs: peak (default), live, allocated,\n"
    "                leaked\n"
    "  -o, --output OUT  write to OUT (replaced atomically, mode 0600), not stdout\n"
    "\n"
    "exit status: 0 ok, 1 the output could not be written, 2 bad usage or a report that\n"
    "cannot be read\n";

// Every format renders the loaded, symbolized version-2 report. The HTML and pprof
// renderers live in lib/report/html_*.cc and pprof_*.cc; each is one row here.
using Renderer = absl::Status (*)(const nlohmann::json& report,
                                  const report::RenderOptions& options, std::ostream& out);

absl::Status RenderTextFormat(const nlohmann::json& report, const report::RenderOptions& options,
                              std::ostream& out) {
  report::RenderText(report, options, out);
  return absl::OkStatus();
}

absl::Status RenderJsonFormat(const nlohmann::json& report, const report::RenderOptions& options,
                              std::ostream& out) {
  out << report::ReportJson(report, /*pretty=*/options.to_terminal);
  return absl::OkStatus();
}

absl::Status RenderHtmlFormat(const nlohmann::json& report, const report::RenderOptions&,
                              std::ostream& out) {
  out << report::RenderHtml(report);
  return absl::OkStatus();
}

absl::Status RenderPprofFormat(const nlohmann::json& report, const report::RenderOptions&,
                               std::ostream& out) {
  absl::StatusOr<std::string> profile = report::RenderPprof(report);
  if (!profile.ok()) return profile.status();
  out << *profile;
  return absl::OkStatus();
}

struct Format {
  const char* name;
  Renderer render;
};

constexpr Format kFormats[] = {
    {"text", RenderTextFormat},
    {"json", RenderJsonFormat},
    {"collapsed", report::RenderCollapsed},
    {"html", RenderHtmlFormat},
    {"pprof", RenderPprofFormat},
};

const Format* FindFormat(const std::string& name) {
  for (const Format& format : kFormats) {
    if (name == format.name) return &format;
  }
  return nullptr;
}

std::string FormatNames() {
  std::vector<std::string> names;
  for (const Format& format : kFormats) names.push_back(format.name);
  return absl::StrJoin(names, "|");
}

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

bool IsFlag(const std::string& arg, const char* flag) {
  return arg == flag || arg.starts_with(absl::StrCat(flag, "="));
}

}  // namespace

int ReportMain(const std::vector<std::string>& args) {
  std::string file;
  std::string format_name = "text";
  std::string output;
  report::RenderOptions options;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << kReportHelp;
      return kExitOk;
    }
    std::string value;
    if (IsFlag(arg, "--format") || IsFlag(arg, "--top") || IsFlag(arg, "--by") ||
        IsFlag(arg, "--measure") || IsFlag(arg, "--output") || arg == "-o") {
      std::string flag = arg == "-o" ? "-o" : arg.substr(0, arg.find('='));
      if (!FlagValue(args, i, flag, &value)) {
        return UsageError("report", absl::StrCat(flag, ": missing value"));
      }
      if (flag == "--format") {
        format_name = value;
      } else if (flag == "--top") {
        if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos ||
            !absl::SimpleAtoi(value, &options.top)) {
          return UsageError("report", absl::StrCat("--top: expected an integer, got '", value, "'"));
        }
      } else if (flag == "--by") {
        report::RollUp by;
        if (!report::ParseRollUp(value, &by)) {
          return UsageError("report", absl::StrCat("--by: expected one of site|function|file|tag, got '",
                                                   value, "'"));
        }
        options.by = value;
      } else if (flag == "--measure") {
        if (!report::IsCollapsedMeasure(value)) {
          return UsageError("report", absl::StrCat(
                                          "--measure: expected one of peak|live|allocated|leaked, got '",
                                          value, "'"));
        }
        options.measure = value;
      } else {
        if (value.empty()) return UsageError("report", absl::StrCat(flag, ": empty file name"));
        output = value;
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
  const Format* format = FindFormat(format_name);
  if (format == nullptr) {
    return UsageError("report", absl::StrCat("--format: expected one of ", FormatNames(),
                                             ", got '", format_name, "'"));
  }

  // Loaded before anything else, so a bad report gets the same answer in every format.
  report::PrepareHeapForReportFile(file);
  absl::StatusOr<nlohmann::json> loaded = report::LoadReport(file);
  if (!loaded.ok()) {
    PrintError(loaded.status().message());
    return kExitBadInput;
  }
  nlohmann::json& report = *loaded;
  if (!report::IsSymbolized(report)) {
    report::Symbolizer symbolizer;
    report::SymbolizeReport(report, symbolizer);
  }
  options.to_terminal = output.empty() && isatty(STDOUT_FILENO) == 1;
  std::ostringstream buffer;
  std::ostream& out = output.empty() ? std::cout : buffer;
  absl::Status rendered = format->render(report, options, out);
  report::KeepUntilExit(std::move(report));
  if (!rendered.ok()) {
    PrintError(absl::StrCat("--format ", format_name, ": ", rendered.message()));
    return kExitUsage;
  }
  if (!output.empty()) {
    absl::Status written = report::WriteFileAtomically(output, buffer.str());
    if (!written.ok()) {
      PrintError(written.message());
      return kExitFailure;
    }
    return kExitOk;
  }
  std::cout.flush();
  if (!std::cout) {
    PrintError("report: cannot write to standard output");
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace heapwarden::tools
