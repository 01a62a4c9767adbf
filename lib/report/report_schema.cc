// report_schema.cc: see report_schema.h. Report side.
#include "report/report_schema.h"

#include <cctype>
#include <cstdint>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/report_format.h"

namespace heapwarden::report {
namespace {

using nlohmann::json;

enum class Kind {
  kCount,          // non-negative integer: sizes, blocks, ids
  kInteger,        // any integer: pid, exit status
  kSeconds,        // non-negative number
  kSecondsOrNull,  // as kSeconds, or null ("no block ended yet")
  kString,
  kBool,
  kStack,  // a non-negative integer naming a stack that exists
  kStackOrAbsentRef,  // a non-negative integer; the stack may be missing (memory errors)
  kStringArray,
};

struct Field {
  const char* name;
  Kind kind;
  bool required = false;
};

// What each section holds; the spec's fields plus the ones the record side adds.
constexpr Field kProcessFields[] = {
    {"pid", Kind::kInteger},  {"argv", Kind::kStringArray}, {"exe", Kind::kString},
    {"exit_status", Kind::kInteger}, {"signal", Kind::kInteger}, {"signal_name", Kind::kString},
    {"backend", Kind::kString}, {"mode", Kind::kString}, {"sample_bytes", Kind::kCount},
    {"complete", Kind::kBool},
};
constexpr Field kSiteFields[] = {
    {"stack", Kind::kStack, true}, {"tag", Kind::kString},     {"source", Kind::kString},
    {"allocations", Kind::kCount}, {"bytes_allocated", Kind::kCount},
    {"live_blocks", Kind::kCount}, {"live_bytes", Kind::kCount},
    {"peak_live_bytes", Kind::kCount}, {"median_lifetime_s", Kind::kSecondsOrNull},
};
constexpr Field kTagFields[] = {
    {"tag", Kind::kString},         {"allocations", Kind::kCount},
    {"bytes_allocated", Kind::kCount}, {"live_blocks", Kind::kCount},
    {"live_bytes", Kind::kCount},   {"peak_live_bytes", Kind::kCount},
};
constexpr Field kLeakFields[] = {
    {"stack", Kind::kStack, true}, {"tag", Kind::kString}, {"kind", Kind::kString},
    {"blocks", Kind::kCount},      {"bytes", Kind::kCount}, {"suppressed", Kind::kBool},
    {"suppression", Kind::kString},
};
constexpr Field kLongLivedFields[] = {
    {"stack", Kind::kStack, true}, {"tag", Kind::kString}, {"blocks", Kind::kCount},
    {"bytes", Kind::kCount},       {"oldest_age_s", Kind::kSeconds},
};
constexpr Field kPeakFields[] = {
    {"time", Kind::kSeconds},          {"live_bytes", Kind::kCount},
    {"captured_time", Kind::kSeconds}, {"captured_live_bytes", Kind::kCount},
};
constexpr Field kPeakSiteFields[] = {
    {"stack", Kind::kStack, true}, {"tag", Kind::kString},
    {"live_blocks", Kind::kCount}, {"live_bytes", Kind::kCount},
};
constexpr Field kTimelineFields[] = {
    {"t", Kind::kSeconds}, {"live_bytes", Kind::kCount}, {"rss_bytes", Kind::kCount},
};
constexpr Field kTimelineTagFields[] = {
    {"tag", Kind::kString}, {"live_bytes", Kind::kCount},
};
constexpr Field kTrimFields[] = {
    {"t", Kind::kSeconds},         {"trigger", Kind::kString},
    {"rss_before", Kind::kCount},  {"rss_after", Kind::kCount},
    {"released_bytes", Kind::kCount},
};
constexpr Field kErrorFields[] = {
    {"kind", Kind::kString},
    {"address", Kind::kString},
    {"stack", Kind::kStackOrAbsentRef},
    {"first_free_stack", Kind::kStackOrAbsentRef},
    {"allocation_stack", Kind::kStackOrAbsentRef},
    {"allocated_by", Kind::kString},
    {"freed_by", Kind::kString},
    {"count", Kind::kCount},
};
constexpr Field kMetaFields[] = {
    {"symbolized", Kind::kBool},      {"options", Kind::kString},
    {"dropped_events", Kind::kCount}, {"untracked_frees", Kind::kCount},
    {"program_allocator", Kind::kString}, {"foreign_frees", Kind::kCount},
    {"deepbind_loads", Kind::kCount}, {"deepbind_rebound_slots", Kind::kCount},
    {"report_time", Kind::kSeconds},
};
constexpr Field kSuppressionUsedFields[] = {
    {"pattern", Kind::kString}, {"origin", Kind::kString},
    {"blocks", Kind::kCount},   {"bytes", Kind::kCount},
};
constexpr Field kModuleFields[] = {
    {"id", Kind::kCount, true}, {"path", Kind::kString, true}, {"build_id", Kind::kString},
};
constexpr Field kFrameFields[] = {
    {"id", Kind::kCount, true}, {"kind", Kind::kString}, {"module", Kind::kCount},
    {"address", Kind::kString}, {"offset", Kind::kCount}, {"function", Kind::kString},
    {"file", Kind::kString},    {"line", Kind::kCount},  {"inlined", Kind::kBool},
};

// The value as the message shows it: short, and never throwing on bad UTF-8.
std::string Shown(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 40) text = absl::StrCat(text.substr(0, 37), "...");
  return text;
}

bool IsCount(const json& v) {
  return v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
}

bool IsSeconds(const json& v) {
  return v.is_number() && !(v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() < 0) &&
         !(v.is_number_float() && !(v.get<double>() >= 0));
}

class Checker {
 public:
  explicit Checker(const json& report) : report_(report) {}

