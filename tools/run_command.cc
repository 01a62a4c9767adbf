// run_command.cc: `heapwarden run [OPTIONS] -- CMD [ARGS...]`: runs CMD under the
// preload, then symbolizes, saves and summarizes the report it left.
// Report side (tool): the preload writes raw addresses into a private directory; all
// the slow work (symbols, rendering) happens here, after the child has ended.
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "child_process.h"
#include "child_status.h"
#include "common/report_format.h"
#include "commands.h"
#include "control_client.h"
#include "leak_gate.h"
#include "report/report_fields.h"
#include "report/report_heap.h"
#include "report/report_io.h"
#include "report/report_text.h"
#include "report/symbolize_report.h"
#include "report/symbolizer.h"
#include "run_options.h"
#include "temp_dir.h"

extern char** environ;

namespace heapwarden::tools {
namespace {

using nlohmann::json;

constexpr char kPreloadName[] = "libheapwarden_preload.so";

// The preload is built and installed next to the tool: bin/heapwarden and
// lib/libheapwarden_preload.so under one prefix.
absl::StatusOr<std::string> FindPreload() {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    return absl::NotFoundError(
        absl::StrCat("cannot find the preload library: /proc/self/exe: ", std::strerror(errno)));
  }
  std::string dir(exe, static_cast<size_t>(n));
  dir.resize(dir.rfind('/') == std::string::npos ? 0 : dir.rfind('/'));
  std::string candidate = absl::StrCat(dir, "/../lib/", kPreloadName);
  char resolved[PATH_MAX];
  // realpath() gives the loader a clean absolute path and fails when the file is absent.
  if (realpath(candidate.c_str(), resolved) == nullptr || access(resolved, R_OK) != 0) {
    return absl::NotFoundError(
        absl::StrCat("preload library not found at ", candidate, " (", std::strerror(errno), ")"));
  }
  return std::string(resolved);
}

// The directory holding the pure-Python `heapwarden` package: PREFIX/share/heapwarden/
// python next to an installed tool, else the source tree's python/; "" when neither
// has it.
std::string PythonModuleDir() {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  std::vector<std::string> candidates;
  if (n > 0) {
    std::string dir(exe, static_cast<size_t>(n));
    dir.resize(dir.rfind('/') == std::string::npos ? 0 : dir.rfind('/'));
    candidates.push_back(absl::StrCat(dir, "/../", HEAPWARDEN_PYTHON_INSTALL_DIR));
  }
  candidates.push_back(HEAPWARDEN_PYTHON_SOURCE_DIR);
  for (const std::string& candidate : candidates) {
    char resolved[PATH_MAX];
    if (realpath(candidate.c_str(), resolved) != nullptr &&
        access(absl::StrCat(resolved, "/heapwarden/__init__.py").c_str(), R_OK) == 0) {
      return resolved;
    }
  }
  return "";
}

// The child's environment: the tool's own, with the preload first in LD_PRELOAD (other
// preloads kept after it) and HEAPWARDEN_OPTIONS = what the environment already had,
// then the flags (later keys win), then where and how the preload must write.
std::vector<std::string> ChildEnvironment(const RunArgs& args, const std::string& preload,
                                          const std::string& temp_dir) {
  bool python_malloc =
      args.given.contains("python_malloc") && args.given.at("python_malloc") == "1";
  std::string old_preload;
  std::string old_options;
  std::string old_pythonpath;
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    absl::string_view text = *entry;
    if (absl::ConsumePrefix(&text, "LD_PRELOAD=")) {
      old_preload = std::string(text);
    } else if (absl::ConsumePrefix(&text, "PYTHONPATH=")) {
      old_pythonpath = std::string(text);
    } else if (absl::ConsumePrefix(&text, "HEAPWARDEN_OPTIONS=")) {
      old_options = std::string(text);
    } else if (!(python_malloc && absl::StartsWith(text, "PYTHONMALLOC="))) {
      environment.emplace_back(*entry);
    }
  }
  environment.push_back(
      absl::StrCat("LD_PRELOAD=", preload, old_preload.empty() ? "" : ":", old_preload));
  std::vector<std::string> options;
  if (!old_options.empty()) options.push_back(old_options);
  for (const auto& [key, value] : args.preload_options) {
    options.push_back(absl::StrCat(key, "=", value));
  }
  options.push_back(absl::StrCat("output=", temp_dir, "/%p.json"));
  options.push_back("symbolize=0");
  environment.push_back(absl::StrCat("HEAPWARDEN_OPTIONS=", absl::StrJoin(options, ":")));
  // CPython reads PYTHONMALLOC before the preload could change its environment.
  if (python_malloc) environment.push_back("PYTHONMALLOC=malloc");
  // `import heapwarden` works in the child with nothing installed; the user's own
  // PYTHONPATH entries come first.
  std::string python_dir = PythonModuleDir();
  if (!python_dir.empty() || !old_pythonpath.empty()) {
    environment.push_back(absl::StrCat(
        "PYTHONPATH=", old_pythonpath,
        !old_pythonpath.empty() && !python_dir.empty() ? ":" : "", python_dir));
  }
  return environment;
}

