// report_index.h: resolves the ids of a version-2 report -- a stack to its frames, a
// frame to its module -- and names frames the way every renderer shows them.
// Report side. Renderers (text, collapsed, diff, html, pprof) take the report that
// LoadReport() returned and build one of these over it.
#ifndef HEAPWARDEN_LIB_REPORT_REPORT_INDEX_H_
#define HEAPWARDEN_LIB_REPORT_REPORT_INDEX_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "nlohmann/json.hpp"

namespace heapwarden::report {

// ReportIndex
//
// Built over a report that passed ValidateReport() (every reference resolves); it keeps
// pointers into `report`, which must outlive it and not change. Lookups of ids that are
// not there return nullptr or an empty list rather than failing.
class ReportIndex {
 public:
  explicit ReportIndex(const nlohmann::json& report);

  const nlohmann::json& report() const { return report_; }

  // The element of "stacks" with this id, or nullptr.
  const nlohmann::json* Stack(int64_t id) const;

  // The frames of stack `id`, innermost first (empty when there is no such stack).
  std::vector<const nlohmann::json*> StackFrames(int64_t id) const;

  // The element of "frames" with this id, or nullptr.
  const nlohmann::json* Frame(int64_t id) const;

  // The path of a native frame's module; "" for a python frame or an unknown module.
  const std::string& ModulePath(const nlohmann::json& frame) const;

  // What renderers show of one frame: its FrameLabel() and whether FrameFunction()
  // names a function. Worked out once per frame of the report and kept: roll-ups ask
  // once per site and frame (700,000 times for the 22,000 sites of a numpy run that
  // has 7,000 frames). A frame from elsewhere is answered but not kept.
  struct FrameNames {
    std::string label;
    bool named = false;
    // Equal for equal labels, whichever frames bear them: a roll-up adds per label.
    int label_id = -1;
  };
  const FrameNames& Names(const nlohmann::json& frame) const;

 private:
  const nlohmann::json& report_;
  absl::flat_hash_map<int64_t, const nlohmann::json*> stacks_;
  absl::flat_hash_map<int64_t, const nlohmann::json*> frames_;
  absl::flat_hash_map<int64_t, std::string> modules_;
  // Node-based: Names() hands out references that later insertions must not move.
  mutable absl::node_hash_map<const nlohmann::json*, FrameNames> names_;
  mutable FrameNames foreign_;
  mutable absl::flat_hash_map<std::string, int> label_ids_;
};

// IsPythonFrame()
//
// True for a frame of the interpreted program ("kind": "python").
bool IsPythonFrame(const nlohmann::json& frame);

// FrameFunction()
//
// The frame's function name, or "" when it has none ("??" is the symbolizer's word for
// none).
std::string FrameFunction(const nlohmann::json& frame);

// FrameLabel()
//
// A short name for one frame, as flame graphs and roll-ups show it: the function
// ("parse_row", "load (train.py:12)" for a python frame), or "libfoo.so.1+0x1a2b"
// (the module's file name and offset) when the frame has no name.
std::string FrameLabel(const ReportIndex& index, const nlohmann::json& frame);

// FrameSourceFile()
//
// "file:line" (or "file"), "" when the frame has no source file.
std::string FrameSourceLine(const nlohmann::json& frame);

// FrameKey()
//
// What identifies a frame across two runs or two builds of one program (diff): the
// function and file when symbolized, the module path and offset when not -- never the
// address, which moves with every run.
std::string FrameKey(const ReportIndex& index, const nlohmann::json& frame);

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_REPORT_INDEX_H_
