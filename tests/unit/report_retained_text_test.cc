// report_retained_text_test.cc: the retained-memory lines of the summary
// (lib/report/retained_text.h): the breakdown, pymalloc arenas found by function or by
// module, and the trims line.

#include "report/retained_text.h"

#include <gtest/gtest.h>

#include <sstream>

#include "report_test_util.h"

namespace heapwarden::report {
namespace {

using nlohmann::json;

constexpr int64_t kMiB = 1 << 20;

json Report() {
  return json::parse(R"({
    "totals": {"retained_bytes": 104857600, "mapped_bytes": 62914560,
               "mapped_resident_bytes": 52428800, "peak_mapped_bytes": 209715200,
               "allocator_free_bytes": 94371840, "trimmable_bytes": 83886080},
    "stacks": [
      {"id": 1, "frames": [{"address": "0x1", "module": "/usr/bin/python3.11", "offset": 1, "function": "??"},
                           {"address": "0x5", "module": "/usr/bin/python3.11", "offset": 5, "function": "PyTuple_New"}]},
      {"id": 2, "frames": [{"address": "0x2", "module": "/usr/lib/libpython3.11.so.1.0", "offset": 2,
                            "function": "_PyObject_ArenaMmap"},
                           {"address": "0x3", "module": "/usr/lib/libpython3.11.so.1.0", "offset": 3,
                            "function": "new_arena"}]},
      {"id": 3, "frames": [{"address": "0x4", "module": "/usr/lib/libopenblas.so.0", "offset": 4,
                            "function": "blas_memory_alloc"}]}
    ],
    "sites": [
      {"stack": 1, "source": "mapped", "live_bytes": 10485760, "peak_live_bytes": 104857600},
      {"stack": 2, "source": "mapped", "live_bytes": 20971520, "peak_live_bytes": 157286400},
      {"stack": 3, "source": "mapped", "live_bytes": 31457280, "peak_live_bytes": 31457280},
      {"stack": 1, "source": "heap", "live_bytes": 5, "peak_live_bytes": 5}
    ],
    "trims": [
      {"t": 1.0, "trigger": "api", "rss_before": 10, "rss_after": 5, "released_bytes": 5},
      {"t": 2.0, "trigger": "auto", "rss_before": 104857600, "rss_after": 52428800, "released_bytes": 52428800}
    ]
  })");
}

TEST(RetainedText, FindsPymallocArenasByFunctionAndByModule) {
  PymallocArenas arenas = FindPymallocArenas(Upgraded(Report()));
  EXPECT_EQ(arenas.live_bytes, 30 * kMiB);            // not the OpenBLAS mapping
  EXPECT_EQ(arenas.peak_bytes, 200 * kMiB);           // 250 MiB of site peaks, capped
}

TEST(RetainedText, SaysWhatRetainedIsMadeOfAndSuggestsTheFlag) {
  std::ostringstream out;
  RenderRetained(Upgraded(Report()), out);
  const std::string text = out.str();
  EXPECT_NE(text.find("retained     100.0 MiB not in live blocks: up to 80.0 MiB free in the allocator"),
            std::string::npos) << text;
  EXPECT_NE(text.find("program's own mappings 50.0 MiB"), std::string::npos) << text;
  EXPECT_NE(text.find("pymalloc     30.0 MiB in CPython's pymalloc arenas (at most 200.0 MiB)"),
            std::string::npos) << text;
  EXPECT_NE(text.find("--python-malloc"), std::string::npos) << text;
  EXPECT_NE(text.find("trims        2, released 50.0 MiB (api 1, auto 1)"), std::string::npos) << text;
}

TEST(RetainedText, QuietForASmallProcess) {
  json report = json::parse(R"({"totals": {"retained_bytes": 4096, "mapped_bytes": 0}})");
  std::ostringstream out;
  RenderRetained(report, out);
  EXPECT_EQ(out.str(), "");
}

}  // namespace
}  // namespace heapwarden::report
