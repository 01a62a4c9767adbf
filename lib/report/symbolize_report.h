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
// Gives every frame of every stack a "function" ("??" when unknown) and, where DWARF
// line information exists, "file" and "line"; then sets heapwarden.symbolized = true.
// Every frame is taken as a return address (looked up at offset-1) while its
// "address" and "offset" stay as recorded. When code was inlined at a frame's address,
// the inlined functions become extra frames just before it, innermost first, with the
// same address and "inlined": true. Frames marked "inlined" by an earlier run are
// dropped first, so symbolizing twice gives the same report. Never throws on a report
// that passed ValidateReport(); anything malformed is left as it is.
void SymbolizeReport(nlohmann::json& report, Symbolizer& symbolizer);

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_SYMBOLIZE_REPORT_H_
