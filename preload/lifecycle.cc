// lifecycle.cc: the process events the preload must see besides allocation: start,
// fork, dlclose, and every way a process ends; and the symbolizer it starts at exit.
// Preload side: glue only; the work is the recorder's.
#include <dlfcn.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "preload/real_functions.h"
#include "record/log.h"
#include "record/recorder.h"
#include "record/thread_state.h"

extern char** environ;

namespace heapwarden::internal {
namespace {

std::atomic<int> g_exit_status{0};
std::atomic<bool> g_exit_status_known{false};

void PrepareFork() { TheRecorder().PrepareFork(); }
void AfterForkParent() { TheRecorder().AfterForkParent(); }
void AfterForkChild() { TheRecorder().AfterForkChild(); }

// <dir of this library>/../bin/heapwarden: the layout of both the build tree
// (build/lib, build/bin) and an installed prefix (lib, bin).
bool ToolPath(char* out, size_t size) {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&ToolPath), &info) == 0 || info.dli_fname == nullptr) {
    return false;
  }
  const char* slash = strrchr(info.dli_fname, '/');
  if (slash == nullptr) return false;
  size_t dir_len = static_cast<size_t>(slash - info.dli_fname);
  static constexpr char kTool[] = "/../bin/heapwarden";
  if (dir_len + sizeof(kTool) > size) return false;
  memcpy(out, info.dli_fname, dir_len);
  memcpy(out + dir_len, kTool, sizeof(kTool));
  return access(out, X_OK) == 0;
}

// Runs `heapwarden symbolize PATH` without the preload in its environment and waits
// for it, so the report is final when the program's exit completes.
void Symbolize(const char* report_path) {
  char tool[4096];
  if (!ToolPath(tool, sizeof(tool))) {
    Warn("cannot find the heapwarden tool next to the preload; the report is not symbolized");
    return;
  }
  static char* envp[4096];
  size_t n = 0;
  for (char** e = environ; e != nullptr && *e != nullptr && n + 1 < 4096; ++e) {
    if (strncmp(*e, "LD_PRELOAD=", 11) == 0 || strncmp(*e, "HEAPWARDEN_OPTIONS=", 19) == 0) {
      continue;
    }
    envp[n++] = *e;
  }
  envp[n] = nullptr;
  char sub[] = "symbolize";
  char* argv[] = {tool, sub, const_cast<char*>(report_path), nullptr};
  pid_t pid;
  if (posix_spawn(&pid, tool, nullptr, nullptr, argv, envp) != 0) {
    Warn("cannot start %s; the report is not symbolized", tool);
    return;
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

void FinishProcess(int exit_status, bool known) {
  Recorder& recorder = TheRecorder();
  if (!recorder.active()) return;
  RecursionGuard guard;
  bool was_written = recorder.final_report_written();
  recorder.WriteFinalReport(exit_status, known);
  if (!was_written && recorder.final_report_written() && recorder.options().symbolize &&
      !(recorder.is_fork_child() && !recorder.options().follow_fork)) {
    char path[4096 + 64];
    recorder.OutputPath(path, sizeof(path));
    Symbolize(path);
  }
}

// A vfork()ed child shares its parent's memory and ran no fork handlers: it must not
// write anything. Its pid differs from the one the recorder knows.
bool InVforkChild() { return getpid() != TheRecorder().pid(); }

__attribute__((constructor(101))) void StartTracking() {
  if (!EnsureRealAllocator()) return;
  RecursionGuard guard;
  if (!TheRecorder().Init(getenv("HEAPWARDEN_OPTIONS"))) return;
  TheRecorder().set_trim_function(g_real.malloc_trim);
  pthread_atfork(PrepareFork, AfterForkParent, AfterForkChild);
}

// Runs from _dl_fini, after the program's own destructors and atexit handlers: what
// is still live then was never going to be freed.
__attribute__((destructor(101))) void StopTracking() {
  if (InVforkChild()) return;
  FinishProcess(g_exit_status.load(), g_exit_status_known.load());
}

}  // namespace
}  // namespace heapwarden::internal

using heapwarden::internal::FinishProcess;
using heapwarden::internal::g_exit_status;
using heapwarden::internal::g_exit_status_known;
using heapwarden::internal::InVforkChild;

#define HW_EXPORT extern "C" __attribute__((visibility("default")))

// exit() only remembers the status for the report; the report itself is written by
// the destructor above, once every atexit handler has run.
HW_EXPORT [[noreturn]] void exit(int status) {
  using ExitFn = void (*)(int);
  static ExitFn real_exit = reinterpret_cast<ExitFn>(dlsym(RTLD_NEXT, "exit"));
  g_exit_status.store(status);
  g_exit_status_known.store(true);
  real_exit(status);
  __builtin_unreachable();
}

// _exit skips destructors, so the report is written here — except in a vfork child.
HW_EXPORT [[noreturn]] void _exit(int status) {
  if (!InVforkChild()) FinishProcess(status, true);
  syscall(SYS_exit_group, status);
  __builtin_unreachable();
}

HW_EXPORT [[noreturn]] void _Exit(int status) { _exit(status); }

HW_EXPORT int dlclose(void* handle) {
  using DlcloseFn = int (*)(void*);
  static DlcloseFn real_dlclose = reinterpret_cast<DlcloseFn>(dlsym(RTLD_NEXT, "dlclose"));
  int result = real_dlclose(handle);
  // Addresses the closed object used may now belong to another one.
  heapwarden::internal::TheRecorder().modules().OnModulesUnloaded();
  return result;
}
