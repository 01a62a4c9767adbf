// main.cc: the heapwarden tool's entry point: dispatches to a subcommand.
// Report side: the tool never runs inside the tracked program.
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "commands.h"

namespace heapwarden::tools {
namespace {

constexpr Command kCommands[] = {
    {"run", RunMain, "run [OPTIONS] -- CMD [ARGS...]",
     "run CMD under tracking; report when it ends"},
    {"report", ReportMain, "report FILE [--format F] [--top N] [--by B] [-o OUT]",
     "render a saved report (text, json, html, pprof, collapsed)"},
    {"check", CheckMain, "check FILE [--max-leak-bytes N] [--suppressions F]",
     "CI gate on a saved report"},
    {"diff", DiffMain, "diff OLD NEW [--format F] [--fail-on-growth N]",
     "what grew between two reports or snapshots"},
    {"snapshot", SnapshotMain, "snapshot PID [-o FILE]",
     "ask a tracked running process for a report now"},
    {"trim", TrimMain, "trim PID", "ask a tracked running process to return freed memory"},
    {"symbolize", SymbolizeMain, "symbolize FILE [-o OUT] [--summary]",
     "symbolize a report, write it as version 2 (in place, or to OUT)"},
    {"jupyter-kernel", JupyterKernelMain, "jupyter-kernel install [OPTIONS] [-- RUN_OPTIONS]",
     "install a Jupyter kernel that runs under heapwarden"},
};

void PrintHelp(std::FILE* to) {
  std::fputs("usage: heapwarden COMMAND [ARGS...]\n\ncommands:\n", to);
  for (const Command& command : kCommands) {
    std::fputs(absl::StrFormat("  %-52s %s\n", command.synopsis, command.summary).c_str(), to);
  }
  std::fputs("\n`heapwarden COMMAND --help` describes a command's options.\n", to);
}

}  // namespace

std::span<const Command> AllCommands() { return kCommands; }

const Command* FindCommand(absl::string_view name) {
  for (const Command& command : kCommands) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

bool SplitInlineValue(std::string* arg, std::string* value) {
  const size_t eq = arg->find('=');
  if (!arg->starts_with("--") || eq == std::string::npos) return false;
  *value = arg->substr(eq + 1);
  arg->resize(eq);
  return true;
}

void PrintError(absl::string_view message) { std::cerr << "heapwarden: " << message << "\n"; }

int UsageError(absl::string_view command, absl::string_view message) {
  PrintError(message);
  const Command* found = FindCommand(command);
  if (found != nullptr) {
    std::cerr << "usage: heapwarden " << found->synopsis << "\n";
  } else {
    std::cerr << "usage: heapwarden COMMAND [ARGS...] (heapwarden --help lists the commands)\n";
  }
  return kExitUsage;
}

}  // namespace heapwarden::tools

int main(int argc, char** argv) {
  using namespace heapwarden::tools;
  if (argc < 2) return UsageError("", "missing command");
  std::string name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") {
    PrintHelp(stdout);
    return kExitOk;
  }
  if (name == "--version" || name == "version") {
    std::printf("heapwarden %s\n", HEAPWARDEN_VERSION);
    return kExitOk;
  }
  const Command* command = FindCommand(name);
  if (command == nullptr) return UsageError("", "unknown command '" + name + "'");
  std::vector<std::string> args(argv + 2, argv + argc);
  // The last line of defence of "one clear line, never a crash": a bug that throws
  // (from nlohmann::json, say, or bad_alloc on an absurd report) still ends in one line.
  try {
    return command->main(args);
  } catch (const std::exception& e) {
    PrintError(absl::StrFormat("%s: internal error: %s", name, e.what()));
    return kExitFailure;
  }
}
