// pprof_report.cc: a version-2 report as profile.proto (field numbers from pprof's
// proto/profile.proto). Report side.
#include "report/pprof_report.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "report/gzip.h"
#include "report/proto_writer.h"
#include "report/report_fields.h"
#include "report/stack_index.h"

namespace heapwarden::report {
namespace {

using nlohmann::json;

// Field numbers of perftools.profiles messages.
namespace profile {
constexpr int kSampleType = 1, kSample = 2, kMapping = 3, kLocation = 4, kFunction = 5,
              kStringTable = 6, kDurationNanos = 10, kPeriodType = 11, kPeriod = 12,
              kComment = 13, kDefaultSampleType = 14;
}  // namespace profile
namespace value_type {
constexpr int kType = 1, kUnit = 2;
}
namespace sample {
constexpr int kLocationId = 1, kValue = 2, kLabel = 3;
}
namespace label {
constexpr int kKey = 1, kStr = 2;
}
namespace mapping {
constexpr int kId = 1, kMemoryStart = 2, kMemoryLimit = 3, kFilename = 5, kBuildId = 6,
              kHasFunctions = 7, kHasFilenames = 8, kHasLineNumbers = 9,
              kHasInlineFrames = 10;
}
namespace location {
constexpr int kId = 1, kMappingId = 2, kAddress = 3, kLine = 4;
}
namespace line {
constexpr int kFunctionId = 1, kLine = 2;
}
namespace function {
constexpr int kId = 1, kName = 2, kSystemName = 3, kFilename = 4, kStartLine = 5;
}

// The string table: index 0 is "" as the format requires.
class Strings {
 public:
  Strings() { Index(""); }
  int64_t Index(const std::string& text) {
    auto [it, added] = index_.emplace(text, static_cast<int64_t>(table_.size()));
    if (added) table_.push_back(text);
    return it->second;
  }
  const std::vector<std::string>& table() const { return table_; }

 private:
  absl::flat_hash_map<std::string, int64_t> index_;
  std::vector<std::string> table_;
};

// What one module contributes to its mapping, gathered from the frames that name it.
struct MappingInfo {
  uint64_t id = 0;
  uint64_t start = 0;  // load address: a frame's address minus its offset
  uint64_t limit = 0;  // one past the highest address seen
  bool functions = false, filenames = false, lines = false, inlined = false;
};

class ProfileBuilder {
 public:
  explicit ProfileBuilder(const json& v2) : report_(v2), stacks_(v2) {}

  std::string Build() {
    ProtoWriter out;
    for (const char* type : {"alloc_objects", "alloc_space", "inuse_objects", "inuse_space"}) {
      ProtoWriter value;
      value.Int(value_type::kType, strings_.Index(type));
      value.Int(value_type::kUnit,
                strings_.Index(absl::EndsWith(type, "objects") ? "count" : "bytes"));
      out.Message(profile::kSampleType, value);
    }
    PlanMappings();
    for (const json& site : ArrayField(report_, "sites")) {
      if (site.is_object()) out.Message(profile::kSample, Sample(site));
    }
    for (const ProtoWriter& m : Mappings()) out.Message(profile::kMapping, m);
    for (const ProtoWriter& l : locations_) out.Message(profile::kLocation, l);
    for (const ProtoWriter& f : functions_) out.Message(profile::kFunction, f);

    const json& process = ObjectField(report_, "process");
    double duration_s = DoubleField(ObjectField(report_, "heapwarden"), "report_time");
    if (duration_s > 0) out.Int(profile::kDurationNanos, static_cast<int64_t>(duration_s * 1e9));
    ProtoWriter period_type;
    period_type.Int(value_type::kType, strings_.Index("space"));
    period_type.Int(value_type::kUnit, strings_.Index("bytes"));
    out.Message(profile::kPeriodType, period_type);
    out.Int(profile::kPeriod, 1);
    std::vector<std::string> argv;
    for (const json& arg : ArrayField(process, "argv")) {
      if (arg.is_string()) argv.push_back(arg.get<std::string>());
    }
    std::vector<int64_t> comments = {
        strings_.Index(absl::StrCat("heapwarden: ", absl::StrJoin(argv, " "))),
        strings_.Index(absl::StrCat("pid ", IntField(process, "pid"), ", mode ",
                                    StringField(process, "mode", "exact"),
                                    BoolField(process, "complete", true) ? "" : ", snapshot"))};
    out.PackedInt(profile::kComment, comments);
    out.Int(profile::kDefaultSampleType, strings_.Index("inuse_space"));
    // Written last because every field above may still add strings.
    for (const std::string& text : strings_.table()) out.Bytes(profile::kStringTable, text);
    return out.data();
  }

 private:
  // Module ids in mapping order (the executable first, as pprof expects mapping[0] to
  // be the main binary), with the address range and symbol flags of their frames.
  void PlanMappings() {
    const std::string exe = StringField(ObjectField(report_, "process"), "exe");
    std::vector<const json*> modules;
    for (const json& module : ArrayField(report_, "modules")) {
      if (module.is_object() && HasField(module, "id")) modules.push_back(&module);
    }
    std::stable_partition(modules.begin(), modules.end(), [&](const json* module) {
      return !exe.empty() && StringField(*module, "path") == exe;
    });
    for (const json* module : modules) {
      MappingInfo& info = mappings_[IntField(*module, "id")];
      if (info.id == 0) {
        info.id = ++mapping_count_;
        mapping_order_.push_back(module);
      }
    }
    for (const json& frame : ArrayField(report_, "frames")) {
      if (!frame.is_object() || StringField(frame, "kind", "native") == "python") continue;
      auto it = mappings_.find(IntField(frame, "module", -1));
      if (it == mappings_.end()) continue;
      MappingInfo& info = it->second;
      uint64_t address = FrameAddress(frame);
      uint64_t offset = static_cast<uint64_t>(IntField(frame, "offset"));
      if (address != 0 && address >= offset && (info.start == 0 || address - offset < info.start)) {
        info.start = address - offset;
      }
      info.limit = std::max(info.limit, address + 1);
      info.functions |= !StringField(frame, "function").empty();
      info.filenames |= !StringField(frame, "file").empty();
      info.lines |= IntField(frame, "line") > 0;
      info.inlined |= BoolField(frame, "inlined");
    }
  }