std::string Basename(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// -o's value with %p (pid) and %e (executable name) expanded, as the preload does.
std::string OutputPath(const RunArgs& args, pid_t pid) {
  if (args.output.empty()) return absl::StrCat("heapwarden.", pid, ".json");
  return absl::StrReplaceAll(args.output,
                             {{"%p", absl::StrCat(pid)}, {"%e", Basename(args.command[0])}});
}

// "out.json" -> "out.4243.json": where a descendant's report goes.
std::string DescendantPath(const std::string& output, pid_t pid) {
  absl::string_view stem = output;
  absl::ConsumeSuffix(&stem, ".json");
  return absl::StrCat(stem, ".", pid, ".json");
}

// --fail-on-leak: leak_exitcode (23) when the main report, or a descendant's kept
// with --follow-fork, has more unsuppressed direct + indirect leak bytes than
// --max-leak-bytes (leak_gate.h); else the child's own status.
int FailOnLeakExitCode(const json& report, const RunArgs& args, int exit_code) {
  return LeakGateExitCode(exit_code);
}

// Symbolizes (unless --symbolize 0), applies the suppressions and writes a report.
absl::Status FinishReport(json& report, const RunArgs& args, report::Symbolizer& symbolizer,
                          const std::string& path) {
  if (args.symbolize) report::SymbolizeReport(report, symbolizer);
  ApplyLeakGate(report);
  return report::WriteReportAtomically(path, report);
}

// Reports the forked descendants left in the directory: kept next to the main report
// when --follow-fork was asked for, else dropped with the directory.
void FinishDescendants(const std::string& temp_dir, pid_t child, const RunArgs& args,
                       const std::string& output, report::Symbolizer& symbolizer) {
  if (!args.given.contains("follow_fork") || args.given.at("follow_fork") != "1") return;
  for (const std::string& name : ListFiles(temp_dir)) {
    absl::string_view digits = name;
    int pid = 0;
    // Only "<pid>.json": the preload's half-written "*.tmp.*" files are not reports.
    if (!absl::ConsumeSuffix(&digits, ".json") || !absl::SimpleAtoi(digits, &pid) || pid == child ||
        pid <= 0) {
      continue;
    }
    absl::StatusOr<json> report = report::LoadReport(absl::StrCat(temp_dir, "/", name));
    if (!report.ok()) {
      PrintError(absl::StrCat("report of child process ", pid,
                              " unreadable: ", report.status().message()));
      continue;
    }
    std::string path = DescendantPath(output, pid);
    absl::Status status = FinishReport(*report, args, symbolizer, path);
    // A descendant that fails the gate fails the run: show why.
    if (FailOnLeakRequested() && LeakGateFailsFor(*report)) {
      report::RenderText(*report, report::TextOptions{}, std::cerr);
    }
    PrintError(status.ok() ? absl::StrCat("report of child process ", pid, " written to ", path)
                           : std::string(status.message()));
  }
}

// -o must name a file in a directory that exists and can be written: checked before the
// program starts, so a long run never ends with its report lost (and a gate passed for
// want of one). %p and %e are expanded with stand-ins: only the directory matters.
absl::Status CheckOutputPath(const RunArgs& args) {
  std::string path = absl::StrReplaceAll(args.output.empty() ? "heapwarden.%p.json" : args.output,
                                         {{"%p", "1"}, {"%e", "e"}});
  struct stat st;
  if (!path.empty() && path.back() == '/') {
    return absl::InvalidArgumentError(absl::StrCat("run: --output ", args.output, " is a directory"));
  }
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("run: --output ", args.output, " is a directory"));
  }
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("run: --output ", args.output, ": no directory ", dir));
  }
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("run: --output ", args.output, ": cannot write in ", dir, ": ",
                     std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

int RunMain(const std::vector<std::string>& argv) {
  absl::StatusOr<RunArgs> parsed = ParseRunArgs(argv);
  if (!parsed.ok()) return UsageError("run", parsed.status().message());
  const RunArgs& args = *parsed;
  if (args.help) {
    std::cout << RunHelp();
    return kExitOk;
  }
  if (args.command.empty()) return UsageError("run", "run: missing the command to run");
  if (absl::Status gate = PrepareLeakGate(args); !gate.ok()) return UsageError("run", gate.message());
  if (absl::Status out = CheckOutputPath(args); !out.ok()) return UsageError("run", out.message());

  absl::StatusOr<std::string> preload = FindPreload();
  if (!preload.ok()) {
    PrintError(preload.status().message());
    return kExitFailure;
  }
  absl::StatusOr<std::string> temp_dir = MakePrivateTempDir();
  if (!temp_dir.ok()) {
    PrintError(temp_dir.status().message());
    return kExitFailure;
  }
  // Whichever way the run ends, the child's reports go with it: at return, or, when
  // the tool is killed outright, by a watcher process.
  TempDirWatcher watcher = RemoveWhenToolDies(*temp_dir);
  absl::Cleanup remove_temp_dir = [&] {
    RemoveTempDir(*temp_dir);
    StopWatcher(watcher);
  };

  // A SIGTERM or SIGHUP for the tool (a CI job's timeout, a closed terminal) would end
  // the program with nothing newer than its last periodic snapshot: ask it for one
  // first, then pass the signal on.
  auto snapshot_first = [](pid_t pid, int) {
    ControlRequest(pid, "snapshot", /*timeout_s=*/2).IgnoreError();
  };
  absl::StatusOr<ChildResult> child =
      SpawnAndWait(args.command, ChildEnvironment(args, *preload, *temp_dir), snapshot_first);
  if (!child.ok()) {
    PrintError(child.status().message());
    return kExitFailure;
  }
  const std::string& command = args.command[0];
  if (child->exec_errno != 0) {
    // As a shell does: 127 when there is no such command, 126 when it cannot be run.
    if (child->exec_errno == ENOENT) {
      PrintError(absl::StrCat(command, ": command not found"));
      return 127;
    }
    PrintError(absl::StrCat(command, ": ", std::strerror(child->exec_errno)));
    return 126;
  }

  int wait_status = child->wait_status;
  int exit_code = ExitCodeFor(wait_status);
  int signal_number = WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : 0;
  std::string killed_line =
      signal_number == 0 ? "" : absl::StrCat(command, " killed by ", SignalName(signal_number));

  std::string raw_path = absl::StrCat(*temp_dir, "/", child->pid, ".json");
  if (access(raw_path.c_str(), F_OK) != 0) {
    // The preload says why when it knows (report_format.h).
    std::ifstream note(raw_path + kNoReportSuffix);
    std::string why;
    if (note && std::getline(note, why) && !why.empty()) {
      PrintError(absl::StrCat("no report from ", command, " (pid ", child->pid, "): ", why));
      if (!killed_line.empty()) PrintError(killed_line);
      return exit_code;
    }
    PrintError(absl::StrCat(
        "no report from ", command, " (pid ", child->pid,
        "): it ended before the preload wrote one (killed early, or it exec'd a static or "
        "setuid program that ignores LD_PRELOAD)"));
    if (!killed_line.empty()) PrintError(killed_line);
    return exit_code;
  }
  report::PrepareHeapForReportFile(raw_path);
  absl::StatusOr<json> report = report::LoadReport(raw_path);
  if (!report.ok()) {
    PrintError(report.status().message());
    if (!killed_line.empty()) PrintError(killed_line);
    return exit_code;
  }

  RecordChildStatus(*report, wait_status);
  report::Symbolizer symbolizer;
  std::string output = OutputPath(args, child->pid);
  absl::Status written = FinishReport(*report, args, symbolizer, output);
  // The summary first, then where the report is (or why it is not): the last lines are
  // the ones a user sees.
  if (args.summary) report::RenderText(*report, report::TextOptions{}, std::cerr);
  PrintError(written.ok() ? absl::StrCat("report written to ", output)
                          : std::string(written.message()));
  FinishDescendants(*temp_dir, child->pid, args, output, symbolizer);
  if (!killed_line.empty()) {
    // A process killed by a signal wrote no final report: what we have is its last
    // snapshot (periodic, or written when RSS crossed the high-water mark).
    if (!report::BoolField(report::ObjectField(*report, "process"), "complete", true)) {
      PrintError(absl::StrFormat(
          "the report is the last snapshot the process wrote, %.1f s into its run",
          report::DoubleField(report::ObjectField(*report, "heapwarden"), "report_time")));
    }
    PrintError(killed_line + OomHint(*report, signal_number));
  }

  // A gate that could not write its evidence fails.
  const int status = !written.ok() && FailOnLeakRequested() ? LeakGateExitCode(kExitFailure)
                                                             : FailOnLeakExitCode(*report, args, exit_code);
  report::KeepUntilExit(std::move(*report));
  return status;
}

}  // namespace heapwarden::tools