  absl::Status Run();

 private:
  absl::Status Wrong(const std::string& where, const json& value, const char* expected) {
    return NotAReport(absl::StrCat(where, " is ", Shown(value), ", not ", expected));
  }

  // `where` names the object in a message; it is worked out only for a message, not
  // for each of the 22,000 sites of a report that is fine.
  template <size_t N>
  absl::Status Fields(const json& object, absl::FunctionRef<std::string()> where,
                      const Field (&fields)[N]);
  template <size_t N>
  absl::Status Fields(const json& object, const std::string& where, const Field (&fields)[N]) {
    return Fields(object, [&] { return where; }, fields);
  }
  template <size_t N>
  absl::Status Array(const json& parent, const char* key, const std::string& where,
                     const Field (&fields)[N], bool required = false);
  absl::Status Object(const char* key, bool required);
  absl::Status Tables();

  const json& report_;
  absl::flat_hash_set<uint64_t> stack_ids_;
};

template <size_t N>
absl::Status Checker::Fields(const json& object, absl::FunctionRef<std::string()> where,
                             const Field (&fields)[N]) {
  if (!object.is_object()) return Wrong(where(), object, "an object");
  for (const Field& field : fields) {
    auto it = object.find(field.name);
    auto at = [&] { return absl::StrCat(where(), ".", field.name); };
    if (it == object.end()) {
      if (field.required) return NotAReport(absl::StrCat(at(), " is missing"));
      continue;
    }
    const json& v = *it;
    switch (field.kind) {
      case Kind::kCount:
        if (!IsCount(v)) return Wrong(at(), v, "a non-negative integer");
        break;
      case Kind::kInteger:
        if (!v.is_number_integer()) return Wrong(at(), v, "an integer");
        break;
      case Kind::kSeconds:
        if (!IsSeconds(v)) return Wrong(at(), v, "a non-negative number");
        break;
      case Kind::kSecondsOrNull:
        if (!v.is_null() && !IsSeconds(v)) return Wrong(at(), v, "a non-negative number or null");
        break;
      case Kind::kString:
        if (!v.is_string()) return Wrong(at(), v, "a string");
        break;
      case Kind::kBool:
        if (!v.is_boolean()) return Wrong(at(), v, "true or false");
        break;
      case Kind::kStack:
        if (!IsCount(v)) return Wrong(at(), v, "a stack id");
        if (!stack_ids_.contains(v.get<uint64_t>())) {
          return NotAReport(absl::StrCat(at(), " names stack ", Shown(v), ", which is not in \"stacks\""));
        }
        break;
      case Kind::kStackOrAbsentRef:
        if (!IsCount(v)) return Wrong(at(), v, "a stack id");
        break;
      case Kind::kStringArray:
        if (!v.is_array()) return Wrong(at(), v, "an array");
        for (size_t i = 0; i < v.size(); ++i) {
          if (!v[i].is_string()) return Wrong(absl::StrCat(at(), "[", i, "]"), v[i], "a string");
        }
        break;
    }
  }
  return absl::OkStatus();
}

template <size_t N>
absl::Status Checker::Array(const json& parent, const char* key, const std::string& where,
                            const Field (&fields)[N], bool required) {
  auto it = parent.find(key);
  if (it == parent.end()) {
    return required ? NotAReport(absl::StrCat(where, " is missing")) : absl::OkStatus();
  }
  if (!it->is_array()) return Wrong(where, *it, "an array");
  for (size_t i = 0; i < it->size(); ++i) {
    absl::Status status = Fields((*it)[i], [&] { return absl::StrCat(where, "[", i, "]"); }, fields);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status Checker::Tables() {
  absl::Status status = Array(report_, "modules", "modules", kModuleFields, true);
  if (!status.ok()) return status;
  absl::flat_hash_set<uint64_t> modules;
  for (const json& module : report_["modules"]) {
    if (!modules.insert(module["id"].get<uint64_t>()).second) {
      return NotAReport(absl::StrCat("module id ", Shown(module["id"]), " appears twice"));
    }
  }
  status = Array(report_, "frames", "frames", kFrameFields, true);
  if (!status.ok()) return status;
  absl::flat_hash_set<uint64_t> frames;
  const json& frame_table = report_["frames"];
  for (size_t i = 0; i < frame_table.size(); ++i) {
    const json& frame = frame_table[i];
    if (!frames.insert(frame["id"].get<uint64_t>()).second) {
      return NotAReport(absl::StrCat("frame id ", Shown(frame["id"]), " appears twice"));
    }
    auto kind = frame.find("kind");
    if (kind != frame.end() && *kind != "native" && *kind != "python") {
      return Wrong(absl::StrCat("frames[", i, "].kind"), *kind, "\"native\" or \"python\"");
    }
    auto module = frame.find("module");
    if (module != frame.end() && !modules.contains(module->get<uint64_t>())) {
      return NotAReport(absl::StrCat("frames[", i, "].module names module ", Shown(*module),
                                     ", which is not in \"modules\""));
    }
  }
  auto stacks = report_.find("stacks");
  if (stacks == report_.end()) return NotAReport("\"stacks\" is missing");
  if (!stacks->is_array()) return Wrong("stacks", *stacks, "an array");
  for (size_t i = 0; i < stacks->size(); ++i) {
    const json& stack = (*stacks)[i];
    auto where = [i] { return absl::StrCat("stacks[", i, "]"); };
    if (!stack.is_object()) return Wrong(where(), stack, "an object");
    auto id = stack.find("id");
    if (id == stack.end() || !IsCount(*id)) {
      return NotAReport(absl::StrCat(where(), ".id is missing or not a non-negative integer"));
    }
    if (!stack_ids_.insert(id->get<uint64_t>()).second) {
      return NotAReport(absl::StrCat("stack id ", Shown(*id), " appears twice"));
    }
    auto list = stack.find("frames");
    if (list == stack.end() || !list->is_array()) {
      return NotAReport(absl::StrCat(where(), ".frames is missing or not an array"));
    }
    for (size_t j = 0; j < list->size(); ++j) {
      const json& ref = (*list)[j];
      if (!IsCount(ref) || !frames.contains(ref.get<uint64_t>())) {
        return NotAReport(absl::StrCat(where(), ".frames[", j, "] is ", Shown(ref),
                                       ", not the id of a frame in \"frames\""));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Checker::Object(const char* key, bool required) {
  auto it = report_.find(key);
  if (it == report_.end()) {
    return required ? NotAReport(absl::StrCat("\"", key, "\" is missing")) : absl::OkStatus();
  }
  if (!it->is_object()) return Wrong(key, *it, "an object");
  return absl::OkStatus();
}

absl::Status Checker::Run() {
  if (!report_.is_object()) return NotAReport("the document is not a JSON object");
  auto format = report_.find("format");
  if (format == report_.end()) return NotAReport("\"format\" is missing");
  if (*format != kReportFormat) {
    return NotAReport(absl::StrCat("\"format\" is ", Shown(*format), ", not \"", kReportFormat, "\""));
  }
  auto version = report_.find("version");
  if (version == report_.end() || !version->is_number_integer() || *version != kReportVersion) {
    return NotAReport(absl::StrCat("\"version\" is ", version == report_.end() ? "missing" : Shown(*version),
                                   ", not ", kReportVersion));
  }
  for (const char* key : {"process", "totals"}) {
    if (absl::Status s = Object(key, true); !s.ok()) return s;
  }
  for (const char* key : {"peak", "heapwarden"}) {
    if (absl::Status s = Object(key, false); !s.ok()) return s;
  }
  if (absl::Status s = Tables(); !s.ok()) return s;
  if (absl::Status s = Fields(report_["process"], "process", kProcessFields); !s.ok()) return s;
  // Every member of "totals" is a figure; sizes and counts are whole and non-negative.
  for (const auto& [key, value] : report_["totals"].items()) {
    std::string at = absl::StrCat("totals.", key);
    if (key == "peak_time") {
      if (!IsSeconds(value)) return Wrong(at, value, "a non-negative number");
    } else if (!IsCount(value)) {
      return Wrong(at, value, "a non-negative integer");
    }
  }
  if (absl::Status s = Array(report_, "sites", "sites", kSiteFields); !s.ok()) return s;
  if (absl::Status s = Array(report_, "tags", "tags", kTagFields); !s.ok()) return s;
  if (absl::Status s = Array(report_, "leaks", "leaks", kLeakFields); !s.ok()) return s;
  if (absl::Status s = Array(report_, "long_lived", "long_lived", kLongLivedFields); !s.ok()) return s;
  if (absl::Status s = Array(report_, "timeline", "timeline", kTimelineFields); !s.ok()) return s;
  for (size_t i = 0; report_.contains("timeline") && i < report_["timeline"].size(); ++i) {
    if (absl::Status s = Array(report_["timeline"][i], "tags", absl::StrCat("timeline[", i, "].tags"),
                               kTimelineTagFields);
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = Array(report_, "trims", "trims", kTrimFields); !s.ok()) return s;
  if (absl::Status s = Array(report_, "errors", "errors", kErrorFields); !s.ok()) return s;
  if (report_.contains("peak")) {
    const json& peak = report_["peak"];
    if (absl::Status s = Fields(peak, "peak", kPeakFields); !s.ok()) return s;
    if (absl::Status s = Array(peak, "sites", "peak.sites", kPeakSiteFields); !s.ok()) return s;
  }
  if (report_.contains("heapwarden")) {
    const json& meta = report_["heapwarden"];
    if (absl::Status s = Fields(meta, "heapwarden", kMetaFields); !s.ok()) return s;
    if (absl::Status s = Array(meta, "suppressions_used", "heapwarden.suppressions_used",
                               kSuppressionUsedFields);
        !s.ok()) {
      return s;
    }
    auto gate = meta.find("leak_gate");
    if (gate != meta.end()) {
      static constexpr Field kGateFields[] = {{"max_leak_bytes", Kind::kCount}};
      if (absl::Status s = Fields(*gate, "heapwarden.leak_gate", kGateFields); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status NotAReport(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("not a heapwarden report (", why, ")"));
}

absl::Status ValidateReport(const json& report) { return Checker(report).Run(); }

}  // namespace heapwarden::report
