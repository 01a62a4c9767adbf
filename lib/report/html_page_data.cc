// html_page_data.cc: the HTML page's data model, built from a version-2 report.
// Report side.
#include "report/html_page_data.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "report/report_fields.h"
#include "report/stack_index.h"

namespace heapwarden::report {
namespace {

using nlohmann::json;

// Interns strings into a JSON array, returning their index.
class StringTable {
 public:
  int64_t Index(const std::string& text) {
    auto [it, added] = index_.emplace(text, static_cast<int64_t>(table_.size()));
    if (added) table_.push_back(text);
    return it->second;
  }
  json ToJson() const { return json(table_); }

 private:
  absl::flat_hash_map<std::string, int64_t> index_;
  std::vector<std::string> table_;
};

// The call tree of every stack the page shows, merged by label, outermost first.
class CallTree {
 public:
  explicit CallTree(const json& v2) : stacks_(v2) {
    parent_.push_back(-1);
    name_.push_back(-1);
  }

  // The tree node of a stack's innermost frame (0, the root, for an empty stack).
  int64_t Node(int64_t stack_id) {
    auto cached = stack_nodes_.find(stack_id);
    if (cached != stack_nodes_.end()) return cached->second;
    const std::vector<const json*>& frames = stacks_.Frames(stack_id);
    int64_t node = 0;
    for (auto it = frames.rbegin(); it != frames.rend(); ++it) node = Child(node, **it);
    if (!frames.empty()) innermost_where_[node] = stacks_.Where(*frames.front());
    stack_nodes_[stack_id] = node;
    return node;
  }

  // "file:line" (or the module) of the innermost frame of a stack.
  std::string Where(int64_t node) const {
    auto it = innermost_where_.find(node);
    return it == innermost_where_.end() ? "" : it->second;
  }

  void AddTo(json& page) {
    page["names"] = names_.ToJson();
    page["where"] = where_;
    page["kind"] = kind_;
    // Parents as distances back (node - parent), mostly 1: a third of the bytes.
    std::vector<int64_t> distance(parent_.size());
    for (size_t i = 0; i < parent_.size(); ++i) distance[i] = static_cast<int64_t>(i) - parent_[i];
    page["np"] = std::move(distance);
    page["nn"] = name_;
  }

 private:
  int64_t Child(int64_t parent, const json& frame) {
    const bool python = StringField(frame, "kind") == "python";
    std::string label = stacks_.Label(frame);
    if (python) {
      std::string file = Basename(StringField(frame, "file"));
      int64_t line = IntField(frame, "line");
      if (!file.empty()) absl::StrAppend(&label, " (", file, line > 0 ? absl::StrCat(":", line) : "", ")");
    }
    int64_t name = names_.Index(label);
    if (static_cast<size_t>(name) == where_.size()) {
      // Kind colours the flame graph: 0 native with a symbol, 1 python, 2 no symbol.
      std::string file = StringField(frame, "file");
      where_.push_back(python || file.empty() ? stacks_.Where(frame) : file);
      std::string function = StringField(frame, "function");
      kind_.push_back(python ? 1 : (function.empty() || function == "??") ? 2 : 0);
    }
    uint64_t key = (static_cast<uint64_t>(parent) << 32) | static_cast<uint64_t>(name);
    auto [it, added] = children_.emplace(key, static_cast<int64_t>(parent_.size()));
    if (added) {
      parent_.push_back(parent);
      name_.push_back(name);
    }
    return it->second;
  }

