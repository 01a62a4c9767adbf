// json_depth.h: refuses JSON nested deeper than a report ever is, before parsing it.
// Report side. nlohmann::json recurses when it copies, compares, dumps or destroys a
// value, so a hostile file of 50,000 '[' would overflow the stack long after parsing
// succeeded; a linear scan of the text bounds the depth first.
#ifndef HEAPWARDEN_LIB_REPORT_JSON_DEPTH_H_
#define HEAPWARDEN_LIB_REPORT_JSON_DEPTH_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace heapwarden::report {

// A report nests six levels (report, stacks, stack, frames, ...); this leaves room for
// fields later versions add without ever approaching a stack's limit.
inline constexpr int kMaxJsonDepth = 64;

// CheckJsonDepth()
//
// OK when no array or object in `text` is nested more than `max_depth` levels deep
// (brackets inside strings do not count). Otherwise InvalidArgument, with a message
// (without a path) such as "JSON nested more than 64 levels deep (at byte 65)". Does
// not otherwise check the syntax: the parser does that.
absl::Status CheckJsonDepth(absl::string_view text, int max_depth = kMaxJsonDepth);

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_JSON_DEPTH_H_
