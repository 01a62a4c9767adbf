// report_html_pprof_test.cc: the pprof encoder read back field by field (a small
// protobuf wire decoder here), the HTML page's data model and escaping, and the
// temporary version-1 to version-2 bridge, on a hand-made report with an inlined call,
// a Python frame, tags, a peak and a leak.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "report/html_page_data.h"
#include "report/html_report.h"
#include "report/pprof_report.h"

namespace heapwarden::report {
namespace {

using nlohmann::json;

// A decoded message: field number -> values in order (varints as numbers, everything
// length-delimited as bytes; packed varints are unpacked by Packed()).
struct Message {
  std::map<int, std::vector<uint64_t>> varints;
  std::map<int, std::vector<std::string>> bytes;
};

uint64_t ReadVarint(const std::string& data, size_t& at) {
  uint64_t value = 0;
  for (int shift = 0; at < data.size(); shift += 7) {
    uint8_t byte = static_cast<uint8_t>(data[at++]);
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return value;
  }
  ADD_FAILURE() << "varint runs past the end";
  return value;
}

Message Decode(const std::string& data) {
  Message m;
  size_t at = 0;
  while (at < data.size()) {
    uint64_t key = ReadVarint(data, at);
    int field = static_cast<int>(key >> 3);
    switch (key & 7) {
      case 0: m.varints[field].push_back(ReadVarint(data, at)); break;
      case 2: {
        uint64_t size = ReadVarint(data, at);
        EXPECT_LE(at + size, data.size()) << "field " << field << " runs past the end";
        m.bytes[field].push_back(data.substr(at, size));
        at += size;
        break;
      }
      default: ADD_FAILURE() << "unexpected wire type " << (key & 7); return m;
    }
  }
  return m;
}

std::vector<uint64_t> Packed(const Message& m, int field) {
  std::vector<uint64_t> out;
  auto it = m.bytes.find(field);
  if (it == m.bytes.end()) return out;
  for (const std::string& chunk : it->second) {
    size_t at = 0;
    while (at < chunk.size()) out.push_back(ReadVarint(chunk, at));
  }
  return out;
}

uint64_t Varint(const Message& m, int field) {
  auto it = m.varints.find(field);
  return it == m.varints.end() ? 0 : it->second.front();
}

std::vector<Message> Repeated(const Message& m, int field) {
  std::vector<Message> out;
  auto it = m.bytes.find(field);
  if (it != m.bytes.end()) {
    for (const std::string& b : it->second) out.push_back(Decode(b));
  }
  return out;
}

// main -> Load (which inlined Parse, which calls malloc) under tag "phase/load", and a
// Python line reached from main under no tag.
json SampleReport() {
  return json::parse(R"({
    "format": "heapwarden-report", "version": 2,
    "process": {"pid": 7, "argv": ["./app", "--x"], "exe": "/bin/app", "exit_status": 0,
                "backend": "system", "mode": "exact", "complete": true},
    "totals": {"allocations": 5, "bytes_allocated": 5000, "live_bytes": 1000,
               "peak_live_bytes": 4000, "peak_time": 0.5},
    "modules": [{"id": 1, "path": "/lib/libc.so.6", "build_id": "aa"},
                {"id": 2, "path": "/bin/app", "build_id": "bb"}],
    "frames": [
      {"id": 10, "kind": "native", "module": 2, "address": "0x1010", "offset": 16,
       "function": "Parse", "file": "app.cc", "line": 5, "inlined": true},
      {"id": 11, "kind": "native", "module": 2, "address": "0x1010", "offset": 16,
       "function": "Load", "file": "app.cc", "line": 20, "inlined": false},
      {"id": 12, "kind": "native", "module": 2, "address": "0x1100", "offset": 256,
       "function": "main", "file": "app.cc", "line": 40, "inlined": false},
      {"id": 13, "kind": "python", "function": "train", "file": "/src/train.py", "line": 12},
      {"id": 14, "kind": "native", "module": 1, "address": "0x7000", "offset": 4096,
       "function": "operator</script>", "inlined": false}],
    "stacks": [{"id": 1, "frames": [10, 11, 12]}, {"id": 2, "frames": [14, 13, 12]}],
    "sites": [
      {"stack": 1, "tag": "phase/load", "source": "heap", "allocations": 4,
       "bytes_allocated": 4000, "live_blocks": 0, "live_bytes": 0, "peak_live_bytes": 4000,
       "median_lifetime_s": 0.25},
      {"stack": 2, "tag": "", "source": "mapped", "allocations": 1, "bytes_allocated": 1000,
       "live_blocks": 1, "live_bytes": 1000, "peak_live_bytes": 1000, "median_lifetime_s": null}],
    "tags": [{"tag": "phase/load", "allocations": 4, "bytes_allocated": 4000,
              "live_bytes": 0, "peak_live_bytes": 4000}],
    "leaks": [{"stack": 2, "tag": "", "kind": "direct", "blocks": 1, "bytes": 1000,
               "suppressed": false}],
    "long_lived": [],
    "peak": {"time": 0.5, "live_bytes": 4000,
             "sites": [{"stack": 1, "tag": "phase/load", "live_blocks": 4, "live_bytes": 4000}]},
    "timeline": [{"t": 0.1, "live_bytes": 100, "rss_bytes": 9000}],
    "trims": [], "errors": []
  })");
}

TEST(ReportPprof, WritesSampleTypesValuesAndTagLabels) {
  Message profile = Decode(RenderPprofProto(SampleReport()));
  const std::vector<std::string>& strings = profile.bytes[6];
  ASSERT_FALSE(strings.empty());
  EXPECT_EQ(strings[0], "") << "string_table[0] must be empty";
  auto str = [&](uint64_t index) { return index < strings.size() ? strings[index] : "<bad index>"; };

  std::vector<std::string> types;
  for (const Message& type : Repeated(profile, 1)) types.push_back(str(Varint(type, 1)) + "/" + str(Varint(type, 2)));
  EXPECT_EQ(types, (std::vector<std::string>{"alloc_objects/count", "alloc_space/bytes",
                                             "inuse_objects/count", "inuse_space/bytes"}));
  EXPECT_EQ(str(Varint(profile, 14)), "inuse_space");

  std::vector<Message> samples = Repeated(profile, 2);
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(Packed(samples[0], 2), (std::vector<uint64_t>{4, 4000, 0, 0}));
  EXPECT_EQ(Packed(samples[1], 2), (std::vector<uint64_t>{1, 1000, 1, 1000}));
  std::vector<Message> labels = Repeated(samples[0], 3);
  ASSERT_EQ(labels.size(), 1u);
  EXPECT_EQ(str(Varint(labels[0], 1)), "tag");
  EXPECT_EQ(str(Varint(labels[0], 2)), "phase/load");
  labels = Repeated(samples[1], 3);  // no tag, but mapped memory says so
  ASSERT_EQ(labels.size(), 1u);
  EXPECT_EQ(str(Varint(labels[0], 1)), "source");
  EXPECT_EQ(str(Varint(labels[0], 2)), "mapped");
}

TEST(ReportPprof, InlinedFramesAreLinesOfOneLocationInnermostFirst) {
  Message profile = Decode(RenderPprofProto(SampleReport()));
  const std::vector<std::string>& strings = profile.bytes[6];
  std::map<uint64_t, std::string> function_names;
  for (const Message& f : Repeated(profile, 5)) function_names[Varint(f, 1)] = strings.at(Varint(f, 2));
  std::map<uint64_t, Message> locations;
  for (const Message& l : Repeated(profile, 4)) locations[Varint(l, 1)] = l;
  std::map<uint64_t, std::string> mappings;
  std::vector<Message> mapping_list = Repeated(profile, 3);
  ASSERT_EQ(mapping_list.size(), 2u);
  EXPECT_EQ(strings.at(Varint(mapping_list[0], 5)), "/bin/app") << "the executable is mapping[0]";
  EXPECT_EQ(strings.at(Varint(mapping_list[0], 6)), "bb");
  EXPECT_EQ(Varint(mapping_list[0], 2), 0x1000u) << "memory_start: address - offset";
  for (const Message& m : mapping_list) mappings[Varint(m, 1)] = strings.at(Varint(m, 5));

  std::vector<uint64_t> stack = Packed(Repeated(profile, 2)[0], 1);
  ASSERT_EQ(stack.size(), 2u) << "Parse (inlined into Load) and Load share one location";
  const Message& leaf = locations.at(stack[0]);
  EXPECT_EQ(Varint(leaf, 3), 0x1010u);
  EXPECT_EQ(mappings.at(Varint(leaf, 2)), "/bin/app");
  std::vector<Message> lines = Repeated(leaf, 4);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(function_names.at(Varint(lines[0], 1)), "Parse");
  EXPECT_EQ(Varint(lines[0], 2), 5u);
  EXPECT_EQ(function_names.at(Varint(lines[1], 1)), "Load");
  EXPECT_EQ(Varint(lines[1], 2), 20u);
  EXPECT_EQ(function_names.at(Varint(Repeated(locations.at(stack[1]), 4)[0], 1)), "main");

  // The Python line: a location of its own, with no mapping or address.
  std::vector<uint64_t> python_stack = Packed(Repeated(profile, 2)[1], 1);
  ASSERT_EQ(python_stack.size(), 3u);
  const Message& python = locations.at(python_stack[1]);
  EXPECT_EQ(Varint(python, 2), 0u);
  EXPECT_EQ(Varint(python, 3), 0u);
  EXPECT_EQ(function_names.at(Varint(Repeated(python, 4)[0], 1)), "train");
  EXPECT_EQ(stack[1], python_stack[2]) << "main's call site is one location in both stacks";
}

TEST(ReportPprof, IsGzipped) {
  absl::StatusOr<std::string> profile = RenderPprof(SampleReport());
  ASSERT_TRUE(profile.ok()) << profile.status();
  ASSERT_GE(profile->size(), 18u);
  EXPECT_EQ(static_cast<uint8_t>((*profile)[0]), 0x1f);
  EXPECT_EQ(static_cast<uint8_t>((*profile)[1]), 0x8b);
}

TEST(ReportPprof, DamagedReportStillEncodes) {
  json report = SampleReport();
  report["frames"][1] = "not a frame";
  report["stacks"][0]["frames"].push_back(999);  // names no frame
  report["sites"].push_back(42);
  Message profile = Decode(RenderPprofProto(report));
  EXPECT_EQ(Repeated(profile, 2).size(), 2u);
}

TEST(ReportHtmlData, CallTreeMergesByNameOutermostFirst) {
  json page = HtmlPageData(SampleReport());
  const json& names = page["names"];
  std::vector<std::string> tree;  // "parent>name" per node, root excluded
  std::vector<int64_t> parent;
  for (size_t i = 0; i < page["np"].size(); ++i) parent.push_back(static_cast<int64_t>(i) - page["np"][i].get<int64_t>());
  for (size_t i = 1; i < parent.size(); ++i) {
    std::string parent_name = parent[i] == 0 ? "root" : names[page["nn"][parent[i]].get<int>()].get<std::string>();
    tree.push_back(parent_name + ">" + names[page["nn"][i].get<int>()].get<std::string>());
  }
  EXPECT_EQ(tree, (std::vector<std::string>{"root>main", "main>Load", "Load>Parse",
                                            "main>train (train.py:12)", "train (train.py:12)>operator</script>"}));
  EXPECT_EQ(page["sites"]["at_peak"], json({4000, 0}));
  EXPECT_EQ(page["sites"]["mapped"], json({0, 1}));
  EXPECT_EQ(page["peak"]["live_bytes"], json({4000}));
  EXPECT_EQ(page["peak"]["total_bytes"], 4000);
  EXPECT_EQ(page["leaks"]["kind"], json({"direct"}));
  EXPECT_EQ(page["locs"][page["sites"]["loc"][0].get<int>()], "app.cc:5");
}

TEST(ReportHtml, PageIsSelfContainedAndEscapesNames) {
  std::string page = RenderHtml(SampleReport());
  EXPECT_NE(page.find("default-src 'none'"), std::string::npos);
  EXPECT_NE(page.find("<title>heapwarden: ./app --x</title>"), std::string::npos);
  EXPECT_EQ(page.find("operator</script>"), std::string::npos) << "a name closed the data's script";
  EXPECT_NE(page.find("operator\\u003c/script>"), std::string::npos);
  size_t scripts = 0;
  for (size_t at = page.find("</script>"); at != std::string::npos; at = page.find("</script>", at + 1)) ++scripts;
  EXPECT_EQ(scripts, 2u) << "the data's and the code's";
  EXPECT_EQ(page.find("{{DATA}}"), std::string::npos);
  EXPECT_EQ(page.find("/*{{JS}}*/"), std::string::npos);
}


}  // namespace
}  // namespace heapwarden::report
