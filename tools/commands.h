// commands.h: the subcommands of the heapwarden tool, one entry point each, and the
// table main() dispatches on.
// Report side: the tool never runs inside the tracked program.
#ifndef HEAPWARDEN_TOOLS_COMMANDS_H_
#define HEAPWARDEN_TOOLS_COMMANDS_H_

#include <span>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace heapwarden::tools {

// Exit statuses of the tool itself (a run otherwise exits with the child's status).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // a file could not be read or written
inline constexpr int kExitUsage = 2;    // bad command line, or not implemented yet
// A report (or suppressions file) that cannot be read: corrupt, truncated, of another
// version, wrong-typed, missing, not a regular file. Every command that reads one.
inline constexpr int kExitBadInput = 2;

// Every entry point gets the arguments after the subcommand's name.
using CommandMain = int (*)(const std::vector<std::string>& args);

struct Command {
  absl::string_view name;
  CommandMain main;
  absl::string_view synopsis;  // "run [OPTIONS] -- CMD [ARGS...]"
  absl::string_view summary;   // one line for `heapwarden --help`
};

int RunMain(const std::vector<std::string>& args);        // run_command.cc
int ReportMain(const std::vector<std::string>& args);     // report_command.cc
int SymbolizeMain(const std::vector<std::string>& args);  // symbolize_command.cc
int CheckMain(const std::vector<std::string>& args);      // check_command.cc
int DiffMain(const std::vector<std::string>& args);       // diff_command.cc
int SnapshotMain(const std::vector<std::string>& args);   // pending_commands.cc
int TrimMain(const std::vector<std::string>& args);       // pending_commands.cc
int JupyterKernelMain(const std::vector<std::string>& args);  // jupyter_kernel_command.cc

// AllCommands()
//
// The dispatch table, in the order `heapwarden --help` lists it.
std::span<const Command> AllCommands();

// FindCommand()
//
// The command called `name`, or nullptr.
const Command* FindCommand(absl::string_view name);

// UsageError()
//
// Prints "heapwarden: MESSAGE" and the command's usage line to stderr; returns
// kExitUsage so callers can `return UsageError(...)`.
int UsageError(absl::string_view command, absl::string_view message);

// SplitInlineValue()
//
// "--flag=value": cuts *arg to "--flag", puts "value" in *value and returns true;
// any other argument is left as it is (false).
bool SplitInlineValue(std::string* arg, std::string* value);

// PrintError()
//
// Prints "heapwarden: MESSAGE" to stderr as one line.
void PrintError(absl::string_view message);

}  // namespace heapwarden::tools

#endif  // HEAPWARDEN_TOOLS_COMMANDS_H_
