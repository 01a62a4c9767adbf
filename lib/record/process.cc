// process.cc: see process.h. Also Recorder::WriteFinalReport, the one report that
// needs every layer: the service stopped, the leak scan, the writer.
#include "record/process.h"

#include <errno.h>

#include <cstring>

#include "common/atomic_file.h"
#include "common/report_format.h"
#include "record/alloc/backend.h"
#include "record/base/clock.h"
#include "record/base/log.h"
#include "record/base/mmap_arena.h"
#include "record/base/proc_stats.h"
#include "record/base/thread_state.h"
#include "record/emit/report_writer.h"
#include "record/leaks/leak_classifier.h"
#include "record/service/service_thread.h"
#include "record/service/snapshot_writer.h"
#include "record/service/tasks.h"
#include "record/track/free_checker.h"
#include "record/track/recorder.h"
#include "record/track/timeline.h"

namespace heapwarden::internal {
namespace {

// How long a free that found an error waits for the service thread's snapshot.
constexpr int kErrorSnapshotWaitMs = 2000;

// An error the allocator may abort on: the report goes to disk first. The service
// thread writes it -- the free may be in a signal handler that interrupted malloc,
// where the report lock or the allocator's statistics could wait for ever -- and the
// free waits a bounded time: the process is about to end.
void SnapshotAfterFreeError(Recorder&) {
  // No thread is started for it here: pthread_create allocates (the new thread's TLS),
  // and this free may be in a signal handler that interrupted malloc. Without a service
  // thread (snapshot_s=0, control=off, one thread) the error waits for the exit or
  // crash report, which lists it too.
  WaitForSnapshot(RequestSnapshot(), kErrorSnapshotWaitMs);
}

// A fork child's first allocation (the parent's service thread did not survive fork,
// and an atfork handler is no place to start one).
void RestartServiceInForkChild(Recorder& recorder) { StartServiceThread(recorder); }

// Next to where the report would have been: why there is none (report_format.h).
void WriteNoReportNote(const char* report_path, const char* why) {
  char note[4096 + 64 + sizeof(kNoReportSuffix)];
  FormatTo(note, sizeof(note), "%s%s", report_path, kNoReportSuffix);
  WriteFileAtomically(note, why, strlen(why));
}

}  // namespace

bool StartRecording(const char* options_text) {
  Recorder& recorder = TheRecorder();
  if (!recorder.Init(options_text)) {
    char path[4096 + 64];
    recorder.OutputPath(path, sizeof(path));
    WriteNoReportNote(path,
                      "heapwarden could not reserve its tables (a limit on address space?), "
                      "so it did not track the program\n");
    return false;
  }
  HoldReportReserve();  // under ulimit -v: room for the report at exit
  SetFreeErrorHandler(SnapshotAfterFreeError);
  SetServiceFiguresWriter(WriteServiceFiguresJson);
  recorder.set_fork_child_first_allocation(RestartServiceInForkChild);
  RegisterServiceTasks(recorder.options());
  // Last: the thread may run at once, and its tasks are registered.
  StartServiceThread(recorder);
  return true;
}

void PrepareForkRecording() { TheRecorder().PrepareFork(); }

void AfterForkRecordingParent() { TheRecorder().AfterForkParent(); }

void AfterForkRecordingChild() {
  // The parent's service thread did not survive fork; close its socket here.
  ServiceThreadAfterForkChild();
  ResetSnapshotWriterAfterFork();
  ResetBackendAfterFork();
  TheRecorder().AfterForkChild();
}

bool Recorder::WriteFinalReport(int exit_status, bool exit_status_known, uintptr_t stack_top) {
  if (!active()) return false;
  if (final_report_written_.exchange(true)) return false;
  if (is_fork_child_ && !options_.follow_fork) return false;
  // No snapshot may land after this report, nor be half-written while it is: stop the
  // service thread's work (and remove the control socket), then hold the report lock.
  StopServiceThread();
  SpinLockHolder report_hold(report_lock_);
  ReleaseReportReserve();
  if (options_.timeline_ms > 0) {
    // Before the leak scan maps its own memory: the RSS is the program's.
    TimelineSample last;
    TakeTimelineSample(*this, NowNs(), ReadRssBytes(), &last);
    timeline_.SetFinal(last);
  }
  // Classify before anything else touches this stack: the scan reads it from
  // `stack_top` up, and a deeper frame of ours must not be taken for the program's.
  if (stack_top == 0) stack_top = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  LeakClassification leaks;
  // Sampled mode knows only the sampled blocks: no leak verdict (report_writer.cc
  // says so in the report).
  if (!sampled_ && ClassifyLeaks(*this, stack_top, &leaks)) leak_classification_ = &leaks;
  char path[4096 + 64];
  OutputPath(path, sizeof(path));
  int err = WriteReportFile(*this, path, /*complete=*/true,
                            exit_status_known ? &exit_status : nullptr);
  if (err == ENOMEM && trim_fn_ != nullptr) {
    // Out of address space (ulimit -v): the allocator may hold freed memory (mimalloc
    // keeps its segments); the process is ending, so have it give them back and retry.
    trim_fn_(0);
    err = WriteReportFile(*this, path, /*complete=*/true, exit_status_known ? &exit_status : nullptr);
  }
  leak_classification_ = nullptr;
  ReleaseLeakClassification(&leaks);
  if (err != 0) {
    Warn("cannot write the report to %s (errno %d)", path, err);
    char why[160];
    FormatTo(why, sizeof(why), "heapwarden could not write its report (errno %d%s)\n", err,
             err == ENOMEM ? ": out of memory or address space" : "");
    WriteNoReportNote(path, why);
  }
  return err == 0;
}

}  // namespace heapwarden::internal
