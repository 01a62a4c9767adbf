// lifecycle.cc: the process events the preload must see besides allocation: start,
// fork, dlclose, and every way a process ends; and the symbolizer it starts at exit.
// Preload side: glue only; the work is the recorder's.
#include <dlfcn.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/report_format.h"
#include "preload/delivery.h"
#include "preload/mmap_override.h"
#include "preload/real_functions.h"
#include "record/alloc/backend.h"
#include "record/base/log.h"
#include "record/emit/crash_report.h"
#include "record/process.h"
#include "record/track/recorder.h"
#include "record/base/spin_lock.h"
#include "record/base/thread_state.h"
#include "record/base/tool_runner.h"

// Functions that can sit under the program's own frames in a stack (the wrapper of
// main; exit and dlclose, under atexit handlers and destructors that allocate) live in
// one section, so that stack capture leaves them out even when libheapwarden.a puts
// them inside the program's module (stack_capture.cc).
#define HW_OWN_TEXT __attribute__((section("heapwarden_text"), noinline))

namespace heapwarden::internal {
namespace {

std::atomic<int> g_exit_status{0};
std::atomic<bool> g_exit_status_known{false};
// The frame of the call that began the process's end (exit(), or main's return): the
// leak scan's top of this thread's stack (StopTracking).
std::atomic<uintptr_t> g_exit_frame{0};


// Runs `heapwarden symbolize PATH` in a helper process (tool_runner.h), so the report
// is final when the program's exit completes; with `summary` the tool also prints the
// summary `heapwarden run` prints, to the program's stderr.
void Symbolize(const char* report_path, bool summary) {
  const char* args[] = {"symbolize", report_path, summary ? "--summary" : nullptr, nullptr};
  RunTool(args, -1, -1);
}

// fail_on_leak with the bare preload: `heapwarden check PATH` prints the leak report
// to stderr and decides, from the report and the options it records (max_leak_bytes,
// suppressions), as `heapwarden run --fail-on-leak` would; on failure the process
// ends at once with leak_exitcode, as LeakSanitizer's does, printing the report only
// when the gate fails (a clean program stays silent).
// A report that could not be written or checked fails the gate too: a gate that
// cannot see its evidence must not pass (docs/reliability.md).
// `flush_stdio`: the process is in exit(), whose stdio flush comes after this; ending
// it here must not lose the program's buffered output (LeakSanitizer does).
void CheckLeaksAtExit(const char* report_path, bool report_written, bool flush_stdio) {
  int verdict = -1;
  if (report_written) {
    const char* args[] = {"check", report_path, "--report-on-failure", nullptr};
    verdict = RunTool(args, 2, -1);
  }
  if (verdict == 0) return;
  if (verdict != kLeakExitCode) {
    Warn("fail_on_leak: the report %s could not be %s; failing", report_path,
         report_written ? "checked" : "written");
  }
  if (flush_stdio) fflush(nullptr);
  syscall(SYS_exit_group, static_cast<int>(TheRecorder().options().leak_exitcode));
}

// `stack_top`: the frame address of the exported entry point that called this, so
// that the leak scan reads the program's stack above it and none of heapwarden's.
// `in_exit`: called from exit()'s handlers (not _exit, which flushes no stdio).
void FinishProcess(int exit_status, bool known, uintptr_t stack_top, bool in_exit) {
  Recorder& recorder = TheRecorder();
  if (!recorder.active()) return;
  RecursionGuard guard;
  bool was_written = recorder.final_report_written();
  const bool written = recorder.WriteFinalReport(exit_status, known, stack_top);
  // symbolize=0 is how `heapwarden run` starts the preload: run symbolizes and gates.
  if (!was_written && recorder.final_report_written() && recorder.options().symbolize &&
      !(recorder.is_fork_child() && !recorder.options().follow_fork)) {
    char path[4096 + 64];
    recorder.OutputPath(path, sizeof(path));
    // One summary, when the program leaked: check prints it when the gate fails, else
    // symbolize does.
    const bool check = recorder.options().fail_on_leak;
    if (written) Symbolize(path, recorder.options().summary && !check);
    if (check) CheckLeaksAtExit(path, written, in_exit);
  }
}

// A vfork()ed child shares its parent's memory and ran no fork handlers: it must not
// write anything. Its pid differs from the one the recorder knows.
bool InVforkChild() { return getpid() != TheRecorder().pid(); }

// The module (executable or library) that holds `address`, or null.
void* ModuleOf(void* address) {
  Dl_info info;
  return address != nullptr && dladdr(address, &info) != 0 ? info.dli_fbase : nullptr;
}

// True when the process's malloc is this copy's. Two copies meet when a program linked
// with libheapwarden runs under `heapwarden run` (the preload comes first in symbol
// lookup), or when the executable holds libheapwarden.a and the preload is loaded too
// (the executable comes first). Only the copy that sees the allocations may track:
// two recorders would write two reports to one path.
//
// libc is asked rather than the symbol table: its own calls to malloc (strdup's here)
// go to the process's malloc, wherever that is defined. dlsym(RTLD_DEFAULT, "malloc")
// would not do: in a non-PIE executable that takes malloc's address it returns the
// executable's PLT stub. While probing, this copy's hook reaches ProbeMalloc instead of
// the real malloc; nothing else changes.
bool g_owns_malloc = false;
void* (*g_probe_next)(size_t) = nullptr;
std::atomic<bool> g_probe_reached{false};

void* ProbeMalloc(size_t size) {
  g_probe_reached.store(true, std::memory_order_relaxed);
  return g_probe_next(size);
}

// `tracking_wanted`: whether to say so when another allocator is in front (a linked
// copy that nobody switched on stays quiet).
bool OwnsProcessMalloc(bool tracking_wanted) {
  using FreeFn = void (*)(void*);
  char* (*volatile duplicate)(const char*) = strdup;  // a call into libc, not a builtin
  FreeFn process_free = reinterpret_cast<FreeFn>(dlsym(RTLD_DEFAULT, "free"));
  g_probe_next = g_real.malloc;
  __atomic_store_n(&g_real.malloc, &ProbeMalloc, __ATOMIC_RELEASE);
  char* copy = duplicate("heapwarden");
  __atomic_store_n(&g_real.malloc, g_probe_next, __ATOMIC_RELEASE);
  if (copy != nullptr && process_free != nullptr) process_free(copy);
  if (g_probe_reached.load(std::memory_order_relaxed)) return true;
  // Another heapwarden is a normal meeting; another allocator in front deserves a word
  // (or libheapwarden.so linked into a library, not the executable: libc comes first).
  void* api_owner = ModuleOf(dlsym(RTLD_DEFAULT, "heapwarden_get_api_v1"));
  if (tracking_wanted && api_owner == ModuleOf(reinterpret_cast<void*>(&ModuleOf))) {
    Warn("another library serves malloc before heapwarden; tracking is off");
  }
  return false;
}

// Turns tracking on, once per process: from the constructor, or later from
// heapwarden_start(). Call with the recursion guard held.
SpinLock g_start_lock;
bool g_start_attempted = false;

bool StartRecorder(const char* options) {
  SpinLockHolder hold(g_start_lock);
  if (g_start_attempted) return TheRecorder().active();
  g_start_attempted = true;
  if (!StartRecording(options)) return false;
  g_recorder_started.store(true, std::memory_order_relaxed);
  TheRecorder().set_trim_function(g_real.malloc_trim);
  pthread_atfork(PrepareForkRecording, AfterForkRecordingParent, AfterForkRecordingChild);
  InitMmapOverride();
  InstallCrashHandlers();
  return true;
}

__attribute__((constructor(101))) void StartTracking() {
  if (!EnsureRealAllocator()) return;
  RecursionGuard guard;
  const char* options = getenv("HEAPWARDEN_OPTIONS");
  g_owns_malloc = OwnsProcessMalloc(options != nullptr || kDelivery == Delivery::kPreload);
  if (!g_owns_malloc) {
    SelectBackend(nullptr, &g_real);  // glibc straight through for whatever calls in here
    return;
  }
  // Before Init: its service thread allocates, and must get the chosen allocator.
  SelectBackend(options, &g_real);
  // Linked into the program, tracking waits until it is asked for (docs/cpp.md): the
  // hooks then cost a predicted branch each.
  if (kDelivery == Delivery::kLinked && options == nullptr) return;
  StartRecorder(options);
}

// Runs from _dl_fini, after the program's own destructors and atexit handlers: what
// is still live then was never going to be freed.
__attribute__((destructor(101))) void StopTracking() {
  if (InVforkChild()) return;
  // The leak scan reads this thread's stack from where the process began to end: the
  // exit() call or main's return. Below that lie the frames of exit handlers, static
  // destructors and _dl_fini, whose unused slots still hold what main's callees left
  // there -- stale pointers that would make leaked blocks look reachable.
  uintptr_t stack_top = g_exit_frame.load();
  if (stack_top == 0 || stack_top < reinterpret_cast<uintptr_t>(__builtin_frame_address(0))) {
    stack_top = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  }
  FinishProcess(g_exit_status.load(), g_exit_status_known.load(), stack_top, /*in_exit=*/true);
}

}  // namespace
}  // namespace heapwarden::internal

