// report_upgrade.h: turns a version-1 report (what the record side writes: every frame
// inline in every stack, raw or already symbolized) into version 2, with "modules",
// "frames" and "stacks" tables in which each distinct frame appears once.
// Report side. LoadReport() does it while parsing (report_io.cc), so every consumer
// sees version 2 only, and a version-1 frame never becomes a JSON object in memory.
#ifndef HEAPWARDEN_LIB_REPORT_REPORT_UPGRADE_H_
#define HEAPWARDEN_LIB_REPORT_REPORT_UPGRADE_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace heapwarden::report {

// One version-1 frame as read: native {"address": "0x...", "module": PATH, "offset": N}
// plus what a symbolizer added ("function", "file", "line", "inlined"), or python
// {"kind": "python", "function", "file", "line"}. The has_* flags say which were present.
struct RawFrame {
  std::string kind, function, file, module, address;
  uint64_t line = 0, offset = 0;
  bool inlined = false;
  bool has_kind = false, has_function = false, has_file = false, has_line = false;
  bool has_module = false, has_address = false, has_offset = false;

  void Clear() { *this = RawFrame(); }
};

// FrameInterner
//
// Collects the distinct frames and modules of version-1 stacks. Identical frames share
// one id; module paths become ids ("" means no module: the frame gets none). Ids are
// positions in their tables.
class FrameInterner {
 public:
  // Checks `frame` (`where` names it in messages: "stacks[2].frames[0]") and returns its
  // id in *id; InvalidArgument ("not a heapwarden report (...)") when malformed.
  absl::Status Intern(const RawFrame& frame, const std::string& where, uint64_t* id);

  // Stores "modules" and "frames" in `report` and sets "version" to 2.
  void Finish(nlohmann::json& report);

 private:
  uint64_t ModuleId(const std::string& path);

  nlohmann::json modules_ = nlohmann::json::array();
  nlohmann::json frames_ = nlohmann::json::array();
  absl::flat_hash_map<std::string, uint64_t> module_ids_;
  absl::flat_hash_map<std::string, uint64_t> frame_ids_;
  std::string key_;
};

// UpgradeReport()
//
// When `report` (already in memory) is version 1, rewrites it in place as version 2;
// other versions are left alone (ValidateReport() judges them). On a malformed stack or
// frame returns InvalidArgument ("not a heapwarden report (stacks[2].frames[0].offset
// is ...)") and leaves `report` unusable.
absl::Status UpgradeReport(nlohmann::json& report);

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_REPORT_UPGRADE_H_
