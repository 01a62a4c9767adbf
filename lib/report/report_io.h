// report_io.h: loads a report file into JSON with validation, and writes one atomically.
// Report side: runs in the heapwarden tool or a helper process, never inside malloc.
#ifndef HEAPWARDEN_LIB_REPORT_REPORT_IO_H_
#define HEAPWARDEN_LIB_REPORT_REPORT_IO_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "common/report_format.h"
#include "report/report_schema.h"

namespace heapwarden::report {

// LoadReport()
//
// Reads `path`, parses it and hands back version 2, whatever version the file holds:
// a version-1 report (the record side's raw one, or an old symbolized one) is upgraded
// (report_upgrade.h); then ValidateReport() (report_schema.h) checks every field, so
// consumers can trust types and references. Never throws. On failure the status
// message is one line starting with the path, ready to be printed after "heapwarden: ":
//   "r.json: not a heapwarden report (\"format\" is missing)"
//   "r.json: truncated JSON (input ends at byte 4096 before the document does)"
//   "r.json: unsupported report version 3 (this heapwarden reads versions 1 to 2)"
//   "r.json: cannot open: No such file or directory"
// Only regular files are read (opened non-blocking), so a FIFO cannot hang the caller;
// JSON nested deeper than a report is refused before parsing (json_depth.h).
// `file_version`, when given, receives the version the file holds.
absl::StatusOr<nlohmann::json> LoadReport(const std::string& path, int* file_version = nullptr);

// ParseReport()
//
// As LoadReport() for text already in memory; `name` leads the error messages.
absl::StatusOr<nlohmann::json> ParseReport(absl::string_view text, const std::string& name,
                                           int* file_version = nullptr);

// ReadRegularFile()
//
// The whole content of `path`, which must be a regular file: a FIFO, device or
// directory is refused without blocking. Messages start with the path.
absl::StatusOr<std::string> ReadRegularFile(const std::string& path);

// ReportJson()
//
// The text of `report`: compact (what files hold: a report is read by programs, and
// indentation made version 1 several times larger) or, with `pretty`, indented by two
// for a person. Invalid UTF-8 is replaced rather than thrown on. Ends with a newline.
std::string ReportJson(const nlohmann::json& report, bool pretty = false);

// WriteReportAtomically()
//
// Writes `report` (compact JSON, ReportJson()) to
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
