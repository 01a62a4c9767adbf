// crash_report.h: a report from a process that a fatal signal (SIGSEGV, SIGBUS, SIGFPE,
// SIGILL, SIGABRT) is ending, before its first periodic snapshot as after it.
// Signal handler: runs on an alternate stack (the main thread's; another thread's own
// stack), writes with the mmap-backed writer, asks the allocator nothing, takes no lock
// it cannot give up on; then the signal ends the process as it would have without
// heapwarden (same status, same core dump).
#ifndef HEAPWARDEN_LIB_RECORD_EMIT_CRASH_REPORT_H_
#define HEAPWARDEN_LIB_RECORD_EMIT_CRASH_REPORT_H_

namespace heapwarden::internal {

// InstallCrashHandlers()
//
// For each fatal signal whose disposition is still the default, installs the handler
// that writes the report. A handler the program installs later replaces it and runs as
// before; nothing is installed over one the program already has. Call once, from
// start-up (not async-signal-safe).
void InstallCrashHandlers();

// True while a crash report is being written: the writer then reads only what needs
// no lock held by the interrupted code (memory_view.h, ViewDetail::kNoWait).
bool CrashReportInProgress();

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_EMIT_CRASH_REPORT_H_
