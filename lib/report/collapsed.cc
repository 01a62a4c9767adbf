// collapsed.cc: see collapsed.h. Report side.
#include "report/collapsed.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "report/report_fields.h"
#include "report/report_index.h"

namespace heapwarden::report {
namespace {

using nlohmann::json;

// (stack id, bytes) of every entry that weighs something in `measure`.
std::vector<std::pair<int64_t, int64_t>> Weights(const json& report, const std::string& measure) {
  std::vector<std::pair<int64_t, int64_t>> out;
  if (measure == "peak") {
    for (const json& site : ArrayField(ObjectField(report, "peak"), "sites")) {
      out.emplace_back(IntField(site, "stack", -1), IntField(site, "live_bytes"));
    }
  } else if (measure == "live" || measure == "allocated") {
    const char* key = measure == "live" ? "live_bytes" : "bytes_allocated";
    for (const json& site : ArrayField(report, "sites")) {
      out.emplace_back(IntField(site, "stack", -1), IntField(site, key));
    }
  } else if (measure == "leaked") {
    for (const json& leak : ArrayField(report, "leaks")) {
      if (BoolField(leak, "suppressed") || StringField(leak, "kind") == "reachable") continue;
      out.emplace_back(IntField(leak, "stack", -1), IntField(leak, "bytes"));
    }
  }
  return out;
}

}  // namespace

bool IsCollapsedMeasure(const std::string& measure) {
  return measure == "peak" || measure == "live" || measure == "allocated" || measure == "leaked";
}

absl::Status RenderCollapsed(const json& report, const RenderOptions& options, std::ostream& out) {
  if (!IsCollapsedMeasure(options.measure)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--measure: expected one of peak|live|allocated|leaked, got '", options.measure, "'"));
  }
  const ReportIndex index(report);
  std::map<std::string, int64_t> lines;
  for (const auto& [stack, bytes] : Weights(report, options.measure)) {
    if (bytes <= 0) continue;
    std::vector<const json*> frames = index.StackFrames(stack);
    std::string line;
    for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
      if (!line.empty()) line.push_back(';');
      line += absl::StrReplaceAll(FrameLabel(index, **it), {{";", ":"}, {"\n", " "}});
    }
    if (line.empty()) line = "(no frames)";
    lines[line] += bytes;
  }
  for (const auto& [line, bytes] : lines) out << line << " " << bytes << "\n";
  return absl::OkStatus();
}

}  // namespace heapwarden::report