using heapwarden::internal::FinishProcess;
using heapwarden::internal::g_exit_status;
using heapwarden::internal::g_exit_frame;
using heapwarden::internal::g_exit_status_known;
using heapwarden::internal::InVforkChild;

#define HW_EXPORT extern "C" __attribute__((visibility("default")))

// heapwarden_start() (heapwarden.h): the way a linked program switches tracking on
// from code. Tracking can start once per process; the backend is chosen at start-up
// only (HEAPWARDEN_OPTIONS), so a backend key here has no effect.
HW_EXPORT int heapwarden_start(const char* options) {
  if (!heapwarden::internal::g_owns_malloc) return -1;  // another copy, or before start-up
  heapwarden::internal::RecursionGuard guard;
  return heapwarden::internal::StartRecorder(options) ? 0 : -1;
}

// Returning from main reaches exit() inside libc, where no interposer sees it; so the
// preload wraps main itself to learn the status for the report.
namespace {
using MainFn = int (*)(int, char**, char**);
MainFn g_real_main = nullptr;

HW_OWN_TEXT int MainWrapper(int argc, char** argv, char** envp) {
  int status = g_real_main(argc, argv, envp);
  g_exit_status.store(status);
  g_exit_status_known.store(true);
  g_exit_frame.store(reinterpret_cast<uintptr_t>(__builtin_frame_address(0)));  // see StopTracking
  return status;
}
}  // namespace

