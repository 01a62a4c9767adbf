// site_rollup.h: sums what a report attributes to sites (at the peak, live at the end,
// allocated) by site, function, source file or tag: the rows of "where did my memory
// go". Report side.
#ifndef HEAPWARDEN_LIB_REPORT_SITE_ROLLUP_H_
#define HEAPWARDEN_LIB_REPORT_SITE_ROLLUP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "report/report_index.h"

namespace heapwarden::report {

// One site's weight in the measure being rolled up.
struct SiteAmount {
  int64_t stack = 0;
  std::string tag;
  int64_t bytes = 0;
  int64_t blocks = 0;
};

// PeakAmounts(), LiveAmounts()
//
// The sites live at the peak (report "peak.sites") and live at the end or in the
// snapshot ("sites" live_bytes/live_blocks of heap sites: the mapped ones are not in
// the live total), zero rows left out.
std::vector<SiteAmount> PeakAmounts(const nlohmann::json& report);
std::vector<SiteAmount> LiveAmounts(const nlohmann::json& report);

enum class RollUp { kSite, kFunction, kFile, kTag };

// ParseRollUp()
//
// "site", "function", "file", "tag"; false for anything else.
bool ParseRollUp(const std::string& name, RollUp* out);

struct RollUpRow {
  std::string name;    // the site's frames ("f < caller < caller's caller"), function, file or tag
  int64_t bytes = 0;   // inclusive: every site whose stack holds it (once per site)
  int64_t blocks = 0;
  int64_t own_bytes = 0;  // function/file: the sites where it is the innermost frame
  int64_t sites = 0;
  int64_t stack = -1;  // kSite: the site's stack and tag
  std::string tag;
};

// RollUpAmounts()
//
// Rows, largest bytes first (ties: name). For kFunction and kFile a site counts once
// for each distinct function (file) on its stack, so the rows overlap and their sum
// exceeds the total; a python frame's function is "function (file:line)", so a Python
// program rolls up by line. Functions (files) with nothing of their own that are on the
// stack of every site of the report, and the process's and threads' entry frames
// (_start, __libc_start_main, start_thread, clone), say nothing and are left out;
// *hidden counts them. kFunction leaves out frames with no symbol on a stack that has
// named ones (a stripped library's offsets under every site of it); *unnamed counts
// those frames.
std::vector<RollUpRow> RollUpAmounts(const ReportIndex& index, const std::vector<SiteAmount>& amounts,
                                     RollUp by, int* hidden = nullptr, int* unnamed = nullptr);

// SiteName()
//
// The innermost frames of a stack as "inner < caller < ...", at most `width` characters,
// down to the process's or thread's entry frames (_start, __libc_start_call_main), which
// every site shares. Where the stack has named frames, the unnamed ones before the first
// are left out and each later run of them in one module reads "module+...".
std::string SiteName(const ReportIndex& index, int64_t stack, size_t width);

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_SITE_ROLLUP_H_
