// stack_index.h: looks up a version-2 report's stacks, frames and modules by id, for
// the renderers that walk stacks (HTML flame graphs, pprof).
// Report side.
#ifndef HEAPWARDEN_LIB_REPORT_STACK_INDEX_H_
#define HEAPWARDEN_LIB_REPORT_STACK_INDEX_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "nlohmann/json.hpp"

namespace heapwarden::report {

// StackIndex
//
// Built once from a version-2 report, which must outlive it (it keeps pointers into
// it). Ids need not equal positions. Rows that are not objects, and frame ids that name
// no frame, are skipped, so a damaged report renders what it can.
class StackIndex {
 public:
  explicit StackIndex(const nlohmann::json& v2);

  // The frames of stack `stack_id`, innermost first; empty for an unknown id.
  const std::vector<const nlohmann::json*>& Frames(int64_t stack_id) const;

  // The module row with this id, or nullptr.
  const nlohmann::json* Module(int64_t module_id) const;

  // What a person calls this frame: the function; for a native frame without a symbol
  // (no function, or the symbolizer's "??"), "libfoo.so+0x1a2b".
  std::string Label(const nlohmann::json& frame) const;

  // Where it is: "file:line" when known, else the module's path.
  std::string Where(const nlohmann::json& frame) const;

 private:
  absl::flat_hash_map<int64_t, std::vector<const nlohmann::json*>> stacks_;
  absl::flat_hash_map<int64_t, const nlohmann::json*> modules_;
};

// FrameAddress()
//
// A frame's "address" ("0x7f12..." or a number); 0 when absent or malformed.
uint64_t FrameAddress(const nlohmann::json& frame);

// Basename()
//
// The part of a path after its last '/'.
std::string Basename(const std::string& path);

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_STACK_INDEX_H_
