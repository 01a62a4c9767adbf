// report_format.h: the names both sides of heapwarden agree on -- the report's format
// name and versions, and the exit status of a failed leak gate.
// Shared by both sides: plain constants, no dependency, so the record side (inside the
// tracked process: no allocation, no stdio) writes what the report side reads.
#ifndef HEAPWARDEN_LIB_COMMON_REPORT_FORMAT_H_
#define HEAPWARDEN_LIB_COMMON_REPORT_FORMAT_H_

namespace heapwarden {

// The "format" member of every report.
inline constexpr char kReportFormat[] = "heapwarden-report";

// The version both sides write: "modules", "frames" and "stacks" tables, each
// distinct frame once (docs/reports.md). The record side writes it raw (native frames
// with module and offset, "symbolized": false); `heapwarden symbolize` names them.
inline constexpr int kReportVersion = 2;

// The oldest version readers accept. Version 1, what the record side wrote before,
// has every frame inline in every stack; readers turn it into version 2 as they load it.
inline constexpr int kOldestReadableReportVersion = 1;

// The exit status of `run --fail-on-leak`, `check`, `diff --fail-on-growth` and
// fail_on_leak=1 when the gate fails, unless leak_exitcode says otherwise (the same
// number as the option's default in lib/record/base/options.inc).
inline constexpr int kLeakExitCode = 23;

// When the record side cannot write a report (tracking could not start, or the final
// report could not be written), it writes one line saying why to the report's path
// with this suffix, so that `run` names the cause instead of guessing.
inline constexpr char kNoReportSuffix[] = ".noreport";

}  // namespace heapwarden

#endif  // HEAPWARDEN_LIB_COMMON_REPORT_FORMAT_H_
