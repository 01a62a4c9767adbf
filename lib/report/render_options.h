// render_options.h: what `heapwarden report` passes to every renderer (text, json,
// collapsed, html, pprof) besides the report itself.
// Report side.
#ifndef HEAPWARDEN_LIB_REPORT_RENDER_OPTIONS_H_
#define HEAPWARDEN_LIB_REPORT_RENDER_OPTIONS_H_

#include <string>

namespace heapwarden::report {

struct RenderOptions {
  // --top N: rows (or stacks) per section; the rest are summed in one line.
  int top = 10;
  // --by: the roll-up of the text report's peak and live sections: "site",
  // "function", "file" or "tag"; "" shows sites and functions.
  std::string by;
  // --measure: what a collapsed stack weighs: "peak", "live", "allocated", "leaked".
  std::string measure = "peak";
  // The output is a terminal (a renderer may indent JSON for a person).
  bool to_terminal = false;
};

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_RENDER_OPTIONS_H_
