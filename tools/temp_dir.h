// temp_dir.h: the private directory `heapwarden run` gives the preload to write
// reports into, and its removal.
// Report side (tool).
#ifndef HEAPWARDEN_TOOLS_TEMP_DIR_H_
#define HEAPWARDEN_TOOLS_TEMP_DIR_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace heapwarden::tools {

// MakePrivateTempDir()
//
// Creates $TMPDIR/heapwarden.XXXXXX (or under /tmp when TMPDIR is unset, not a
// directory, or holds ':', which HEAPWARDEN_OPTIONS cannot carry) with mode 0700.
absl::StatusOr<std::string> MakePrivateTempDir();

// The name (/proc/PID/comm) of the watcher process RemoveWhenToolDies() starts.
inline constexpr char kWatcherName[] = "heapwarden-tidy";

struct TempDirWatcher {
  pid_t pid = -1;
  int alive_fd = -1;  // its end of the pipe the watcher waits on
};

// RemoveWhenToolDies()
//
// Starts a small watcher process (a child named kWatcherName, in its own session)
// that removes `dir` as RemoveTempDir does once this process ends, however it ends: a
// SIGKILL to `heapwarden run` (which takes the program with it, PR_SET_PDEATHSIG)
// must not leave the reports behind. The watcher holds the directory open and removes
// it only if the name still means it. Best effort, silent: a watcher that cannot be
// started is no watcher. Call it while the process has one thread.
TempDirWatcher RemoveWhenToolDies(const std::string& dir);

// StopWatcher()
//
// Lets the watcher go (it removes the directory if still there) and reaps it.
void StopWatcher(TempDirWatcher& watcher);

// ListFiles()
//
// Names (not paths) of the entries in `dir`, sorted; empty when it cannot be read.
std::vector<std::string> ListFiles(const std::string& dir);

// RemoveTempDir()
//
// Removes the files directly in `dir`, then `dir`. Best effort, silent.
void RemoveTempDir(const std::string& dir);

}  // namespace heapwarden::tools

#endif  // HEAPWARDEN_TOOLS_TEMP_DIR_H_
