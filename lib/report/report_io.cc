// report_io.cc: loads a report file into JSON with validation, and writes one atomically.
// Report side.
#include "report/report_io.h"
#include "report/report_fields.h"

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

namespace heapwarden::report {
namespace {

using nlohmann::json;

absl::Status NotAReport(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("not a heapwarden report (", why, ")"));
}

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

bool IsHexAddress(const std::string& s) {
  if (s.size() < 3 || s.size() > 18 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) {
    return false;
  }
  for (size_t i = 2; i < s.size(); ++i) {
    if (!std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

absl::Status ValidateFrame(const json& frame, const std::string& where) {
  if (!frame.is_object()) return NotAReport(absl::StrCat(where, " is not an object"));
  if (IsPythonFrame(frame)) {  // named at record time: function, file, line; no address
    for (const char* field : {"function", "file"}) {
      auto it = frame.find(field);
      if (it == frame.end() || !it->is_string()) {
        return NotAReport(absl::StrCat(where, ".", field, " is not a string"));
      }
    }
    auto line = frame.find("line");
    if (line == frame.end() || !line->is_number_integer()) {
      return NotAReport(absl::StrCat(where, ".line is not an integer"));
    }
    return absl::OkStatus();
  }
  auto address = frame.find("address");
  if (address == frame.end() || !address->is_string() ||
      !IsHexAddress(address->get<std::string>())) {
    return NotAReport(absl::StrCat(where, ".address is not a hex string"));
  }
  auto module = frame.find("module");
  if (module == frame.end() || !module->is_string()) {
    return NotAReport(absl::StrCat(where, ".module is not a string"));
  }
  auto offset = frame.find("offset");
  if (offset == frame.end() || !offset->is_number_integer() ||
      (!offset->is_number_unsigned() && offset->get<int64_t>() < 0)) {
    return NotAReport(absl::StrCat(where, ".offset is not a non-negative integer"));
  }
  return absl::OkStatus();
}

absl::Status ValidateStacks(const json& stacks) {
  for (size_t i = 0; i < stacks.size(); ++i) {
    const json& stack = stacks[i];
    std::string where = absl::StrCat("stacks[", i, "]");
    if (!stack.is_object()) return NotAReport(absl::StrCat(where, " is not an object"));
    auto id = stack.find("id");
    if (id == stack.end() || !id->is_number_integer()) {
      return NotAReport(absl::StrCat(where, ".id is not an integer"));
    }
    auto frames = stack.find("frames");
    if (frames == stack.end() || !frames->is_array()) {
      return NotAReport(absl::StrCat(where, ".frames is not an array"));
    }
    for (size_t j = 0; j < frames->size(); ++j) {
      absl::Status status = ValidateFrame((*frames)[j], absl::StrCat(where, ".frames[", j, "]"));
      if (!status.ok()) return status;
    }
  }
  return absl::OkStatus();
}

// Reads a whole regular file. O_NONBLOCK keeps open() of a FIFO from waiting for a
// writer; the S_ISREG check then refuses it (and devices, and directories).
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

}  // namespace

absl::Status ValidateReport(const json& report) {
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
  if (version->get<int64_t>() != kReportVersion) {
    return absl::InvalidArgumentError(
        absl::StrFormat("unsupported report version %d (this heapwarden reads version %d)",
                        version->get<int64_t>(), kReportVersion));
  }
  for (const char* key : {"process", "totals"}) {
    auto it = report.find(key);
    if (it == report.end() || !it->is_object()) {
      return NotAReport(absl::StrCat("\"", key, "\" is missing or not an object"));
    }
  }
  auto stacks = report.find("stacks");
  if (stacks == report.end() || !stacks->is_array()) {
    return NotAReport("\"stacks\" is missing or not an array");
  }
  for (const char* key : {"sites", "tags", "leaks", "long_lived", "timeline", "trims", "errors"}) {
    auto it = report.find(key);
    if (it != report.end() && !it->is_array()) {
      return NotAReport(absl::StrCat("\"", key, "\" is not an array"));
    }
  }
  for (const char* key : {"peak", "heapwarden"}) {
    auto it = report.find(key);
    if (it != report.end() && !it->is_object()) {
      return NotAReport(absl::StrCat("\"", key, "\" is not an object"));
    }
  }
  return ValidateStacks(*stacks);
}

absl::StatusOr<json> ParseReport(absl::string_view text, const std::string& name) {
  if (text.find_first_not_of(" \t\r\n") == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": empty file, not a heapwarden report"));
  }
  json report;
  try {
    report = json::parse(text.begin(), text.end());
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
  absl::Status status = ValidateReport(report);
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat(name, ": ", status.message()));
  }
  return report;
}

absl::StatusOr<json> LoadReport(const std::string& path) {
  absl::StatusOr<std::string> text = ReadRegularFile(path);
  if (!text.ok()) return text.status();
  return ParseReport(*text, path);
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view content) {
  std::string temp = absl::StrCat(path, ".tmp.", getpid());
  // O_EXCL|O_NOFOLLOW: never write through a link or into a file someone planted at
  // the temporary name; 0600 because a heap report shows the program's arguments.
  ScopedFd fd(open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat(path, ": cannot create ", temp, ": ", std::strerror(errno)));
  }
  auto fail = [&](const char* what) {
    std::string message = absl::StrCat(path, ": ", what, ": ", std::strerror(errno));
    unlink(temp.c_str());
    return absl::InternalError(message);
  };
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("write failed");
    done += static_cast<size_t>(n);
  }
  // No fsync: the rename already guarantees readers see the old or the new file, and
  // syncing could stall the exit of the program being tracked on a slow disk.
  if (fd.Close() != 0) return fail("write failed");
  if (rename(temp.c_str(), path.c_str()) != 0) {
    return fail("cannot rename the new report into place");
  }
  return absl::OkStatus();
}

absl::Status WriteReportAtomically(const std::string& path, const json& report) {
  std::string text = report.dump(2, ' ', false, json::error_handler_t::replace);
  text.push_back('\n');
  return WriteFileAtomically(path, text);
}

}  // namespace heapwarden::report
