// html_page_data.h: boils a version-2 report down to the compact, column-wise data the
// HTML page's script draws from (flame graphs, timeline, tables).
// Report side.
#ifndef HEAPWARDEN_LIB_REPORT_HTML_PAGE_DATA_H_
#define HEAPWARDEN_LIB_REPORT_HTML_PAGE_DATA_H_

#include "nlohmann/json.hpp"

namespace heapwarden::report {

// HtmlPageData()
//
// Stacks become one call tree ("np": parent node, "nn": name index, node 0 the root;
// a parent's index is always below its children's), merged by frame label outermost
// first, so the page sums a flame graph in one pass over the nodes. Sites, the peak,
// leaks and long-lived blocks become columns ("node", "tag", measures...) pointing into
// that tree; names, tags and source locations are each written once. Column arrays
// keep the embedded JSON small enough for a 100k-site report to load in seconds.
nlohmann::json HtmlPageData(const nlohmann::json& v2);

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_HTML_PAGE_DATA_H_
