// leak_text.h: the leak-checking sections of the text report, in the layout
// LeakSanitizer users already read: memory errors with their stacks, the reachable
// total, the largest long-lived groups, the "Suppressions used" table and the
// SUMMARY line. report_text.cc puts them together.
// Report side.
#ifndef HEAPWARDEN_LIB_REPORT_LEAK_TEXT_H_
#define HEAPWARDEN_LIB_REPORT_LEAK_TEXT_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "nlohmann/json.hpp"
#include "report/report_index.h"

namespace heapwarden::report {

// The ids of a report resolved (report_index.h).
using StackIndex = ReportIndex;

// RenderStackFrames()
//
// The numbered frame lines ("    #0 0x... in f file.c:12") of stack `id`, or one line
// saying it is missing.
void RenderStackFrames(const StackIndex& stacks, int64_t id, std::ostream& out);

// RenderErrors()
//
// Each entry of "errors" as
//   ERROR: heapwarden: attempting double-free on 0x...
//       #0 ...
//     first freed at:
//       #0 ...
// (an invalid free, a double free with where it was first freed, a mismatched free
// with how and where the block was allocated). At most `max` entries, then a count.
void RenderErrors(const nlohmann::json& report, const StackIndex& stacks, int max,
                  std::ostream& out);

// RenderReachable()
//
// One line with the bytes, blocks and sites still reachable at exit (not leaks),
// nothing when there are none.
void RenderReachable(const nlohmann::json& report, std::ostream& out);

// RenderLongLived()
//
// The `top` largest groups of "long_lived" (live at report time and older than
// long_lived_s) with their stacks; nothing when there are none.
void RenderLongLived(const nlohmann::json& report, const StackIndex& stacks, int top,
                     std::ostream& out);

// RenderSuppressionsUsed()
//
// LeakSanitizer's table from heapwarden.suppressions_used, between dashed lines:
//   Suppressions used:
//     count      bytes template
//         3       1008 _dl_allocate_tls
// Nothing when no rule matched.
void RenderSuppressionsUsed(const nlohmann::json& report, std::ostream& out);

// LeakSummaryLine()
//
// "SUMMARY: heapwarden: 3000 byte(s) leaked in 3 allocation(s)." counting unsuppressed
// direct, indirect and unclassified groups.
std::string LeakSummaryLine(const nlohmann::json& report);

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_LEAK_TEXT_H_