HW_EXPORT HW_OWN_TEXT int __libc_start_main(MainFn main, int argc, char** argv,
                                            void (*init)(void), void (*fini)(void),
                                            void (*rtld_fini)(void), void* stack_end) {
  using StartFn = int (*)(MainFn, int, char**, void (*)(void), void (*)(void), void (*)(void),
                          void*);
  auto real_start = reinterpret_cast<StartFn>(dlsym(RTLD_NEXT, "__libc_start_main"));
  g_real_main = main;
  return real_start(MainWrapper, argc, argv, init, fini, rtld_fini, stack_end);
}

// exit() only remembers the status for the report; the report itself is written by
// the destructor above, once every atexit handler has run.
HW_EXPORT [[noreturn]] HW_OWN_TEXT void exit(int status) {
  using ExitFn = void (*)(int);
  static ExitFn real_exit = reinterpret_cast<ExitFn>(dlsym(RTLD_NEXT, "exit"));
  g_exit_status.store(status);
  g_exit_status_known.store(true);
  g_exit_frame.store(reinterpret_cast<uintptr_t>(__builtin_frame_address(0)));  // see StopTracking
  real_exit(status);
  __builtin_unreachable();
}

// _exit skips destructors, so the report is written here — except in a vfork child.
HW_EXPORT [[noreturn]] void _exit(int status) {
  if (!InVforkChild()) {
    FinishProcess(status, true, reinterpret_cast<uintptr_t>(__builtin_frame_address(0)),
                  /*in_exit=*/false);
  }
  syscall(SYS_exit_group, status);
  __builtin_unreachable();
}

HW_EXPORT [[noreturn]] void _Exit(int status) { _exit(status); }

HW_EXPORT HW_OWN_TEXT int dlclose(void* handle) {
  using DlcloseFn = int (*)(void*);
  static DlcloseFn real_dlclose = reinterpret_cast<DlcloseFn>(dlsym(RTLD_NEXT, "dlclose"));
  int result = real_dlclose(handle);
  // Addresses the closed object used may now belong to another one.
  heapwarden::internal::TheRecorder().modules().OnModulesUnloaded();
  return result;
}
