// report_format.h: the names both sides of heapwarden agree on -- the report's format
// name and versions, and the exit status of a failed leak gate.
// Shared by both sides: the record side (inside the tracked process: no allocation, no
// stdio) writes what the report side (the heapwarden tool) reads. Header-only.
#ifndef HEAPWARDEN_LIB_COMMON_REPORT_FORMAT_H_
#define HEAPWARDEN_LIB_COMMON_REPORT_FORMAT_H_

namespace heapwarden {

// Every report's "format" member.
inline constexpr char kReportFormatName[] = "heapwarden-report";

// The version the record side writes: frames inline in each stack, without symbols
// ("heapwarden": {"symbolized": false}); `heapwarden symbolize` rewrites it.
inline constexpr int kRawReportVersion = 1;

// The exit status of `run --fail-on-leak`, `check` and fail_on_leak=1 when leaks exceed
// the limit, unless leak_exitcode says otherwise (the same number as the option's
// default in lib/record/base/options.inc).
inline constexpr int kLeakExitCode = 23;

}  // namespace heapwarden

#endif  // HEAPWARDEN_LIB_COMMON_REPORT_FORMAT_H_
