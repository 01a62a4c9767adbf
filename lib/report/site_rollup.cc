// site_rollup.cc: see site_rollup.h. Report side.
#include "report/site_rollup.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "report/report_fields.h"

namespace heapwarden::report {
namespace {

using nlohmann::json;

std::string FileOf(const json& frame) {
  std::string file = StringField(frame, "file");
  return file;
}

// The process's and threads' entry frames: on nearly every stack, naming no code of
// the program.
bool IsEntryFrame(const std::string& name) {
  return name == "_start" || name == "__libc_start_main" || name == "__libc_start_call_main" ||
         name == "start_thread" || name == "clone" || name == "clone3" || name == "__clone3";
}

// The functions (files) on the stack of every site of the report: main, _start. A row
// of them says only "everything".
absl::flat_hash_set<std::string> OnEveryStack(const ReportIndex& index, RollUp by) {
  if (by == RollUp::kFunction) {
    // By label id: no string is built or hashed per site and frame.
    absl::flat_hash_map<int, const std::string*> common;
    absl::flat_hash_map<int, const std::string*> here;
    bool first = true;
    for (const json& site : ArrayField(index.report(), "sites")) {
      here.clear();
      for (const json* frame : index.StackFrames(IntField(site, "stack", -1))) {
        const ReportIndex::FrameNames& names = index.Names(*frame);
        if (!names.label.empty() && (first || common.contains(names.label_id))) {
          here.emplace(names.label_id, &names.label);
        }
      }
      std::swap(common, here);
      first = false;
      if (common.empty()) break;
    }
    absl::flat_hash_set<std::string> out;
    for (const auto& [id, label] : common) out.insert(*label);
    return out;
  }
  absl::flat_hash_set<std::string> common;
  bool first = true;
  for (const json& site : ArrayField(index.report(), "sites")) {
    absl::flat_hash_set<std::string> here;
    for (const json* frame : index.StackFrames(IntField(site, "stack", -1))) {
      std::string name = FileOf(*frame);
      if (!name.empty() && (first || common.contains(name))) here.insert(std::move(name));
    }
    common = std::move(here);
    first = false;
    if (common.empty()) break;
  }
  return common;
}

}  // namespace

std::vector<SiteAmount> PeakAmounts(const json& report) {
  std::vector<SiteAmount> out;
  for (const json& site : ArrayField(ObjectField(report, "peak"), "sites")) {
    int64_t bytes = IntField(site, "live_bytes");
    if (bytes <= 0) continue;
    out.push_back({IntField(site, "stack", -1), StringField(site, "tag"), bytes,
                   IntField(site, "live_blocks")});
  }
  return out;
}

std::vector<SiteAmount> LiveAmounts(const json& report) {
  std::vector<SiteAmount> out;
  for (const json& site : ArrayField(report, "sites")) {
    int64_t bytes = IntField(site, "live_bytes");
    // The heap's live total counts heap blocks; the program's own mappings are the
    // retained figures' business (retained_text.h).
    if (bytes <= 0 || StringField(site, "source", "heap") != "heap") continue;
    out.push_back({IntField(site, "stack", -1), StringField(site, "tag"), bytes,
                   IntField(site, "live_blocks")});
  }
  return out;
}

bool ParseRollUp(const std::string& name, RollUp* out) {
  if (name == "site") *out = RollUp::kSite;
  else if (name == "function") *out = RollUp::kFunction;
  else if (name == "file") *out = RollUp::kFile;
  else if (name == "tag") *out = RollUp::kTag;
  else return false;
  return true;
}

std::string SiteName(const ReportIndex& index, int64_t stack, size_t width) {
  std::vector<const json*> frames = index.StackFrames(stack);
  // A Python user asks which of their lines holds the memory: a stack with Python
  // frames is named from its innermost Python frame out (numpy's or the interpreter's
  // C frames inside it are in the stack itself, in the JSON and on the HTML page).
  bool skip_native = false;
  for (const json* frame : frames) skip_native = skip_native || IsPythonFrame(*frame);
  // A stripped library (Debian's libsqlite3 has no .symtab) puts frames with no name
  // first; "libsqlite3.so.0+0xa7504 < ..." would spend the width on offsets and cut the
  // named callers off. Those leading frames are left out, and each later run of them
  // is one "module+..." entry; a stack with no named frame keeps its offsets. Only the
  // frames the name can show count: a stripped program's stack whose one named frame
  // is libc's entry (below main, never shown) keeps its offsets too.
  bool any_named = false;
  for (const json* frame : frames) {
    if (skip_native && !IsPythonFrame(*frame)) continue;
    if (IsEntryFrame(index.Names(*frame).label)) break;
    any_named = any_named || index.Names(*frame).named;
  }
  std::string name;
  std::string unnamed_run_module;  // the module of the run of unnamed frames being folded
  for (const json* frame : frames) {
    if (skip_native && !IsPythonFrame(*frame)) continue;
    std::string label = index.Names(*frame).label;
    if (IsEntryFrame(label)) break;  // below main: the same for every site
    if (any_named && !index.Names(*frame).named) {
      if (name.empty()) continue;
      std::string module = label.substr(0, label.rfind("+0x"));
      if (module == unnamed_run_module) continue;
      unnamed_run_module = module;
      label = absl::StrCat(module, "+...");
    } else {
      unnamed_run_module.clear();
    }
    if (name.empty()) {
      name = label;
    } else {
      absl::StrAppend(&name, " < ", label);
    }
    if (name.size() >= width) break;  // the rest would be cut off below
  }
  if (name.empty()) name = absl::StrCat("(stack ", stack, ": no frames)");
  if (name.size() > width && width > 3) name = absl::StrCat(name.substr(0, width - 3), "...");
  return name;
}

std::vector<RollUpRow> RollUpAmounts(const ReportIndex& index, const std::vector<SiteAmount>& amounts,
                                     RollUp by, int* hidden, int* unnamed) {
  if (hidden != nullptr) *hidden = 0;
  if (unnamed != nullptr) *unnamed = 0;
  absl::flat_hash_map<std::string, RollUpRow> rows;
  auto add = [&](const std::string& name, const SiteAmount& a, bool own) {
    RollUpRow& row = rows[name];
    row.name = name;
    row.bytes += a.bytes;
    row.blocks += a.blocks;
    row.sites += 1;
    if (own) row.own_bytes += a.bytes;
  };
  // Function rows are added up by label id, and keyed by name once at the end.
  absl::flat_hash_map<int, RollUpRow> by_label;
  absl::flat_hash_set<int> seen_labels;
  for (const SiteAmount& a : amounts) {
    switch (by) {
      case RollUp::kSite:
      {
        std::string key = absl::StrCat(a.stack, "\x1f", a.tag);
        add(key, a, true);
        rows[key].stack = a.stack;
        rows[key].tag = a.tag;
      }
        break;
      case RollUp::kTag:
        add(a.tag.empty() ? "(no tag)" : a.tag, a, true);
        break;
      case RollUp::kFunction: {
        seen_labels.clear();
        bool innermost = true;
        std::vector<const json*> frames = index.StackFrames(a.stack);
        // A frame with no symbol is a place, not a function: where the stack names
        // functions too, "sqlite3+0xa7a1" rows would top the table only because they
        // sit under every site of a stripped program.
        bool any_named = false;
        for (const json* frame : frames) any_named = any_named || index.Names(*frame).named;
        for (const json* frame : frames) {
          const ReportIndex::FrameNames& names = index.Names(*frame);
          if (any_named && !names.named) {
            if (unnamed != nullptr) ++*unnamed;
            innermost = false;
            continue;
          }
          if (names.label.empty()) {
            innermost = false;
            continue;
          }
          if (seen_labels.insert(names.label_id).second) {
            RollUpRow& row = by_label[names.label_id];
            if (row.name.empty()) row.name = names.label;
            row.bytes += a.bytes;
            row.blocks += a.blocks;
            row.sites += 1;
            if (innermost) row.own_bytes += a.bytes;
          }
          innermost = false;
        }
        break;
      }
      case RollUp::kFile: {
        absl::flat_hash_set<std::string> seen;
        bool innermost = true;
        for (const json* frame : index.StackFrames(a.stack)) {
          const std::string name = FileOf(*frame);
          if (name.empty()) {
            innermost = false;
            continue;
          }
          if (seen.insert(name).second) add(name, a, innermost);
          innermost = false;
        }
        break;
      }
    }
  }
  for (auto& [id, row] : by_label) rows.emplace(row.name, std::move(row));
  std::vector<RollUpRow> out;
  out.reserve(rows.size());
  const bool inclusive = by == RollUp::kFunction || by == RollUp::kFile;
  const absl::flat_hash_set<std::string> everywhere =
      inclusive ? OnEveryStack(index, by) : absl::flat_hash_set<std::string>();
  for (auto& [key, row] : rows) {
    if (inclusive && row.own_bytes == 0 && (everywhere.contains(row.name) || IsEntryFrame(row.name))) {
      if (hidden != nullptr) ++*hidden;
      continue;
    }
    out.push_back(std::move(row));
  }
  std::sort(out.begin(), out.end(), [](const RollUpRow& a, const RollUpRow& b) {
    if (a.bytes != b.bytes) return a.bytes > b.bytes;
    return a.name < b.name;
  });
  return out;
}

}  // namespace heapwarden::report
