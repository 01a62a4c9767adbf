// trim_command.cc: `heapwarden trim PID`: asks a tracked running process to return
// the memory its allocator holds freed (malloc_trim / mi_collect) and prints RSS
// before and after. The trim is recorded in the process's report with trigger
// "control".
// Report side (tool).
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "commands.h"
#include "control_client.h"
#include "report/human_size.h"

namespace heapwarden::tools {

int TrimMain(const std::vector<std::string>& args) {
  std::string pid_text;
  for (const std::string& arg : args) {
    if (arg == "-h" || arg == "--help") {
      std::cout << "usage: heapwarden " << FindCommand("trim")->synopsis << "\n\n"
                << "Asks process PID, running under heapwarden, to hand the memory its allocator\n"
                << "holds freed back to the OS; prints its RSS before and after.\n";
      return kExitOk;
    }
    if (arg.starts_with("-")) return UsageError("trim", absl::StrCat("unknown option '", arg, "'"));
    if (!pid_text.empty()) return UsageError("trim", absl::StrCat("unexpected argument '", arg, "'"));
    pid_text = arg;
  }
  if (pid_text.empty()) return UsageError("trim", "trim: missing the process id");
  absl::StatusOr<pid_t> pid = ParsePid(pid_text);
  if (!pid.ok()) return UsageError("trim", pid.status().message());

  absl::StatusOr<std::string> reply = ControlRequest(*pid, "trim", 120);
  if (!reply.ok()) {
    PrintError(reply.status().message());
    return kExitFailure;
  }
  std::vector<std::string> fields = absl::StrSplit(*reply, ' ');
  int64_t before = 0, after = 0, released = 0;
  if (fields.size() != 3 || !absl::SimpleAtoi(fields[0], &before) ||
      !absl::SimpleAtoi(fields[1], &after) || !absl::SimpleAtoi(fields[2], &released)) {
    PrintError(absl::StrCat("process ", *pid, ": unexpected reply '", *reply, "'"));
    return kExitFailure;
  }
  std::cout << absl::StrFormat("process %d: rss before %s, after %s, released %s\n", *pid,
                               report::HumanBytes(before), report::HumanBytes(after),
                               report::HumanBytes(released));
  return kExitOk;
}

}  // namespace heapwarden::tools
