// tool_runner.cc: see tool_runner.h. Record side.
#include "record/base/tool_runner.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "record/base/log.h"
#include "record/base/spin_lock.h"

extern char** environ;

namespace heapwarden::internal {
namespace {

#ifndef HEAPWARDEN_INSTALL_TOOL
#define HEAPWARDEN_INSTALL_TOOL ""
#endif

bool IsExecutable(const char* path) { return path[0] != '\0' && access(path, X_OK) == 0; }

bool NextToOwnObject(char* out, size_t size) {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&NextToOwnObject), &info) == 0 || info.dli_fname == nullptr) {
    return false;
  }
  const char* slash = strrchr(info.dli_fname, '/');
  if (slash == nullptr) return false;
  size_t dir_len = static_cast<size_t>(slash - info.dli_fname);
  static constexpr char kTool[] = "/../bin/heapwarden";
  if (dir_len + sizeof(kTool) > size) return false;
  memcpy(out, info.dli_fname, dir_len);
  memcpy(out + dir_len, kTool, sizeof(kTool));
  return IsExecutable(out);
}

constinit SpinLock g_run_lock;
char* g_envp[4096];  // under g_run_lock

}  // namespace

bool FindTool(char* out, size_t size) {
  if (NextToOwnObject(out, size)) return true;
  static constexpr char kInstalled[] = HEAPWARDEN_INSTALL_TOOL;
  if (sizeof(kInstalled) <= size && IsExecutable(kInstalled)) {
    memcpy(out, kInstalled, sizeof(kInstalled));
    return true;
  }
  return false;
}

namespace {

// Starts the tool; returns its pid, or -1 (said once on stderr) when it cannot start.
pid_t SpawnTool(const char* const* args, int stdout_fd, int stderr_fd) {
  char tool[4096];
  const bool found = FindTool(tool, sizeof(tool));
  if (!found) memcpy(tool, "heapwarden", sizeof("heapwarden"));
  constexpr size_t kMaxArgs = 16;
  char* argv[kMaxArgs + 2];
  size_t argc = 0;
  argv[argc++] = tool;
  for (size_t i = 0; args[i] != nullptr && i < kMaxArgs; ++i) {
    argv[argc++] = const_cast<char*>(args[i]);
  }
  argv[argc] = nullptr;

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (stdout_fd >= 0) posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
  if (stderr_fd >= 0) posix_spawn_file_actions_adddup2(&actions, stderr_fd, 2);
  pid_t pid;
  int err;
  {
    SpinLockHolder hold(g_run_lock);
    size_t n = 0;
    for (char** e = environ; e != nullptr && *e != nullptr && n + 1 < 4096; ++e) {
      if (strncmp(*e, "LD_PRELOAD=", 11) == 0 || strncmp(*e, "HEAPWARDEN_OPTIONS=", 19) == 0) {
        continue;
      }
      g_envp[n++] = *e;
    }
    g_envp[n] = nullptr;
    err = found ? posix_spawn(&pid, tool, &actions, nullptr, argv, g_envp)
                : posix_spawnp(&pid, tool, &actions, nullptr, argv, g_envp);
  }
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) {
    Warn("cannot start `heapwarden %s`: no tool next to heapwarden's library, at %s, nor in PATH",
         args[0] != nullptr ? args[0] : "",
         HEAPWARDEN_INSTALL_TOOL[0] != '\0' ? HEAPWARDEN_INSTALL_TOOL : "an install path");
    return -1;
  }
  return pid;
}

int WaitTool(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

int RunTool(const char* const* args, int stdout_fd, int stderr_fd) {
  pid_t pid = SpawnTool(args, stdout_fd, stderr_fd);
  return pid < 0 ? -1 : WaitTool(pid);
}

int RunToolCapture(const char* const* args, char* out, size_t size) {
  if (size > 0) out[0] = '\0';
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  pid_t pid = SpawnTool(args, fds[1], fds[1]);
  close(fds[1]);
  size_t used = 0;
  char scratch[4096];
  for (;;) {
    char* into = used + 1 < size ? out + used : scratch;
    size_t room = used + 1 < size ? size - 1 - used : sizeof(scratch);
    ssize_t n = read(fds[0], into, room);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (into != scratch) used += static_cast<size_t>(n);
  }
  close(fds[0]);
  if (size > 0) out[used] = '\0';
  return pid < 0 ? -1 : WaitTool(pid);
}

}  // namespace heapwarden::internal
