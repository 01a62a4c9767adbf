// suppressions.cc: see suppressions.h. Report side.
#include "report/suppressions.h"

#include <fstream>
#include <sstream>
#include <unordered_map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "report/report_fields.h"
#include "report/report_io.h"

namespace heapwarden::report {
namespace {

using nlohmann::json;

// Memory the C and C++ run-time libraries keep for the life of the process on
// purpose, in the cases where the exit-time scan cannot see that it is still
// referenced. Most such memory needs no rule: it is reachable from a global or TLS
// (stdio buffers, locale data, dlerror state, libstdc++'s emergency exception pool)
// and is reported as "reachable", never as a leak. Each rule here names the reason.
struct BuiltInRule {
  const char* pattern;
  const char* reason;
};
constexpr BuiltInRule kBuiltInRules[] = {
    // A thread's DTV (its table of TLS blocks), allocated by pthread_create. When the
    // thread ends, glibc keeps its stack in a cache for the next thread (up to 40 MiB)
    // and the DTV with it; the only pointer to it is in the cached stack's TCB, which
    // is no root because the rest of a dead stack is stale. Freed when glibc reuses or
    // releases the stack; never the program's to free.
    {"_dl_allocate_tls", "the DTV of a thread whose stack glibc keeps cached"},
    // Dynamic TLS blocks (of dlopen()ed modules with __thread variables), reached only
    // through such a cached DTV; LeakSanitizer ships the same rule (glibc bug 12650).
    {"__tls_get_addr", "dynamic TLS blocks of threads that have ended"},
};

// LeakSanitizer's "*"-only glob with the anchors already handled by the caller:
// `pattern` must match `text` in full.
bool GlobMatch(absl::string_view pattern, absl::string_view text) {
  size_t p = 0, t = 0;
  size_t star = absl::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace

bool TemplateMatch(absl::string_view pattern, absl::string_view text) {
  if (pattern.empty()) return false;
  std::string glob;
  if (!absl::ConsumePrefix(&pattern, "^")) glob += '*';
  bool anchored_end = absl::ConsumeSuffix(&pattern, "$");
  glob.append(pattern.data(), pattern.size());
  if (!anchored_end) glob += '*';
  return GlobMatch(glob, text);
}

void SuppressionList::AddBuiltIn() {
  for (const BuiltInRule& rule : kBuiltInRules) rules_.push_back({rule.pattern, "built-in"});
}

absl::Status SuppressionList::AddText(absl::string_view text, absl::string_view origin) {
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(origin, ":", line_number, ": expected 'leak:PATTERN', got '", line, "'"));
    }
    absl::string_view kind = absl::StripAsciiWhitespace(line.substr(0, colon));
    absl::string_view pattern = absl::StripAsciiWhitespace(line.substr(colon + 1));
    if (kind != "leak") {
      return absl::InvalidArgumentError(
          absl::StrCat(origin, ":", line_number, ": unsupported suppression type '", kind,
                       "' (heapwarden reads only 'leak:PATTERN' lines)"));
    }
    if (pattern.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(origin, ":", line_number, ": empty pattern after 'leak:'"));
    }
    rules_.push_back({std::string(pattern), absl::StrCat(origin, ":", line_number)});
  }
  return absl::OkStatus();
}

absl::Status SuppressionList::AddFile(const std::string& path) {
  // Only a regular file: a FIFO would block the CI gate, a directory reads as nothing.
  absl::StatusOr<std::string> text = ReadRegularFile(path);
  if (!text.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(text.status().message(), " (the suppressions file)"));
  }
  return AddText(*text, path);
}

int SuppressionList::Match(const ReportIndex& index, int64_t stack) const {
  const std::vector<const json*> frames = index.StackFrames(stack);
  for (size_t r = 0; r < rules_.size(); ++r) {
    const std::string& pattern = rules_[r].pattern;
    for (const json* frame : frames) {
      for (const char* field : {"function", "file"}) {
        auto it = frame->find(field);
        if (it != frame->end() && it->is_string() &&
            TemplateMatch(pattern, it->get_ref<const std::string&>())) {
          return static_cast<int>(r);
        }
      }
      const std::string& module = index.ModulePath(*frame);
      if (!module.empty() && TemplateMatch(pattern, module)) return static_cast<int>(r);
    }
  }
  return -1;
}

void ApplySuppressions(json& report, SuppressionList& list) {
  for (Suppression& rule : list.rules()) rule.hit_blocks = rule.hit_bytes = 0;
  // The index points into "stacks", "frames" and "modules", which this loop leaves
  // alone: it only edits "leaks".
  const ReportIndex index(report);
  auto leaks = report.find("leaks");
  if (leaks != report.end() && leaks->is_array()) {
    for (json& leak : *leaks) {
      if (!leak.is_object()) continue;
      leak.erase("suppression");
      leak["suppressed"] = false;
      std::string kind = StringField(leak, "kind");
      if (kind == "reachable") continue;
      int rule = list.Match(index, IntField(leak, "stack", -1));
      if (rule < 0) continue;
      Suppression& s = list.rules()[static_cast<size_t>(rule)];
      leak["suppressed"] = true;
      leak["suppression"] = s.pattern;
      s.hit_blocks += IntField(leak, "blocks");
      s.hit_bytes += IntField(leak, "bytes");
    }
  }
  json used = json::array();
  for (const Suppression& rule : list.rules()) {
    if (rule.hit_blocks == 0 && rule.hit_bytes == 0) continue;
    used.push_back({{"pattern", rule.pattern},
                    {"origin", rule.origin},
                    {"blocks", rule.hit_blocks},
                    {"bytes", rule.hit_bytes}});
  }
  json& meta = report["heapwarden"];
  if (!meta.is_object()) meta = json::object();
  meta["suppressions_used"] = std::move(used);
}

absl::Status ApplyRunSuppressions(json& report, const std::string& file, SuppressionList* used) {
  SuppressionList list;
  list.AddBuiltIn();
  if (!file.empty()) {
    absl::Status status = list.AddFile(file);
    if (!status.ok()) return status;
  }
  ApplySuppressions(report, list);
  if (used != nullptr) *used = std::move(list);
  return absl::OkStatus();
}

}  // namespace heapwarden::report
