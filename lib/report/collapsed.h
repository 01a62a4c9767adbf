// collapsed.h: the report as collapsed stacks, one line per stack,
// "outer;...;inner BYTES", the input of flamegraph.pl, inferno and speedscope.
// Report side.
#ifndef HEAPWARDEN_LIB_REPORT_COLLAPSED_H_
#define HEAPWARDEN_LIB_REPORT_COLLAPSED_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"
#include "report/render_options.h"

namespace heapwarden::report {

// IsCollapsedMeasure()
//
// "peak" (what was live at the peak), "live" (at the end or in the snapshot),
// "allocated" (every byte ever allocated) or "leaked" (unsuppressed direct, indirect and
// unclassified leaks).
bool IsCollapsedMeasure(const std::string& measure);

// RenderCollapsed()
//
// One line per distinct stack with a non-zero weight in options.measure, outermost
// frame first, frames named as FrameLabel() does (';' in a name becomes ':'); stacks
// that differ only by tag are summed. Lines are sorted, so two runs compare with diff.
// InvalidArgument for an unknown measure.
absl::Status RenderCollapsed(const nlohmann::json& report, const RenderOptions& options,
                             std::ostream& out);

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_COLLAPSED_H_
