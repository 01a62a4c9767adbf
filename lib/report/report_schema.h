// report_schema.h: strict checking of a version-2 report, so that every renderer can
// trust what it reads: a number is a number of the right kind, a size is never
// negative, and every stack, frame and module id points at something.
// Report side.
#ifndef HEAPWARDEN_LIB_REPORT_REPORT_SCHEMA_H_
#define HEAPWARDEN_LIB_REPORT_REPORT_SCHEMA_H_

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace heapwarden::report {

// ValidateReport()
//
// Checks a version-2 report (what LoadReport() hands every consumer) against the
// shape in docs/reports.md: "format" and "version"; objects "process" and "totals";
// tables "modules", "frames" and "stacks" with unique ids and references that resolve;
// and in every other section the members it knows (unknown members are allowed, for
// forward compatibility). Counts and sizes must be non-negative integers, times
// non-negative numbers, names strings, flags booleans: a wrong type is an error, never
// read as 0. On failure the message (without a path) says where, e.g.
//   "not a heapwarden report (sites[3].live_bytes is -5, not a non-negative integer)"
absl::Status ValidateReport(const nlohmann::json& report);

// NotAReport()
//
// InvalidArgument("not a heapwarden report (WHY)"), the form every check uses.
absl::Status NotAReport(absl::string_view why);

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_REPORT_SCHEMA_H_
