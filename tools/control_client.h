// control_client.h: the client end of a tracked process's control socket, for
// `heapwarden snapshot PID` and `heapwarden trim PID` (lib/record/control_protocol.h
// has the socket's place and the protocol).
// Report side (tool).
#ifndef HEAPWARDEN_TOOLS_CONTROL_CLIENT_H_
#define HEAPWARDEN_TOOLS_CONTROL_CLIENT_H_

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"

namespace heapwarden::tools {

// ControlRequest()
//
// Sends one request line ("snapshot /abs/path", "trim", ...) to process `pid` and
// returns its reply after "ok " ("ok 123 45 78" -> "123 45 78"). Every failure is a
// status whose message is one line meant for the user:
//   - no such process;
//   - the process belongs to another user;
//   - the process is not tracked (no control socket);
//   - the socket is stale (process gone, or it no longer serves it): it is removed;
//   - the process answered "error ...".
// Waits at most `timeout_s` seconds for the reply.
absl::StatusOr<std::string> ControlRequest(pid_t pid, const std::string& request, int timeout_s);

// ParsePid()
//
// A positive decimal pid, or an error naming the bad argument.
absl::StatusOr<pid_t> ParsePid(const std::string& text);

}  // namespace heapwarden::tools

#endif  // HEAPWARDEN_TOOLS_CONTROL_CLIENT_H_
