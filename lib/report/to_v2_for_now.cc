// to_v2_for_now.cc: TEMPORARY version-1 to version-2 conversion (see the header).
// Report side.
#include "report/to_v2_for_now.h"

#include <cstdint>
#include <map>
#include <string>

#include "report/report_fields.h"

namespace heapwarden::report {

using nlohmann::json;

json ToV2ForNow(const json& report) {
  if (!report.is_object() || IntField(report, "version") != 1) return report;
  json out = json::object();
  for (const auto& [key, value] : report.items()) {
    if (key != "stacks") out[key] = value;
  }
  out["version"] = 2;

  std::map<std::string, int64_t> module_ids;
  std::map<std::string, int64_t> frame_ids;  // keyed by the frame's own JSON text
  json modules = json::array();
  json frames = json::array();
  json stacks = json::array();
  for (const json& stack : ArrayField(report, "stacks")) {
    if (!stack.is_object()) continue;
    json ids = json::array();
    for (const json& frame : ArrayField(stack, "frames")) {
      if (!frame.is_object()) continue;
      json v2 = frame;
      v2.erase("module");
      const bool python = StringField(frame, "kind") == "python";
      v2["kind"] = python ? "python" : "native";
      if (!python) {
        const std::string path = StringField(frame, "module");
        auto [it, added] = module_ids.emplace(path, static_cast<int64_t>(modules.size()) + 1);
        if (added) {
          modules.push_back({{"id", it->second}, {"path", path}, {"build_id", ""}});
        }
        v2["module"] = it->second;
      }
      v2["inlined"] = BoolField(frame, "inlined");
      const std::string key = v2.dump();
      auto [it, added] = frame_ids.emplace(key, static_cast<int64_t>(frames.size()) + 1);
      if (added) {
        v2["id"] = it->second;
        frames.push_back(std::move(v2));
      }
      ids.push_back(it->second);
    }
    stacks.push_back({{"id", IntField(stack, "id")}, {"frames", std::move(ids)}});
  }
  out["modules"] = std::move(modules);
  out["frames"] = std::move(frames);
  out["stacks"] = std::move(stacks);
  return out;
}

}  // namespace heapwarden::report
