// report_io.cc: loads a report file into JSON with validation, and writes one atomically.
// Report side.
#include "report/report_io.h"

#include "common/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "report/json_depth.h"
#include "report/report_sax.h"

namespace heapwarden::report {
namespace {

using nlohmann::json;

// Closes a descriptor on every return path.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }
  // Closes now and reports close()'s error, which for a write may be the first sign of a
  // full disk (NFS reports it only there).
  int Close() {
    int rc = close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

// Line and column (1-based) of byte offset `byte` (1-based, as nlohmann reports it).
std::pair<size_t, size_t> LineAndColumn(absl::string_view text, size_t byte) {
  size_t line = 1;
  size_t column = 1;
  size_t end = std::min(text.size(), byte == 0 ? 0 : byte - 1);
  for (size_t i = 0; i < end; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

// What a reader checks before anything else, so that a report of another version says
// so rather than failing on the first field that moved.
absl::Status CheckFormatAndVersion(const json& report) {
  if (!report.is_object()) return NotAReport("the document is not a JSON object");
  auto format = report.find("format");
  if (format == report.end()) return NotAReport("\"format\" is missing");
  if (!format->is_string() || format->get<std::string>() != kReportFormat) {
    return NotAReport(absl::StrCat("\"format\" is ",
                                   format->dump(-1, ' ', false, json::error_handler_t::replace),
                                   ", not \"", kReportFormat, "\""));
  }
  auto version = report.find("version");
  if (version == report.end() || !version->is_number_integer()) {
    return NotAReport("\"version\" is missing or not an integer");
  }
  if (version->get<int64_t>() < kOldestReadableReportVersion ||
      version->get<int64_t>() > kReportVersion) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "unsupported report version %s (this heapwarden reads versions %d to %d)",
        version->dump(), kOldestReadableReportVersion, kReportVersion));
  }
  return absl::OkStatus();
}

}  // namespace

// O_NONBLOCK keeps open() of a FIFO from waiting for a writer; the S_ISREG check then
// refuses it (and devices, and directories).
absl::StatusOr<std::string> ReadRegularFile(const std::string& path) {
  ScopedFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (fd.get() < 0) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  struct stat st;
  if (fstat(fd.get(), &st) != 0) {
    return absl::InternalError(absl::StrCat(path, ": cannot stat: ", std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file"));
  }
  std::string text;
  text.reserve(static_cast<size_t>(st.st_size));
  char buffer[1 << 16];
  for (;;) {
    ssize_t n = read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::InternalError(absl::StrCat(path, ": read failed: ", std::strerror(errno)));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  return text;
}

absl::StatusOr<json> ParseReport(absl::string_view text, const std::string& name,
                                 int* file_version) {
  if (text.find_first_not_of(" \t\r\n") == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": empty file, not a heapwarden report"));
  }
  if (absl::Status deep = CheckJsonDepth(text); !deep.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", deep.message()));
  }
  json report;
  try {
    absl::Status upgraded = ParseAndUpgrade(text, &report, file_version);
    if (!upgraded.ok()) {
      return absl::Status(upgraded.code(), absl::StrCat(name, ": ", upgraded.message()));
    }
  } catch (const json::parse_error& e) {
    // nlohmann reports the byte (1-based) where parsing stopped; one past the end means
    // the text stopped before the document did: a report cut short by a crash or a
    // full disk, which deserves a different hint than garbage in the middle.
    if (e.byte > text.size()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: truncated JSON (input ends at byte %d before the document does)",
                          name, text.size()));
    }
    auto [line, column] = LineAndColumn(text, e.byte);
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: corrupt JSON at line %d, column %d", name, line, column));
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": corrupt JSON"));
  }
  absl::Status status = CheckFormatAndVersion(report);
  if (status.ok()) status = ValidateReport(report);
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat(name, ": ", status.message()));
  }
  return report;
}

absl::StatusOr<json> LoadReport(const std::string& path, int* file_version) {
  absl::StatusOr<std::string> text = ReadRegularFile(path);
  if (!text.ok()) return text.status();
  return ParseReport(*text, path, file_version);
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view content) {
  // The one writer both sides use (common/atomic_file.h): O_EXCL|O_NOFOLLOW, mode 0600
  // (a heap report shows the program's arguments), then rename. No fsync: the rename
  // already guarantees readers see the old or the new file.
  const int err = heapwarden::WriteFileAtomically(path.c_str(), content.data(), content.size());
  if (err == 0) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat(path, ": cannot write the file: ", std::strerror(err)));
}

std::string ReportJson(const json& report, bool pretty) {
  std::string text = report.dump(pretty ? 2 : -1, ' ', false, json::error_handler_t::replace);
  text.push_back('\n');
  return text;
}

absl::Status WriteReportAtomically(const std::string& path, const json& report) {
  return WriteFileAtomically(path, ReportJson(report));
}

}  // namespace heapwarden::report
