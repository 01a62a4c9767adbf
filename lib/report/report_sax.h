// report_sax.h: parses a report's text into JSON, turning version-1 stacks into
// version-2 tables on the way (report_upgrade.h): each inline frame is interned as it
// is read instead of becoming a JSON object, which keeps loading a large raw report
// (tens of MB from a Python run) well under a second.
// Report side.
#ifndef HEAPWARDEN_LIB_REPORT_REPORT_SAX_H_
#define HEAPWARDEN_LIB_REPORT_REPORT_SAX_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace heapwarden::report {

// ParseAndUpgrade()
//
// Parses `text` into *out. Objects inside "stacks"[i]."frames" are version-1 frames:
// they are interned, the stack keeps their ids, and when the document says "version": 1
// the tables are added and the version set to 2. A malformed frame, or an inline frame
// in a document of another version, gives InvalidArgument ("not a heapwarden report
// (...)"). Throws nlohmann::json::parse_error on a syntax error, as json::parse() does.
// The caller bounds the nesting depth first (json_depth.h).
// *file_version (when given) receives the version the text declared.
absl::Status ParseAndUpgrade(absl::string_view text, nlohmann::json* out,
                             int* file_version = nullptr);

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_REPORT_SAX_H_
