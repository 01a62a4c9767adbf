// control_protocol.h: what the control socket of a tracked process and the
// `heapwarden snapshot PID` / `heapwarden trim PID` client agree on: where the socket
// is, and the one-line requests and replies.
// Shared by both sides: header-only, no allocation, no stdio (the record side serves
// it from inside the tracked process; the tool includes it without linking the
// record side).
//
// Where: a private directory, mode 0700 and owned by the user:
//   $XDG_RUNTIME_DIR/heapwarden/   when XDG_RUNTIME_DIR is an absolute path
//   /tmp/heapwarden-UID/           otherwise
// and in it one socket per process, named PID.sock. The process removes it at exit; a
// socket left by a killed process is stale, and the client removes it.
// When that directory cannot be used -- another user made /tmp/heapwarden-UID first,
// or it is not mode 0700 -- the process listens on an abstract socket instead (Linux:
// a name in the network namespace, not in any directory, gone with the process):
//   "\0heapwarden/UID/PID.RANDOM"   (RANDOM: 16 hex digits, so no other user can take
//                                    the name first)
// which the client finds in /proc/net/unix. Either way the client checks the
// listener's pid and uid (SO_PEERCRED) before it sends a request.
//
// Protocol: the client connects, writes one request line, reads one reply line; the
// process checks the peer's uid (SO_PEERCRED) before reading.
//   "snapshot\n"        -> write a report to the process's output path
//   "snapshot PATH\n"   -> write a report to PATH (absolute)
//   "trim\n"            -> Recorder::Trim(kTrimTriggerControl)
//   "stats\n"           -> live, peak, RSS
//   "ping\n"            -> who is there
// Replies: "ok ..." or "error MESSAGE":
//   snapshot -> "ok PATH"
//   trim     -> "ok RSS_BEFORE RSS_AFTER RELEASED_BYTES"
//   stats    -> "ok live_bytes=N peak_live_bytes=N rss_bytes=N retained_bytes=N"
//   ping     -> "ok heapwarden PID"
#ifndef HEAPWARDEN_LIB_COMMON_CONTROL_PROTOCOL_H_
#define HEAPWARDEN_LIB_COMMON_CONTROL_PROTOCOL_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "common/decimal.h"

namespace heapwarden::internal {

inline constexpr size_t kMaxControlLine = 4096 + 64;

// Appends the decimal digits of `v` to out[*len...]; false when it does not fit.
inline bool AppendDecimal(char* out, size_t size, size_t* len, uint64_t v) {
  char digits[kMaxDecimalDigits];
  const int n = DecimalDigits(v, digits);
  if (*len + static_cast<size_t>(n) + 1 > size) return false;
  for (int i = 0; i < n; ++i) out[(*len)++] = digits[i];
  out[*len] = '\0';
  return true;
}

inline bool AppendText(char* out, size_t size, size_t* len, const char* s) {
  size_t n = strlen(s);
  if (*len + n + 1 > size) return false;
  memcpy(out + *len, s, n + 1);
  *len += n;
  return true;
}

// The directory of control sockets for `uid`, given the XDG_RUNTIME_DIR in force
// (nullptr or "" when unset). False when it does not fit.
inline bool ControlDirectory(char* out, size_t size, const char* xdg_runtime_dir, uint64_t uid) {
  size_t len = 0;
  out[0] = '\0';
  if (xdg_runtime_dir != nullptr && xdg_runtime_dir[0] == '/') {
    return AppendText(out, size, &len, xdg_runtime_dir) &&
           AppendText(out, size, &len, "/heapwarden");
  }
  return AppendText(out, size, &len, "/tmp/heapwarden-") && AppendDecimal(out, size, &len, uid);
}

// DIRECTORY/PID.sock. Unix socket paths hold at most 107 bytes: false past that.
inline bool ControlSocketPath(char* out, size_t size, const char* directory, uint64_t pid) {
  size_t len = 0;
  out[0] = '\0';
  if (!AppendText(out, size, &len, directory) || !AppendText(out, size, &len, "/") ||
      !AppendDecimal(out, size, &len, pid) || !AppendText(out, size, &len, ".sock")) {
    return false;
  }
  return len < 108;
}

// "heapwarden/UID/PID.": what an abstract control socket's name (after its leading
// NUL) starts with. False when it does not fit.
inline bool ControlAbstractPrefix(char* out, size_t size, uint64_t uid, uint64_t pid) {
  size_t len = 0;
  out[0] = '\0';
  return AppendText(out, size, &len, "heapwarden/") && AppendDecimal(out, size, &len, uid) &&
         AppendText(out, size, &len, "/") && AppendDecimal(out, size, &len, pid) &&
         AppendText(out, size, &len, ".");
}

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_COMMON_CONTROL_PROTOCOL_H_
