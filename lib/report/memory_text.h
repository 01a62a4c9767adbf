// memory_text.h: the sections of the text report that answer "where did my memory
// go", after the leaks: the peak and what is live at the end (or in the snapshot), by
// site and rolled up by function (or file, or tag), with bytes, blocks and share; then
// the tags. Rows fit an 80-column terminal.
// Report side.
#ifndef HEAPWARDEN_LIB_REPORT_MEMORY_TEXT_H_
#define HEAPWARDEN_LIB_REPORT_MEMORY_TEXT_H_

#include <ostream>

#include "nlohmann/json.hpp"
#include "report/render_options.h"
#include "report/report_index.h"

namespace heapwarden::report {

// The widest line these sections print.
inline constexpr size_t kTextWidth = 80;

// RenderWhereMemoryWent()
//
//   Peak: 64.1 MiB (67210880 bytes) live at 0.05 s
//   Peak by site:
//          bytes  share  blocks  site
//       64.0 MiB  99.8%      64  AllocPeakBlock < HoldPeak < main [phase/load]
//     ... 3 more with 40.0 KiB
//
//   Peak by function (each counts every site it is on):
//          bytes  share  blocks  function
//       64.0 MiB  99.8%      64  HoldPeak
//     ... 3 more; 2 function(s) on every stack not shown
//
// then "Live at exit" (or "Live in the snapshot") the same way, then "Tags". With
// options.by set, only that roll-up is shown for the peak and live memory; at most
// options.top rows per table. Sections with nothing to show are left out.
void RenderWhereMemoryWent(const ReportIndex& index, const RenderOptions& options,
                           std::ostream& out);

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_MEMORY_TEXT_H_
