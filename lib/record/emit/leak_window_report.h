// leak_window_report.h: a leak-check window's leaks as a small report file, so the
// heapwarden tool can judge them exactly as it judges a whole run (`heapwarden check`:
// symbols, the built-in and user suppressions, max_leak_bytes). Used by
// heapwarden_leak_check_verdict() (leak_check.h).
// Report time: runs on a program thread between two tests with the recursion guard
// held; builds the text in mmap'd memory, writes it with write(2).
#ifndef HEAPWARDEN_LIB_RECORD_EMIT_LEAK_WINDOW_REPORT_H_
#define HEAPWARDEN_LIB_RECORD_EMIT_LEAK_WINDOW_REPORT_H_

namespace heapwarden::internal {

class Recorder;
struct LeakClassification;

// WriteLeakWindowReport()
//
// Writes to `path` (atomically, mode 0600, never through a symbolic link) a report
// holding only the direct and indirect leaks of `c` with their stacks, sites and the
// options the process runs with (its suppressions file and max_leak_bytes), marked
// complete and unsymbolized. Returns 0 or an errno value.
int WriteLeakWindowReport(Recorder& recorder, const LeakClassification& c, const char* path);

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_EMIT_LEAK_WINDOW_REPORT_H_
