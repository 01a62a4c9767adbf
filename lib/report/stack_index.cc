// stack_index.cc: id lookups over a version-2 report.
// Report side.
#include "report/stack_index.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "report/report_fields.h"

namespace heapwarden::report {

using nlohmann::json;

StackIndex::StackIndex(const json& v2) {
  absl::flat_hash_map<int64_t, const json*> frames;
  for (const json& frame : ArrayField(v2, "frames")) {
    if (frame.is_object() && HasField(frame, "id")) frames[IntField(frame, "id")] = &frame;
  }
  for (const json& module : ArrayField(v2, "modules")) {
    if (module.is_object() && HasField(module, "id")) modules_[IntField(module, "id")] = &module;
  }
  for (const json& stack : ArrayField(v2, "stacks")) {
    if (!stack.is_object() || !HasField(stack, "id")) continue;
    std::vector<const json*>& out = stacks_[IntField(stack, "id")];
    for (const json& id : ArrayField(stack, "frames")) {
      if (!id.is_number_integer()) continue;
      auto it = frames.find(id.get<int64_t>());
      if (it != frames.end()) out.push_back(it->second);
    }
  }
}

const std::vector<const json*>& StackIndex::Frames(int64_t stack_id) const {
  static const std::vector<const json*> kNone;
  auto it = stacks_.find(stack_id);
  return it == stacks_.end() ? kNone : it->second;
}

const json* StackIndex::Module(int64_t module_id) const {
  auto it = modules_.find(module_id);
  return it == modules_.end() ? nullptr : it->second;
}

std::string StackIndex::Label(const json& frame) const {
  std::string function = StringField(frame, "function");
  // The symbolizer says "??" where it found no symbol; the module and offset say more.
  if (!function.empty() && function != "??") return function;
  if (StringField(frame, "kind") == "python") return function.empty() ? "??" : function;
  const json* module = Module(IntField(frame, "module", -1));
  std::string path = module != nullptr ? StringField(*module, "path") : "";
  std::string name = path.empty() ? "?" : Basename(path);
  return absl::StrCat(name, "+0x", absl::Hex(IntField(frame, "offset")));
}

std::string StackIndex::Where(const json& frame) const {
  std::string file = StringField(frame, "file");
  if (!file.empty()) {
    int64_t line = IntField(frame, "line");
    return line > 0 ? absl::StrCat(file, ":", line) : file;
  }
  const json* module = Module(IntField(frame, "module", -1));
  return module != nullptr ? StringField(*module, "path") : "";
}

uint64_t FrameAddress(const json& frame) {
  if (!frame.is_object()) return 0;
  auto it = frame.find("address");
  if (it == frame.end()) return 0;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (it->is_number_integer()) return static_cast<uint64_t>(it->get<int64_t>());
  if (!it->is_string()) return 0;
  const std::string& text = it->get_ref<const std::string&>();
  char* end = nullptr;
  uint64_t value = std::strtoull(text.c_str(), &end, 16);
  return (end == text.c_str() || *end != '\0') ? 0 : value;
}

std::string Basename(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace heapwarden::report
