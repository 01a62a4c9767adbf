// crash_report.cc: see crash_report.h. Signal handler.
#include "record/emit/crash_report.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "record/base/mmap_arena.h"
#include "record/track/recorder.h"
#include "record/emit/report_writer.h"
#include "record/base/thread_state.h"

namespace heapwarden::internal {
namespace {

constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
// Enough for the writer's frames (its buffers are mmap'd, not on the stack).
constexpr size_t kAltStackBytes = 256 * 1024;
// How long the handler waits for a report another thread is writing.
constexpr int kReportLockTries = 1000;  // x 1 ms

std::atomic<bool> g_writing{false};

void WriteCrashReport() {
  Recorder& recorder = TheRecorder();
  // Inside a hook (the crash is heapwarden's, or the allocator's under it) the tables
  // may be half-updated and their locks held by this very thread: no report.
  if (!recorder.active() || t_state.busy != 0 || recorder.final_report_written()) return;
  if (recorder.is_fork_child() && !recorder.options().follow_fork) return;
  if (g_writing.exchange(true)) return;  // one crash report per process
  RecursionGuard guard;
  SpinLock& lock = recorder.report_lock();
  // A report stuck in progress: better none than a hang.
  for (int i = 0; i < kReportLockTries; ++i) {
    if (lock.TryLock()) {
      char path[4096 + 64];
      recorder.OutputPath(path, sizeof(path));
      ReleaseReportReserve();  // the process is ending: room for the report
      WriteReportFile(recorder, path, /*complete=*/false, /*exit_status=*/nullptr);
      lock.Unlock();
      return;
    }
    const timespec ms = {0, 1000000};
    nanosleep(&ms, nullptr);
  }
}

void OnFatalSignal(int sig, siginfo_t* info, void*) {
  const int saved_errno = errno;
  WriteCrashReport();
  // Back to the default, then let the signal do what it would have done: a fault
  // (si_code > 0) recurs when the instruction runs again; a sent signal (kill, raise,
  // abort) is sent again, pending until this handler returns.
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, nullptr);
  if (info == nullptr || info->si_code <= 0) raise(sig);
  errno = saved_errno;
}

}  // namespace

bool CrashReportInProgress() { return g_writing.load(std::memory_order_relaxed); }

void InstallCrashHandlers() {
  // The calling (main) thread's alternate stack, unless the program has one: a stack
  // overflow leaves no stack to run the handler on.
  stack_t current;
  if (sigaltstack(nullptr, &current) == 0 && (current.ss_flags & SS_DISABLE)) {
    void* stack = MapPages(kAltStackBytes, /*reserve_only=*/false);
    if (stack != nullptr) {
      stack_t alt = {};
      alt.ss_sp = stack;
      alt.ss_size = kAltStackBytes;
      sigaltstack(&alt, nullptr);
    }
  }
  for (int sig : kFatalSignals) {
    struct sigaction old;
    if (sigaction(sig, nullptr, &old) != 0) continue;
    if ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL) continue;
    struct sigaction action = {};
    action.sa_sigaction = OnFatalSignal;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    sigaction(sig, &action, nullptr);
  }
}

}  // namespace heapwarden::internal
