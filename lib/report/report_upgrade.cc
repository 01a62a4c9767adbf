// report_upgrade.cc: see report_upgrade.h. Report side.
#include "report/report_upgrade.h"

#include <cctype>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/report_format.h"
#include "report/report_schema.h"

namespace heapwarden::report {
namespace {

using nlohmann::json;

bool IsHexAddress(const std::string& s) {
  if (s.size() < 3 || s.size() > 18 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return false;
  for (size_t i = 2; i < s.size(); ++i) {
    if (!std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

bool IsCount(const json& v) {
  return v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
}

// The RawFrame of an in-memory version-1 frame, checking each member's type.
absl::Status ReadFrame(const json& frame, const std::string& where, RawFrame* raw) {
  raw->Clear();
  if (!frame.is_object()) return NotAReport(absl::StrCat(where, " is not an object"));
  struct Text {
    const char* key;
    std::string* value;
    bool* present;
  };
  for (const Text& t : {Text{"kind", &raw->kind, &raw->has_kind},
                        Text{"function", &raw->function, &raw->has_function},
                        Text{"file", &raw->file, &raw->has_file},
                        Text{"module", &raw->module, &raw->has_module},
                        Text{"address", &raw->address, &raw->has_address}}) {
    auto it = frame.find(t.key);
    if (it == frame.end()) continue;
    if (!it->is_string()) return NotAReport(absl::StrCat(where, ".", t.key, " is not a string"));
    *t.value = it->get<std::string>();
    *t.present = true;
  }
  struct Count {
    const char* key;
    uint64_t* value;
    bool* present;
  };
  for (const Count& c : {Count{"line", &raw->line, &raw->has_line},
                         Count{"offset", &raw->offset, &raw->has_offset}}) {
    auto it = frame.find(c.key);
    if (it == frame.end()) continue;
    if (!IsCount(*it)) {
      return NotAReport(absl::StrCat(where, ".", c.key, " is not a non-negative integer"));
    }
    *c.value = it->get<uint64_t>();
    *c.present = true;
  }
  if (auto it = frame.find("inlined"); it != frame.end()) {
    if (!it->is_boolean()) return NotAReport(absl::StrCat(where, ".inlined is not true or false"));
    raw->inlined = it->get<bool>();
  }
  return absl::OkStatus();
}

}  // namespace

uint64_t FrameInterner::ModuleId(const std::string& path) {
  auto [it, added] = module_ids_.try_emplace(path, modules_.size());
  if (added) modules_.push_back({{"id", it->second}, {"path", path}});
  return it->second;
}

absl::Status FrameInterner::Intern(const RawFrame& f, const std::string& where, uint64_t* id) {
  const bool python = f.kind == "python";
  if (f.has_kind && !python && f.kind != "native") {
    return NotAReport(absl::StrCat(where, ".kind is \"", f.kind, "\", not \"native\" or \"python\""));
  }
  if (python) {
    if (!f.has_function) return NotAReport(absl::StrCat(where, ".function is missing"));
  } else {
    if (!f.has_address) return NotAReport(absl::StrCat(where, ".address is missing"));
    if (!IsHexAddress(f.address)) return NotAReport(absl::StrCat(where, ".address is not a hex string"));
    if (!f.has_module) return NotAReport(absl::StrCat(where, ".module is missing"));
    if (!f.has_offset) return NotAReport(absl::StrCat(where, ".offset is missing"));
  }

  // Two frames are one when every field a reader sees is equal.
  key_.clear();
  if (python) {
    absl::StrAppend(&key_, "p\x1f", f.function, "\x1f", f.file, "\x1f", f.line);
  } else {
    absl::StrAppend(&key_, "n\x1f", f.module, "\x1f", f.offset, "\x1f", f.address, "\x1f",
                    f.has_function ? "f" : "-", f.function, "\x1f", f.has_file ? "f" : "-",
                    f.file, "\x1f", f.has_line ? f.line : 0, f.inlined ? "\x1fi" : "");
  }
  auto [it, added] = frame_ids_.try_emplace(key_, frames_.size());
  *id = it->second;
  if (!added) return absl::OkStatus();

  json out = json::object();
  out["id"] = *id;
  if (python) {
    out["kind"] = "python";
    out["function"] = f.function;
    if (f.has_file) out["file"] = f.file;
    if (f.has_line) out["line"] = f.line;
  } else {
    out["kind"] = "native";
    if (!f.module.empty()) out["module"] = ModuleId(f.module);
    out["address"] = f.address;
    out["offset"] = f.offset;
    if (f.has_function) out["function"] = f.function;
    if (f.has_file) out["file"] = f.file;
    if (f.has_line) out["line"] = f.line;
    if (f.inlined) out["inlined"] = true;
  }
  frames_.push_back(std::move(out));
  return absl::OkStatus();
}

void FrameInterner::Finish(json& report) {
  report["modules"] = std::move(modules_);
  report["frames"] = std::move(frames_);
  report["version"] = kReportVersion;
}

absl::Status UpgradeReport(json& report) {
  if (!report.is_object()) return absl::OkStatus();
  auto version = report.find("version");
  if (version == report.end() || !version->is_number_integer() || *version != 1) {
    return absl::OkStatus();
  }
  auto stacks = report.find("stacks");
  if (stacks == report.end() || !stacks->is_array()) {
    return NotAReport("\"stacks\" is missing or not an array");
  }
  FrameInterner interner;
  RawFrame raw;
  for (size_t i = 0; i < stacks->size(); ++i) {
    json& stack = (*stacks)[i];
    if (!stack.is_object()) return NotAReport(absl::StrCat("stacks[", i, "] is not an object"));
    auto frames = stack.find("frames");
    if (frames == stack.end() || !frames->is_array()) {
      return NotAReport(absl::StrCat("stacks[", i, "].frames is not an array"));
    }
    json ids = json::array();
    for (size_t j = 0; j < frames->size(); ++j) {
      std::string where = absl::StrCat("stacks[", i, "].frames[", j, "]");
      uint64_t id = 0;
      absl::Status status = ReadFrame((*frames)[j], where, &raw);
      if (status.ok()) status = interner.Intern(raw, where, &id);
      if (!status.ok()) return status;
      ids.push_back(id);
    }
    *frames = std::move(ids);
  }
  interner.Finish(report);
  return absl::OkStatus();
}

}  // namespace heapwarden::report
