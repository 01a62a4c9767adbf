// html_report.h: renders a version-2 report as one self-contained HTML page: flame
// graphs (peak, live at the end, allocated, leaked) with zoom and search, a timeline of
// live heap and RSS, sortable tables of sites, tags, leaks and long-lived blocks, and a
// header with the process, the totals and the verdict. Report side.
#ifndef HEAPWARDEN_LIB_REPORT_HTML_REPORT_H_
#define HEAPWARDEN_LIB_REPORT_HTML_REPORT_H_

#include <string>

#include "nlohmann/json.hpp"

namespace heapwarden::report {

// RenderHtml()
//
// The page as one string. It loads nothing: its style, script (lib/report/html/, built
// in) and data (HtmlPageData() as JSON) are inline, and its Content-Security-Policy
// forbids any fetch, so it works offline and leaks nothing to the network. The page
// draws itself when opened; function names are page text, so the browser's find sees
// them. A script error is shown on the page (#hw-error) and flagged as data-hw-error on
// <html>; success sets data-hw-ready (ms the script took), data-hw-loaded (ms since the
// navigation began, layout included) and data-hw-times (ms per step).
std::string RenderHtml(const nlohmann::json& v2);

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_HTML_REPORT_H_
