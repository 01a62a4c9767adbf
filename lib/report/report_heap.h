// report_heap.h: readies the tool's heap for loading a large report.
// Report side (the heapwarden tool only; never the preload, which must not change the
// tracked program's allocator).
#ifndef HEAPWARDEN_LIB_REPORT_REPORT_HEAP_H_
#define HEAPWARDEN_LIB_REPORT_REPORT_HEAP_H_

#include <cstddef>
#include <string>

#include "nlohmann/json.hpp"

namespace heapwarden::report {

// PrepareHeapForReport()
//
// A report's JSON tree takes ~15x its text in small blocks (120 MB for the 8 MB raw
// report of a numpy run): with 4 KiB pages that is ~29,000 first-touch page faults,
// a third of the report side's time in this project's VMs. For a report of
// `report_bytes` (1 MiB or more), this grows glibc's main heap once by 16x that
// (64 MiB to 1 GiB of address space; untouched pages cost nothing) and asks for
// transparent huge pages there (MADV_HUGEPAGE: what glibc's `glibc.malloc.hugetlb=1`
// tunable does, which a process cannot set for itself). The heap is no longer
// trimmed. Best effort: if the heap cannot grow, it is left as it was. Only the first
// call of a process does anything; make it before loading the report. For the tool's
// commands (not for a library user's process: it changes how the heap behaves).
void PrepareHeapForReport(size_t report_bytes);

// The same for the report file at `path` (nothing when it cannot be stat'ed).
void PrepareHeapForReportFile(const std::string& path);

// KeepUntilExit()
//
// Takes `report` from the caller and never frees it: for a command that exits next.
// Handing a large report's ~100 MB of small blocks back one by one takes 30-70 ms
// (the numpy run's), for memory the exit returns at once. It stays reachable (leak
// checkers do not count it).
void KeepUntilExit(nlohmann::json&& report);

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_REPORT_HEAP_H_