  std::vector<ProtoWriter> Mappings() {
    std::vector<ProtoWriter> out;
    for (const json* module : mapping_order_) {
      const MappingInfo& info = mappings_[IntField(*module, "id")];
      ProtoWriter m;
      m.Uint(mapping::kId, info.id);
      m.Uint(mapping::kMemoryStart, info.start);
      m.Uint(mapping::kMemoryLimit, std::max(info.limit, info.start));
      m.Int(mapping::kFilename, strings_.Index(StringField(*module, "path")));
      m.Int(mapping::kBuildId, strings_.Index(StringField(*module, "build_id")));
      m.Bool(mapping::kHasFunctions, info.functions);
      m.Bool(mapping::kHasFilenames, info.filenames);
      m.Bool(mapping::kHasLineNumbers, info.lines);
      m.Bool(mapping::kHasInlineFrames, info.inlined);
      out.push_back(std::move(m));
    }
    return out;
  }

  uint64_t FunctionId(const json& frame) {
    std::string name = stacks_.Label(frame);
    std::string file = StringField(frame, "file");
    auto [it, added] = function_ids_.emplace(absl::StrCat(name, "\n", file), 0);
    if (added) {
      it->second = functions_.size() + 1;
      ProtoWriter f;
      f.Uint(function::kId, it->second);
      f.Int(function::kName, strings_.Index(name));
      f.Int(function::kSystemName, strings_.Index(name));
      f.Int(function::kFilename, strings_.Index(file));
      f.Int(function::kStartLine, IntField(frame, "start_line"));
      functions_.push_back(std::move(f));
    }
    return it->second;
  }

  // The location of a run of frames at one address: those inlined there, innermost
  // first, then the function they were inlined into (the run's last frame).
  uint64_t LocationId(const std::vector<const json*>& run) {
    std::string key;
    for (const json* frame : run) absl::StrAppend(&key, IntField(*frame, "id"), ",");
    auto [it, added] = location_ids_.emplace(key, 0);
    if (!added) return it->second;
    it->second = locations_.size() + 1;
    const json& caller = *run.back();
    ProtoWriter l;
    l.Uint(location::kId, it->second);
    if (StringField(caller, "kind", "native") != "python") {
      auto mapping = mappings_.find(IntField(caller, "module", -1));
      if (mapping != mappings_.end()) l.Uint(location::kMappingId, mapping->second.id);
      l.Uint(location::kAddress, FrameAddress(caller));
    }
    for (const json* frame : run) {
      ProtoWriter line;
      line.Uint(line::kFunctionId, FunctionId(*frame));
      line.Int(line::kLine, IntField(*frame, "line"));
      l.Message(location::kLine, line);
    }
    locations_.push_back(std::move(l));
    return it->second;
  }

  ProtoWriter Sample(const json& site) {
    std::vector<uint64_t> location_ids;
    std::vector<const json*> run;
    for (const json* frame : stacks_.Frames(IntField(site, "stack", -1))) {
      run.push_back(frame);
      // An inlined frame belongs to the location of the next (its caller's) frame;
      // a python frame never is one.
      if (BoolField(*frame, "inlined") && StringField(*frame, "kind") != "python") continue;
      location_ids.push_back(LocationId(run));
      run.clear();
    }
    if (!run.empty()) location_ids.push_back(LocationId(run));  // a dangling inlined run

    ProtoWriter s;
    s.PackedUint(sample::kLocationId, location_ids);
    s.PackedInt(sample::kValue,
                {IntField(site, "allocations"), IntField(site, "bytes_allocated"),
                 IntField(site, "live_blocks"), IntField(site, "live_bytes")});
    std::string tag = StringField(site, "tag");
    if (!tag.empty()) s.Message(sample::kLabel, Label("tag", tag));
    if (StringField(site, "source") == "mapped") s.Message(sample::kLabel, Label("source", "mapped"));
    return s;
  }

  ProtoWriter Label(const std::string& key, const std::string& value) {
    ProtoWriter l;
    l.Int(label::kKey, strings_.Index(key));
    l.Int(label::kStr, strings_.Index(value));
    return l;
  }

  const json& report_;
  StackIndex stacks_;
  Strings strings_;
  absl::flat_hash_map<int64_t, MappingInfo> mappings_;
  std::vector<const json*> mapping_order_;
  uint64_t mapping_count_ = 0;
  absl::flat_hash_map<std::string, uint64_t> function_ids_;
  absl::flat_hash_map<std::string, uint64_t> location_ids_;
  std::vector<ProtoWriter> functions_;
  std::vector<ProtoWriter> locations_;
};

}  // namespace

std::string RenderPprofProto(const json& v2) { return ProfileBuilder(v2).Build(); }

absl::StatusOr<std::string> RenderPprof(const json& v2) { return Gzip(RenderPprofProto(v2)); }

}  // namespace heapwarden::report
