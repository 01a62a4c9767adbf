// symbolize_report.cc: adds function, file and line to every native frame of a
// version-2 report. Report side.
#include "report/symbolize_report.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "report/report_fields.h"

namespace heapwarden::report {
namespace {

using nlohmann::json;

// The record side's default and bounds for `depth` (lib/record/base/options.inc).
constexpr int64_t kDefaultDepth = 32;
constexpr int64_t kMaxDepth = 128;

// The depth the process ran with: the last valid depth=N of its options, as the
// record side reads them.
int64_t RecordedDepth(const json& meta) {
  int64_t depth = kDefaultDepth;
  for (absl::string_view option : absl::StrSplit(StringField(meta, "options"), ':')) {
    int64_t n = 0;
    if (absl::ConsumePrefix(&option, "depth=") && absl::SimpleAtoi(option, &n) && n >= 1 &&
        n <= kMaxDepth) {
      depth = n;
    }
  }
  return depth;
}

}  // namespace

bool IsSymbolized(const json& report) {
  return BoolField(ObjectField(report, "heapwarden"), "symbolized");
}

void SymbolizeReport(json& report, Symbolizer& symbolizer) {
  if (!report.is_object()) return;
  json& meta = report["heapwarden"];
  if (!meta.is_object()) meta = json::object();
  meta["symbolized"] = true;
  auto frames = report.find("frames");
  auto stacks = report.find("stacks");
  if (frames == report.end() || !frames->is_array() || stacks == report.end() ||
      !stacks->is_array()) {
    return;
  }
  absl::flat_hash_map<int64_t, std::string> modules;
  for (const json& module : ArrayField(report, "modules")) {
    modules.emplace(IntField(module, "id", -1), StringField(module, "path"));
  }

  // Each native frame is looked up once, however many stacks share it. Frames an
  // earlier run added for inlined calls are dropped and regenerated, so symbolizing
  // twice gives the same report.
  json table = json::array();
  absl::flat_hash_map<int64_t, std::vector<int64_t>> expansion;  // old id -> new ids
  absl::flat_hash_set<int64_t> inlined_ids;                      // new ids of inlined calls
  int64_t next_id = 0;
  for (json& frame : *frames) {
    if (!frame.is_object()) continue;
    const int64_t old_id = IntField(frame, "id", -1);
    if (BoolField(frame, "inlined")) continue;
    std::vector<int64_t>& ids = expansion[old_id];
    if (StringField(frame, "kind", "native") == "python") {
      frame["id"] = next_id;
      ids.push_back(next_id++);
      table.push_back(std::move(frame));
      continue;
    }
    const int64_t offset = IntField(frame, "offset");
    std::string module;
    if (HasField(frame, "module")) {
      auto it = modules.find(IntField(frame, "module", -1));
      if (it != modules.end()) module = it->second;
    }
    std::vector<SourceFrame> sources =
        symbolizer.SymbolizeReturnAddress(module, offset < 0 ? 0 : static_cast<uint64_t>(offset));
    if (sources.empty()) sources.emplace_back();  // "??"
    for (size_t k = 0; k < sources.size(); ++k) {
      const SourceFrame& source = sources[k];
      // The last (usually the only) frame of an address takes the recorded one over.
      json out = k + 1 == sources.size() ? std::move(frame) : frame;
      out.erase("file");
      out.erase("line");
      out.erase("inlined");
      out["id"] = next_id;
      out["function"] = source.function;
      if (source.line > 0) {
        out["file"] = source.file;
        out["line"] = source.line;
      }
      if (source.inlined) {
        out["inlined"] = true;
        inlined_ids.insert(next_id);
      }
      ids.push_back(next_id++);
      table.push_back(std::move(out));
    }
  }
  *frames = std::move(table);

  // A return address whose code was inlined becomes several frames; the stack still
  // keeps at most `depth` of them (SPEC). Every recorded frame stays -- the outermost
  // are the program's own, a Python user's lines among them -- and inlined calls fill
  // what room is left, innermost first.
  const int64_t depth = RecordedDepth(meta);
  std::vector<const std::vector<int64_t>*> recorded;
  std::vector<int64_t> ids;
  for (json& stack : *stacks) {
    if (!stack.is_object()) continue;
    auto list = stack.find("frames");
    if (list == stack.end() || !list->is_array()) continue;
    recorded.clear();
    for (const json& ref : *list) {
      if (!ref.is_number_integer()) continue;
      auto it = expansion.find(ref.get<int64_t>());
      if (it == expansion.end()) continue;  // an inlined frame: its expansion is regenerated
      recorded.push_back(&it->second);
    }
    int64_t room_for_inlined = depth - static_cast<int64_t>(recorded.size());
    ids.clear();
    for (const std::vector<int64_t>* expanded : recorded) {
      for (int64_t id : *expanded) {
        if (inlined_ids.contains(id)) {
          if (room_for_inlined <= 0) continue;
          --room_for_inlined;
        }
        ids.push_back(id);
      }
    }
    // Written over the old list: 22,000 stacks of a Python run need no new arrays.
    json::array_t& out = list->get_ref<json::array_t&>();
    out.resize(ids.size());
    for (size_t k = 0; k < ids.size(); ++k) out[k] = ids[k];
  }
}

}  // namespace heapwarden::report
