// child_status.h: what became of the tracked program -- exit status or signal -- in
// the report, in the tool's exit status and in words.
// Report side (tool).
#ifndef HEAPWARDEN_TOOLS_CHILD_STATUS_H_
#define HEAPWARDEN_TOOLS_CHILD_STATUS_H_

#include <string>

#include "nlohmann/json.hpp"

namespace heapwarden::tools {

// SignalName()
//
// "SIGKILL" for 9; "signal 42" for a number without a name.
std::string SignalName(int signal_number);

// ExitCodeFor()
//
// The status a shell would give: the exit status, or 128+N for death by signal N.
int ExitCodeFor(int wait_status);

// RecordChildStatus()
//
// Sets process.exit_status, or process.signal and process.signal_name (removing any
// exit_status the preload guessed), from a waitpid() status.
void RecordChildStatus(nlohmann::json& report, int wait_status);

// OomHint()
//
// For a child killed by SIGKILL whose report shows an RSS of at least half the memory
// it could have had (the limit the preload recorded in heapwarden.memory_limit_bytes:
// its cgroup's, or MemTotal), or whose cgroup counted an OOM kill:
// " — likely the OOM killer (RSS was 11.8 GiB of a 12.0 GiB limit)"; else "".
std::string OomHint(const nlohmann::json& report, int signal_number);

}  // namespace heapwarden::tools

#endif  // HEAPWARDEN_TOOLS_CHILD_STATUS_H_