  StackIndex stacks_;
  StringTable names_;
  std::vector<std::string> where_;
  std::vector<int> kind_;
  std::vector<int64_t> parent_;
  std::vector<int64_t> name_;
  absl::flat_hash_map<uint64_t, int64_t> children_;
  absl::flat_hash_map<int64_t, int64_t> stack_nodes_;
  absl::flat_hash_map<int64_t, std::string> innermost_where_;
};

// A numeric column: integers stay integers, a missing or non-numeric value is null.
json Number(const json& row, const char* key) {
  if (!row.is_object()) return nullptr;
  auto it = row.find(key);
  if (it == row.end() || !it->is_number()) return nullptr;
  return *it;
}

// Copies `keys` of each object row of `rows` into columns, plus "node" and "tag".
json Columns(const json& rows, const std::vector<const char*>& keys, CallTree& tree,
             StringTable& tags) {
  json out = json::object();
  json node = json::array(), tag = json::array();
  std::vector<json> columns(keys.size(), json::array());
  for (const json& row : rows) {
    if (!row.is_object()) continue;
    node.push_back(tree.Node(IntField(row, "stack", -1)));
    tag.push_back(tags.Index(StringField(row, "tag")));
    for (size_t i = 0; i < keys.size(); ++i) columns[i].push_back(Number(row, keys[i]));
  }
  out["node"] = std::move(node);
  out["tag"] = std::move(tag);
  for (size_t i = 0; i < keys.size(); ++i) out[keys[i]] = std::move(columns[i]);
  return out;
}

}  // namespace

json HtmlPageData(const json& v2) {
  json page = json::object();
  page["process"] = ObjectField(v2, "process");
  page["totals"] = ObjectField(v2, "totals");
  const json& meta = ObjectField(v2, "heapwarden");
  page["meta"] = {{"report_time", Number(meta, "report_time")},
                  {"version", StringField(meta, "version")},
                  {"dropped_events", Number(meta, "dropped_events")},
                  {"snapshots", Number(meta, "snapshots")}};

  CallTree tree(v2);
  StringTable tags;
  StringTable locations;

  // Sites, with what each held at the peak (peak.sites names them by stack and tag).
  json sites = Columns(ArrayField(v2, "sites"),
                       {"allocations", "bytes_allocated", "live_blocks", "live_bytes",
                        "peak_live_bytes", "median_lifetime_s"},
                       tree, tags);
  absl::flat_hash_map<std::string, std::pair<json, json>> at_peak;
  const json& peak = ObjectField(v2, "peak");
  for (const json& row : ArrayField(peak, "sites")) {
    if (!row.is_object()) continue;
    at_peak[absl::StrCat(IntField(row, "stack", -1), "\n", StringField(row, "tag"))] = {
        Number(row, "live_bytes"), Number(row, "live_blocks")};
  }
  json mapped = json::array(), peak_bytes = json::array(), peak_blocks = json::array(),
       where = json::array();
  for (const json& row : ArrayField(v2, "sites")) {
    if (!row.is_object()) continue;
    mapped.push_back(StringField(row, "source") == "mapped" ? 1 : 0);
    auto it = at_peak.find(absl::StrCat(IntField(row, "stack", -1), "\n", StringField(row, "tag")));
    peak_bytes.push_back(it == at_peak.end() ? json(0) : it->second.first);
    peak_blocks.push_back(it == at_peak.end() ? json(0) : it->second.second);
    where.push_back(locations.Index(tree.Where(tree.Node(IntField(row, "stack", -1)))));
  }
  sites["mapped"] = std::move(mapped);
  sites["at_peak"] = std::move(peak_bytes);
  sites["at_peak_blocks"] = std::move(peak_blocks);
  sites["loc"] = std::move(where);
  page["sites"] = std::move(sites);

  json peak_page = Columns(ArrayField(peak, "sites"), {"live_blocks", "live_bytes"}, tree, tags);
  peak_page["time"] = Number(peak, "time");
  peak_page["total_bytes"] = Number(peak, "live_bytes");  // "live_bytes" is the column
  page["peak"] = std::move(peak_page);

  json leaks = Columns(ArrayField(v2, "leaks"), {"blocks", "bytes"}, tree, tags);
  json kinds = json::array(), suppressed = json::array(), leak_where = json::array();
  for (const json& row : ArrayField(v2, "leaks")) {
    if (!row.is_object()) continue;
    kinds.push_back(StringField(row, "kind", "direct"));
    suppressed.push_back(BoolField(row, "suppressed") ? 1 : 0);
    leak_where.push_back(locations.Index(tree.Where(tree.Node(IntField(row, "stack", -1)))));
  }
  leaks["kind"] = std::move(kinds);
  leaks["suppressed"] = std::move(suppressed);
  leaks["loc"] = std::move(leak_where);
  page["leaks"] = std::move(leaks);

  json long_lived = Columns(ArrayField(v2, "long_lived"), {"blocks", "bytes", "oldest_age_s"},
                            tree, tags);
  json long_where = json::array();
  for (const json& row : ArrayField(v2, "long_lived")) {
    if (row.is_object()) {
      long_where.push_back(locations.Index(tree.Where(tree.Node(IntField(row, "stack", -1)))));
    }
  }
  long_lived["loc"] = std::move(long_where);
  page["long_lived"] = std::move(long_lived);

  json tag_rows = json::array();
  for (const json& row : ArrayField(v2, "tags")) {
    if (!row.is_object()) continue;
    tag_rows.push_back({StringField(row, "tag"), Number(row, "allocations"),
                        Number(row, "bytes_allocated"), Number(row, "live_bytes"),
                        Number(row, "peak_live_bytes")});
  }
  page["tag_rows"] = std::move(tag_rows);

  json t = json::array(), live = json::array(), rss = json::array();
  for (const json& row : ArrayField(v2, "timeline")) {
    if (!row.is_object()) continue;
    t.push_back(Number(row, "t"));
    live.push_back(Number(row, "live_bytes"));
    rss.push_back(Number(row, "rss_bytes"));
  }
  page["timeline"] = {{"t", std::move(t)}, {"live", std::move(live)}, {"rss", std::move(rss)}};

  json trims = json::array();
  for (const json& row : ArrayField(v2, "trims")) {
    if (!row.is_object()) continue;
    trims.push_back({Number(row, "t"), StringField(row, "trigger"), Number(row, "rss_before"),
                     Number(row, "rss_after"), Number(row, "released_bytes")});
  }
  page["trims"] = std::move(trims);

  json errors = json::object();
  for (const json& row : ArrayField(v2, "errors")) {
    std::string kind = StringField(row, "kind", "error");
    errors[kind] = errors.value(kind, 0) + 1;
  }
  page["errors"] = std::move(errors);

  tree.AddTo(page);
  page["tags"] = tags.ToJson();
  page["locs"] = locations.ToJson();
  return page;
}

}  // namespace heapwarden::report
