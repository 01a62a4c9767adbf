// report_format.h: the one place that names the report's format and versions.
// Shared fact of both sides: plain constants, no dependency, so the record side (which
// runs inside malloc and includes nothing heavy) can include it as well as the report
// side.
#ifndef HEAPWARDEN_LIB_REPORT_REPORT_FORMAT_H_
#define HEAPWARDEN_LIB_REPORT_REPORT_FORMAT_H_

namespace heapwarden {

// The "format" member of every report.
inline constexpr char kReportFormat[] = "heapwarden-report";

// The version the report side writes: "modules", "frames" and "stacks" tables, each
// distinct frame once (docs/reports.md).
inline constexpr int kReportVersion = 2;

// The version the record side writes: every frame inline in every stack, raw
// ({"address", "module", "offset"}, or {"kind": "python", ...}) until symbolized. Readers
// accept it, raw or symbolized, and turn it into version 2 as they load it.
inline constexpr int kRecordReportVersion = 1;

// The oldest version readers accept.
inline constexpr int kOldestReadableReportVersion = 1;

}  // namespace heapwarden

#endif  // HEAPWARDEN_LIB_REPORT_REPORT_FORMAT_H_
