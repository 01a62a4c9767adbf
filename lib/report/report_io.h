// report_io.h: loads a report file into JSON with validation, and writes one atomically.
// Report side: runs in the heapwarden tool or a helper process, never inside malloc.
#ifndef HEAPWARDEN_LIB_REPORT_REPORT_IO_H_
#define HEAPWARDEN_LIB_REPORT_REPORT_IO_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace heapwarden::report {

// The report format this code reads and writes.
inline constexpr absl::string_view kReportFormat = "heapwarden-report";
inline constexpr int kReportVersion = 1;

// LoadReport()
//
// Reads `path`, parses it and checks it with ValidateReport(). Never throws. On failure
// the status message is one line starting with the path, ready to be printed after
// "heapwarden: ", e.g.
//   "r.json: not a heapwarden report (\"format\" is missing)"
//   "r.json: truncated JSON (input ends at byte 4096 before the document does)"
//   "r.json: cannot open: No such file or directory"
// Only regular files are read (opened non-blocking), so a FIFO cannot hang the caller.
absl::StatusOr<nlohmann::json> LoadReport(const std::string& path);

// ParseReport()
//
// As LoadReport() for text already in memory; `name` leads the error messages.
absl::StatusOr<nlohmann::json> ParseReport(absl::string_view text, const std::string& name);

// ValidateReport()
//
// Checks what every reader relies on: an object with "format": "heapwarden-report",
// "version": 1, objects "process" and "totals", and "stacks" whose frames hold a hex
// "address", a "module" string and an integer "offset"; other sections, when present,
// have the right JSON type. The message (without a path) says what is wrong, e.g.
// "not a heapwarden report (stacks[2].frames[0].offset is not an integer)".
absl::Status ValidateReport(const nlohmann::json& report);

// WriteReportAtomically()
//
// Writes `report` (indented JSON, invalid UTF-8 replaced rather than thrown on) to
// `path` so that no reader ever sees half of it: the text goes to "PATH.tmp.<pid>",
// created with O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600, which is then renamed over
// `path`. A symbolic link at `path` is replaced, never followed. On failure the
// temporary file is removed and the message is one line starting with the path.
absl::Status WriteReportAtomically(const std::string& path, const nlohmann::json& report);

// WriteFileAtomically()
//
// The same for arbitrary text.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view content);

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_REPORT_IO_H_
