// to_v2_for_now.h: TEMPORARY -- turns today's version-1 report (every stack repeating
// its frames inline) into the version-2 model of SPEC.md (modules, frames, stacks of
// frame ids), so the HTML and pprof renderers can be written against version 2 before
// the report loader produces it. Delete at merge, once LoadReport() hands out version 2.
// Report side.
#ifndef HEAPWARDEN_LIB_REPORT_TO_V2_FOR_NOW_H_
#define HEAPWARDEN_LIB_REPORT_TO_V2_FOR_NOW_H_

#include "nlohmann/json.hpp"

namespace heapwarden::report {

// ToV2ForNow()
//
// A version-2 report is returned unchanged. From version 1: every distinct frame
// (same module, address, function, file, line, inlined) becomes one row of "frames"
// with a numeric "module" id into "modules"; stacks keep their ids and list frame ids.
// Every other section is copied as it is. Never throws on odd input (skips it).
nlohmann::json ToV2ForNow(const nlohmann::json& report);

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_TO_V2_FOR_NOW_H_
