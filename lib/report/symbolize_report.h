// symbolize_report.h: adds function, file and line to every frame of a report.
// Report side: the preload writes raw addresses at exit; this runs afterwards, in the
// heapwarden tool or the helper process the preload starts.
#ifndef HEAPWARDEN_LIB_REPORT_SYMBOLIZE_REPORT_H_
#define HEAPWARDEN_LIB_REPORT_SYMBOLIZE_REPORT_H_

#include "nlohmann/json.hpp"
#include "report/symbolizer.h"

namespace heapwarden::report {

// IsSymbolized()
//
// True when the report says it was symbolized ("heapwarden": {"symbolized": true}).
bool IsSymbolized(const nlohmann::json& report);

// SymbolizeReport()
//
// Gives every native frame of a version-2 report (what LoadReport() returns) a
// "function" ("??" when unknown) and, where DWARF line information exists, "file" and
// "line"; then sets heapwarden.symbolized = true. Each entry of "frames" is looked up
// once, as a return address (at offset-1), keeping its "address" and "offset". When
// code was inlined at a frame's address, the inlined functions become new frames
// ("inlined": true, same address) that every stack lists just before it, innermost
// first; a stack still keeps at most the depth the process ran with (its "options"):
// every recorded frame stays, and inlined calls fill the room left, innermost first.
// Python frames pass through unchanged. Frames marked "inlined" by an earlier
// run are dropped first, so symbolizing twice gives the same report. Frame ids are
// renumbered. Never throws on a report that passed ValidateReport().
void SymbolizeReport(nlohmann::json& report, Symbolizer& symbolizer);

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_SYMBOLIZE_REPORT_H_
