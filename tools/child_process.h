// child_process.h: starts the program `heapwarden run` tracks and waits for it, passing
// on the signals a terminal or a supervisor sends.
// Report side (tool).
#ifndef HEAPWARDEN_TOOLS_CHILD_PROCESS_H_
#define HEAPWARDEN_TOOLS_CHILD_PROCESS_H_

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace heapwarden::tools {

struct ChildResult {
  pid_t pid = -1;
  int exec_errno = 0;   // non-zero: execvp failed with this errno (the child exited 127)
  int wait_status = 0;  // as from waitpid(); valid when exec_errno == 0
};

// Called before a signal the tool received is forwarded to the child `pid`.
using BeforeForward = std::function<void(pid_t pid, int signal_number)>;

// SpawnAndWait()
//
// Forks, and in the child execvp()s `argv` with exactly `environment` (PATH lookup uses
// the tool's own PATH, as a shell would). While the child runs, SIGINT and SIGQUIT are
// ignored by the tool -- the terminal sends them to the child too, and the tool must
// outlive it to write the report -- and SIGTERM/SIGHUP sent to the tool are forwarded
// to the child, after `before_forward` (when given) has run outside the signal handler.
// The child starts with the tool's original dispositions and mask. Dispositions are
// restored before returning. Fails only if pipe() or fork() fails.
absl::StatusOr<ChildResult> SpawnAndWait(const std::vector<std::string>& argv,
                                         const std::vector<std::string>& environment,
                                         const BeforeForward& before_forward = nullptr);

}  // namespace heapwarden::tools

#endif  // HEAPWARDEN_TOOLS_CHILD_PROCESS_H_
