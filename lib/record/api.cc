// api.cc: the public C API (include/heapwarden/heapwarden.h) over the recorder,
// exported by the preload and by libheapwarden.
// Record side: tag push/pop run on the program's threads and stay cheap; trim,
// snapshot and stats are slower and say so in the header.
#define HEAPWARDEN_NO_INLINE_API
#include "heapwarden/heapwarden.h"

#include <cstring>

#include "record/base/proc_stats.h"
#include "record/base/tool_runner.h"
#include "record/track/recorder.h"
#include "record/base/thread_state.h"

using heapwarden::internal::RecursionGuard;
using heapwarden::internal::t_state;
using heapwarden::internal::TagTable;
using heapwarden::internal::TheRecorder;

#define HW_EXPORT extern "C" __attribute__((visibility("default")))

// Defined by the interposition glue (preload/lifecycle.cc), which owns start-up; weak
// so that the record library links alone (unit tests), where the table then has none.
extern "C" int heapwarden_start(const char* options) __attribute__((weak));

namespace {

constexpr uint32_t kMaxTagDepth = sizeof(t_state.tag_parents) / sizeof(t_state.tag_parents[0]);

}  // namespace

HW_EXPORT int heapwarden_active(void) { return TheRecorder().active() ? 1 : 0; }

HW_EXPORT void heapwarden_tag_push(const char* tag) {
  auto& recorder = TheRecorder();
  if (!recorder.active()) return;
  RecursionGuard guard;
  uint32_t depth = t_state.tag_depth++;
  if (depth >= kMaxTagDepth) return;  // too deep: counted, not applied
  t_state.tag_parents[depth] = t_state.tag_id;
  t_state.tag_id = recorder.tags().Intern(t_state.tag_id, tag);
}

HW_EXPORT void heapwarden_tag_pop(void) {
  if (t_state.tag_depth == 0) return;
  uint32_t depth = --t_state.tag_depth;
  if (depth < kMaxTagDepth) t_state.tag_id = t_state.tag_parents[depth];
}

HW_EXPORT heapwarden_trim_result heapwarden_trim(void) {
  auto& recorder = TheRecorder();
  heapwarden_trim_result result = {0, 0, 0, 0};
  if (!recorder.active()) return result;
  RecursionGuard guard;
  auto trim = recorder.Trim(heapwarden::internal::kTrimTriggerApi);
  result.rss_before = trim.rss_before;
  result.rss_after = trim.rss_after;
  result.released_bytes = trim.rss_before > trim.rss_after ? trim.rss_before - trim.rss_after : 0;
  result.ok = 1;
  return result;
}

HW_EXPORT int heapwarden_snapshot(const char* path) {
  auto& recorder = TheRecorder();
  if (!recorder.active() || path == nullptr) return -1;
  RecursionGuard guard;
  if (recorder.WriteReport(path, /*complete=*/false) != 0) return -1;
  // A snapshot the program asks for is read by a person, as the exit report is: it gets
  // function names the same way, from `heapwarden symbolize` in a helper process
  // (tool_runner.h). This thread is the program's own, outside every hook, so it may
  // spawn and wait. When the tool cannot run (it says why on stderr), the raw snapshot
  // stays: every heapwarden command still reads it, and names it when it does.
  const char* args[] = {"symbolize", path, nullptr};
  heapwarden::internal::RunTool(args, -1, -1);
  return 0;
}

HW_EXPORT int heapwarden_stats(struct heapwarden_stats* out) {
  memset(out, 0, sizeof(*out));
  auto& recorder = TheRecorder();
  if (!recorder.active()) return -1;
  RecursionGuard guard;
  recorder.FillStats(out);
  return 0;
}

HW_EXPORT int heapwarden_tag_stats(const char* tag, uint64_t* live_bytes,
                                   uint64_t* peak_live_bytes) {
  *live_bytes = 0;
  *peak_live_bytes = 0;
  auto& recorder = TheRecorder();
  if (!recorder.active() || tag == nullptr) return -1;
  TagTable& tags = recorder.tags();
  for (uint32_t id = 1; id < tags.size(); ++id) {
    if (strcmp(tags.path(id), tag) == 0) {
      *live_bytes = tags.stats(id).live_bytes.load(std::memory_order_relaxed);
      *peak_live_bytes = tags.stats(id).peak_live_bytes.load(std::memory_order_relaxed);
      return 0;
    }
  }
  return -1;
}

HW_EXPORT int heapwarden_tag_figures(const char* tag, struct heapwarden_tag_figures* out) {
  memset(out, 0, sizeof(*out));
  auto& recorder = TheRecorder();
  if (!recorder.active() || tag == nullptr) return -1;
  TagTable& tags = recorder.tags();
  for (uint32_t id = 1; id < tags.size(); ++id) {
    if (strcmp(tags.path(id), tag) == 0) {
      out->live_bytes = tags.stats(id).live_bytes.load(std::memory_order_relaxed);
      out->peak_live_bytes = tags.stats(id).peak_live_bytes.load(std::memory_order_relaxed);
      out->total_live_bytes = tags.total_live_bytes(id);
      out->total_peak_live_bytes =
          tags.stats(id).total_peak_live_bytes.load(std::memory_order_relaxed);
      return 0;
    }
  }
  return -1;
}

HW_EXPORT const heapwarden_api_v1* heapwarden_get_api_v1(void) {
  static const heapwarden_api_v1 kApi = {
      sizeof(heapwarden_api_v1), heapwarden_active, heapwarden_tag_push, heapwarden_tag_pop,
      heapwarden_trim,           heapwarden_snapshot, heapwarden_stats,  heapwarden_tag_stats,
      heapwarden_start,          heapwarden_tag_figures,
  };
  return &kApi;
}
