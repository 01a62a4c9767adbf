// snapshot_command.cc: `heapwarden snapshot PID [-o FILE]`: asks a tracked running
// process for a report now (through its control socket), then symbolizes it and
// prints the summary. The process writes the file itself ("complete": false) and
// keeps running.
// Report side (tool).
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "commands.h"
#include "control_client.h"
#include "report/report_io.h"
#include "report/report_text.h"
#include "report/symbolize_report.h"
#include "report/symbolizer.h"

namespace heapwarden::tools {
namespace {

// The control protocol wants an absolute path: the process's cwd is not ours.
std::string Absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof(cwd)) == nullptr) return path;
  return absl::StrCat(cwd, "/", path);
}

}  // namespace

int SnapshotMain(const std::vector<std::string>& args) {
  std::string pid_text;
  std::string output;
  bool symbolize = true;
  bool quiet = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << "usage: heapwarden " << FindCommand("snapshot")->synopsis << "\n\n"
                << "Asks process PID, running under heapwarden, to write a report of its heap\n"
                << "now (\"complete\": false), symbolizes it and prints a summary to stderr.\n\n"
                << "  -o, --output FILE   where the report goes (default heapwarden.PID.snapshot.json)\n"
                << "  --no-symbolize      leave frames as module+offset\n"
                << "  -q, --quiet         print only where the report went\n";
      return kExitOk;
    }
    if (arg == "-o" || arg == "--output") {
      if (i + 1 >= args.size()) return UsageError("snapshot", absl::StrCat(arg, ": missing file name"));
      output = args[++i];
    } else if (arg.starts_with("--output=")) {
      output = arg.substr(9);
    } else if (arg == "--no-symbolize") {
      symbolize = false;
    } else if (arg == "-q" || arg == "--quiet") {
      quiet = true;
    } else if (arg.starts_with("-")) {
      return UsageError("snapshot", absl::StrCat("unknown option '", arg, "'"));
    } else if (pid_text.empty()) {
      pid_text = arg;
    } else {
      return UsageError("snapshot", absl::StrCat("unexpected argument '", arg, "'"));
    }
  }
  if (pid_text.empty()) return UsageError("snapshot", "snapshot: missing the process id");
  absl::StatusOr<pid_t> pid = ParsePid(pid_text);
  if (!pid.ok()) return UsageError("snapshot", pid.status().message());
  if (output.empty()) output = absl::StrCat("heapwarden.", *pid, ".snapshot.json");
  output = Absolute(output);

  absl::StatusOr<std::string> written = ControlRequest(*pid, absl::StrCat("snapshot ", output), 300);
  if (!written.ok()) {
    PrintError(written.status().message());
    return kExitFailure;
  }
  absl::StatusOr<nlohmann::json> report = report::LoadReport(output);
  if (!report.ok()) {
    PrintError(report.status().message());
    return kExitFailure;
  }
  if (symbolize) {
    report::Symbolizer symbolizer;
    report::SymbolizeReport(*report, symbolizer);
    absl::Status status = report::WriteReportAtomically(output, *report);
    if (!status.ok()) {
      PrintError(status.message());
      return kExitFailure;
    }
  }
  if (!quiet) report::RenderText(*report, report::TextOptions{}, std::cerr);
  PrintError(absl::StrCat("snapshot of process ", *pid, " written to ", output));
  return kExitOk;
}

}  // namespace heapwarden::tools
