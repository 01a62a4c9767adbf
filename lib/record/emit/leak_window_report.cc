// leak_window_report.cc: see leak_window_report.h. Record side.
//
// The layout is the report's (version 2, stack_tables.h); only the sections
// `heapwarden check` needs are filled.
#include "record/emit/leak_window_report.h"

#include <unistd.h>

#include <cerrno>

#include "record/emit/json_buffer.h"
#include "record/emit/stack_tables.h"
#include "record/leaks/leak_classifier.h"
#include "record/base/mmap_arena.h"
#include "record/track/recorder.h"
#include "common/atomic_file.h"
#include "common/report_format.h"

namespace heapwarden::internal {
namespace {

bool SiteLeaks(const LeakClassification& c, uint32_t site) {
  return c.at(site, kLeakDirect).blocks > 0 || c.at(site, kLeakIndirect).blocks > 0;
}

}  // namespace

int WriteLeakWindowReport(Recorder& r, const LeakClassification& c, const char* path) {
  SiteTable& sites = r.sites();
  TagTable& tags = r.tags();
  uint64_t blocks = 0;
  uint64_t bytes = 0;
  for (uint32_t id = 0; id < c.site_count; ++id) {
    for (LeakKind kind : {kLeakDirect, kLeakIndirect}) {
      blocks += c.at(id, kind).blocks;
      bytes += c.at(id, kind).bytes;
    }
  }

  JsonBuffer j;
  j.BeginObject();
  j.String("format", kReportFormat);
  j.Uint("version", kReportVersion);
  j.BeginObject("process");
  j.Int("pid", getpid());
  j.BeginArray("argv");
  j.EndArray();
  char exe[4096];
  ssize_t exe_len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  j.StringN("exe", exe, exe_len > 0 ? static_cast<size_t>(exe_len) : 0);
  j.String("mode", "exact");
  j.Bool("complete", true);
  j.EndObject();

  // What the window leaked is all this report knows of the process.
  j.BeginObject("totals");
  j.Uint("allocations", blocks);
  j.Uint("frees", 0);
  j.Uint("bytes_allocated", bytes);
  j.Uint("live_blocks", blocks);
  j.Uint("live_bytes", bytes);
  j.EndObject();

  // A stack may be shared by several sites (one per tag): written once.
  const uint32_t stack_count = sites.stack_count();
  const size_t used_bytes = stack_count / 8 + 1;
  auto* used = static_cast<uint8_t*>(MapPages(used_bytes));
  if (used == nullptr) return ENOMEM;
  for (uint32_t id = 0; id < c.site_count; ++id) {
    const uint32_t stack_id = sites.site(id).stack_id;
    if (SiteLeaks(c, id) && stack_id < stack_count) used[stack_id / 8] |= 1 << (stack_id % 8);
  }
  const bool tables_written = WriteStackTablesJson(j, r, stack_count, /*include_zero=*/true, used);
  UnmapPages(used, used_bytes);
  if (!tables_written) return ENOMEM;

  j.BeginArray("sites");
  for (uint32_t id = 0; id < c.site_count; ++id) {
    if (!SiteLeaks(c, id)) continue;
    const Site& s = sites.site(id);
    const LeakCounts& direct = c.at(id, kLeakDirect);
    const LeakCounts& indirect = c.at(id, kLeakIndirect);
    j.BeginObject();
    j.Uint("stack", s.stack_id);
    j.String("tag", tags.path(s.tag_id));
    j.String("source", "heap");
    j.Uint("allocations", direct.blocks + indirect.blocks);
    j.Uint("bytes_allocated", direct.bytes + indirect.bytes);
    j.Uint("live_blocks", direct.blocks + indirect.blocks);
    j.Uint("live_bytes", direct.bytes + indirect.bytes);
    j.EndObject();
  }
  j.EndArray();

  j.BeginArray("leaks");
  for (uint32_t id = 0; id < c.site_count; ++id) {
    const Site& s = sites.site(id);
    for (LeakKind kind : {kLeakDirect, kLeakIndirect}) {
      const LeakCounts& counts = c.at(id, kind);
      if (counts.blocks == 0) continue;
      j.BeginObject();
      j.Uint("stack", s.stack_id);
      j.String("tag", tags.path(s.tag_id));
      j.String("kind", kind == kLeakDirect ? "direct" : "indirect");
      j.Uint("blocks", counts.blocks);
      j.Uint("bytes", counts.bytes);
      j.Bool("suppressed", false);
      j.EndObject();
    }
  }
  j.EndArray();

  j.BeginObject("heapwarden");
  j.Bool("symbolized", false);
  j.String("options", r.options_text());
  j.String("window", "leak check window (leak_check.h)");
  j.EndObject();
  j.EndObject();
  j.Newline();
  if (!j.ok()) return ENOMEM;
  return WriteFileAtomically(path, j.data(), j.size());
}

}  // namespace heapwarden::internal
