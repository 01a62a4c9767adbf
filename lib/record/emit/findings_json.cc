// findings_json.cc: the report's sections of what was found wrong -- "leaks" (the
// exit-time classification), "leak_scan" and "errors" (the free checks). See
// report_sections.h.
#include "record/emit/json_buffer.h"
#include "record/emit/report_sections.h"
#include "record/leaks/leak_classifier.h"
#include "record/track/free_checker.h"
#include "record/track/recorder.h"

namespace heapwarden::internal {

void WriteLeaksJson(JsonBuffer& j, Recorder& recorder, const LeakClassification* c) {
  SiteTable& sites = recorder.sites();
  TagTable& tags = recorder.tags();
  static constexpr const char* kKindNames[kLeakKinds] = {"direct", "indirect", "reachable"};
  const uint32_t site_count = c != nullptr ? c->site_count : sites.site_count();
  for (uint32_t id = 0; id < site_count; ++id) {
    const Site& s = sites.site(id);
    if (s.source != kSourceHeap) continue;
    if (c == nullptr) {
      uint64_t blocks = s.live_blocks();
      if (blocks == 0) continue;
      j.BeginObject();
      j.Uint("stack", s.stack_id);
      j.String("tag", tags.path(s.tag_id));
      j.String("kind", "unclassified");
      j.Uint("blocks", blocks);
      j.Uint("bytes", s.live_bytes());
      j.Bool("suppressed", false);
      j.EndObject();
      continue;
    }
    for (int kind = 0; kind < kLeakKinds; ++kind) {
      const LeakCounts& counts = c->at(id, static_cast<LeakKind>(kind));
      if (counts.blocks == 0) continue;
      j.BeginObject();
      j.Uint("stack", s.stack_id);
      j.String("tag", tags.path(s.tag_id));
      j.String("kind", kKindNames[kind]);
      j.Uint("blocks", counts.blocks);
      j.Uint("bytes", counts.bytes);
      j.Bool("suppressed", false);
      j.EndObject();
    }
  }
}

void WriteLeakScanJson(JsonBuffer& j, const LeakClassification* c) {
  if (c == nullptr) return;
  j.BeginObject("leak_scan");
  j.Uint("threads", c->threads);
  j.Uint("threads_not_stopped", c->threads_not_stopped);
  j.Uint("blocks", c->blocks);
  j.Uint("block_bytes", c->block_bytes);
  j.Uint("root_bytes", c->root_bytes);
  j.Uint("scanned_bytes", c->scanned_bytes);
  j.Seconds("stopped_s", static_cast<double>(c->stopped_ns) / 1e9);
  j.Seconds("total_s", static_cast<double>(c->total_ns) / 1e9);
  j.Seconds("cpu_s", static_cast<double>(c->cpu_ns) / 1e9);
  j.EndObject();
}

void WriteErrorsJson(JsonBuffer& j, Recorder& recorder) {
  FreeError copy[kMaxFreeErrors];
  const int n = CopyFreeErrors(copy, kMaxFreeErrors);
  for (int i = 0; i < n; ++i) {
    const FreeError& e = copy[i];
    j.BeginObject();
    j.String("kind", FreeErrorName(e.kind));
    j.Hex("address", e.address);
    j.Uint("stack", e.stack);
    if (e.kind == kDoubleFree && e.has_other) j.Uint("first_free_stack", e.other_stack);
    if (e.kind == kMismatchedFree) {
      j.Uint("allocation_stack", e.other_stack);
      j.String("allocated_by", AllocatedByName(e.allocated_by));
    }
    j.String("freed_by", FreedByName(e.freed_by));
    j.Uint("count", e.count);
    j.EndObject();
  }
}

}  // namespace heapwarden::internal
