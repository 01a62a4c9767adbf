// report_index.cc: see report_index.h. Report side.
#include "report/report_index.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "report/report_fields.h"

namespace heapwarden::report {

using nlohmann::json;

ReportIndex::ReportIndex(const json& report) : report_(report) {
  const json& stacks = ArrayField(report, "stacks");
  stacks_.reserve(stacks.size());
  for (const json& stack : stacks) stacks_.emplace(IntField(stack, "id", -1), &stack);
  const json& frames = ArrayField(report, "frames");
  frames_.reserve(frames.size());
  for (const json& frame : frames) frames_.emplace(IntField(frame, "id", -1), &frame);
  for (const json& module : ArrayField(report, "modules")) {
    modules_.emplace(IntField(module, "id", -1), StringField(module, "path"));
  }
}

const json* ReportIndex::Stack(int64_t id) const {
  auto it = stacks_.find(id);
  return it == stacks_.end() ? nullptr : it->second;
}

const json* ReportIndex::Frame(int64_t id) const {
  auto it = frames_.find(id);
  return it == frames_.end() ? nullptr : it->second;
}

std::vector<const json*> ReportIndex::StackFrames(int64_t id) const {
  std::vector<const json*> frames;
  const json* stack = Stack(id);
  if (stack == nullptr) return frames;
  const json& ids = ArrayField(*stack, "frames");
  frames.reserve(ids.size());
  for (const json& ref : ids) {
    if (!ref.is_number_integer()) continue;
    if (const json* frame = Frame(ref.get<int64_t>())) frames.push_back(frame);
  }
  return frames;
}

const std::string& ReportIndex::ModulePath(const json& frame) const {
  static const std::string* const kNone = new std::string();
  if (!HasField(frame, "module")) return *kNone;
  auto it = modules_.find(IntField(frame, "module", -1));
  return it == modules_.end() ? *kNone : it->second;
}

bool IsPythonFrame(const json& frame) { return StringField(frame, "kind") == "python"; }

std::string FrameFunction(const json& frame) {
  std::string function = StringField(frame, "function");
  return function == "??" ? "" : function;
}

std::string FrameSourceLine(const json& frame) {
  std::string file = StringField(frame, "file");
  if (file.empty()) return "";
  int64_t line = IntField(frame, "line");
  return line > 0 ? absl::StrCat(file, ":", line) : file;
}

namespace {

std::string BuildFrameLabel(const ReportIndex& index, const json& frame) {
  std::string function = FrameFunction(frame);
  if (IsPythonFrame(frame)) {
    std::string where = FrameSourceLine(frame);
    if (function.empty()) function = "<python>";
    return where.empty() ? function : absl::StrCat(function, " (", where, ")");
  }
  if (!function.empty()) return function;
  const std::string& module = index.ModulePath(frame);
  size_t slash = module.rfind('/');
  std::string base = slash == std::string::npos ? module : module.substr(slash + 1);
  if (base.empty()) base = "<unknown module>";
  return absl::StrFormat("%s+0x%x", base, static_cast<uint64_t>(IntField(frame, "offset")));
}

}  // namespace

const ReportIndex::FrameNames& ReportIndex::Names(const json& frame) const {
  auto it = names_.find(&frame);
  if (it != names_.end()) return it->second;
  FrameNames names{BuildFrameLabel(*this, frame), !FrameFunction(frame).empty()};
  names.label_id =
      label_ids_.emplace(names.label, static_cast<int>(label_ids_.size())).first->second;
  // Only the report's own frames are kept: a pointer to anything else may be reused.
  if (Frame(IntField(frame, "id", -1)) != &frame) {
    foreign_ = std::move(names);
    return foreign_;
  }
  return names_.emplace(&frame, std::move(names)).first->second;
}

std::string FrameLabel(const ReportIndex& index, const json& frame) {
  return index.Names(frame).label;
}

std::string FrameKey(const ReportIndex& index, const json& frame) {
  std::string function = FrameFunction(frame);
  if (IsPythonFrame(frame)) {
    return absl::StrCat("py\x1f", function, "\x1f", StringField(frame, "file"));
  }
  if (!function.empty()) return absl::StrCat("fn\x1f", function, "\x1f", StringField(frame, "file"));
  return absl::StrFormat("pc\x1f%s\x1f%x", index.ModulePath(frame),
                         static_cast<uint64_t>(IntField(frame, "offset")));
}

}  // namespace heapwarden::report
