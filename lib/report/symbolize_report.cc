// symbolize_report.cc: adds function, file and line to every frame of a report.
// Report side.
#include "report/symbolize_report.h"

#include <cstdint>
#include <string>

#include "report/report_fields.h"

namespace heapwarden::report {
namespace {

using nlohmann::json;

uint64_t FrameOffset(const json& frame) {
  auto it = frame.find("offset");
  if (it == frame.end()) return 0;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  int64_t offset = IntField(frame, "offset", 0);
  return offset < 0 ? 0 : static_cast<uint64_t>(offset);
}

json SymbolizeFrames(const json& frames, Symbolizer& symbolizer) {
  json result = json::array();
  for (const json& frame : frames) {
    if (!frame.is_object() || IsPythonFrame(frame)) {
      result.push_back(frame);
      continue;
    }
    if (BoolField(frame, "inlined")) continue;  // regenerated below
    for (const SourceFrame& source :
         symbolizer.SymbolizeReturnAddress(StringField(frame, "module"), FrameOffset(frame))) {
      json out = frame;
      out.erase("file");
      out.erase("line");
      out["function"] = source.function;
      if (source.line > 0) {
        out["file"] = source.file;
        out["line"] = source.line;
      }
      if (source.inlined) out["inlined"] = true;
      result.push_back(std::move(out));
    }
  }
  return result;
}

}  // namespace

bool IsSymbolized(const json& report) {
  return BoolField(ObjectField(report, "heapwarden"), "symbolized");
}

void SymbolizeReport(json& report, Symbolizer& symbolizer) {
  if (!report.is_object()) return;
  auto stacks = report.find("stacks");
  if (stacks != report.end() && stacks->is_array()) {
    for (json& stack : *stacks) {
      if (!stack.is_object()) continue;
      auto frames = stack.find("frames");
      if (frames == stack.end() || !frames->is_array()) continue;
      *frames = SymbolizeFrames(*frames, symbolizer);
    }
  }
  json& meta = report["heapwarden"];
  if (!meta.is_object()) meta = json::object();
  meta["symbolized"] = true;
}

}  // namespace heapwarden::report
