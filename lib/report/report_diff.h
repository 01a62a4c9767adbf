// report_diff.h: what grew and what shrank between two reports (or snapshots) of one
// program. Sites are matched by their symbolized frames -- function and file, or module
// and offset where a frame has no name -- and their tag, never by address, so two runs
// or two builds of one program compare.
// Report side.
#ifndef HEAPWARDEN_LIB_REPORT_REPORT_DIFF_H_
#define HEAPWARDEN_LIB_REPORT_REPORT_DIFF_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace heapwarden::report {

struct SiteFigures {
  int64_t live_bytes = 0;
  int64_t live_blocks = 0;
  int64_t allocations = 0;
  int64_t bytes_allocated = 0;
};

struct SiteDiff {
  std::string tag;
  std::string source;               // "heap" or "mapped"
  std::vector<std::string> frames;  // display lines, innermost first ("f file.c:12")
  SiteFigures before, after;        // summed over the sites of one report that match
  int64_t live_delta() const { return after.live_bytes - before.live_bytes; }
  int64_t allocations_delta() const { return after.allocations - before.allocations; }
};

struct ReportDiff {
  SiteFigures before, after;  // the reports' totals
  int64_t peak_before = 0, peak_after = 0;
  int only_before = 0, only_after = 0, matched = 0;  // sites
  std::vector<SiteDiff> sites;  // every site that changed, live growth first
  int64_t live_growth() const { return after.live_bytes - before.live_bytes; }
};

// DiffReports()
//
// Compares two version-2 reports (LoadReport()); symbolize both first for matching
// across builds.
ReportDiff DiffReports(const nlohmann::json& before, const nlohmann::json& after);

// RenderDiffText()
//
// The totals, then the sites whose live bytes grew and shrank and whose allocations
// rose and fell, largest first, at most `top` of each, with their stacks.
void RenderDiffText(const ReportDiff& diff, const std::string& before_name,
                    const std::string& after_name, int top, std::ostream& out);

// DiffJson()
//
// {"format": "heapwarden-diff", "version": 1, "old", "new", "totals": {"old", "new"},
//  "peak_live_bytes": {"old", "new"}, "sites": [{"tag", "source", "frames", "old",
//  "new", "live_bytes_delta", "allocations_delta"}]}: every changed site.
nlohmann::json DiffJson(const ReportDiff& diff, const std::string& before_name,
                        const std::string& after_name);

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_REPORT_DIFF_H_
