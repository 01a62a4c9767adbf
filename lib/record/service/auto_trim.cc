// auto_trim.cc: see auto_trim.h. Record side.
#include "record/service/auto_trim.h"

#include "record/emit/memory_view.h"
#include "record/base/options.h"
#include "record/track/recorder.h"
#include "record/service/service_thread.h"

namespace heapwarden::internal {
namespace {

AutoTrimState g_state;

}  // namespace

bool AutoTrimDue(const AutoTrimPolicy& policy, AutoTrimState* state, uint64_t now_ns,
                 uint64_t trimmable_bytes) {
  if (trimmable_bytes <= policy.threshold_bytes) {
    state->ticks_above = 0;
    state->backoff_shift = 0;
    return false;
  }
  if (state->ticks_above < policy.ticks_above) ++state->ticks_above;
  if (state->ticks_above < policy.ticks_above) return false;
  if (state->trimmed) {
    uint64_t wait = policy.interval_ns << state->backoff_shift;
    if (now_ns - state->last_trim_ns < wait) return false;
  }
  return true;
}

void AutoTrimDone(const AutoTrimPolicy& policy, AutoTrimState* state, uint64_t now_ns,
                  uint64_t released_bytes) {
  state->trimmed = true;
  state->last_trim_ns = now_ns;
  state->ticks_above = 0;
  if (released_bytes < policy.threshold_bytes / 4) {
    if (state->backoff_shift < kMaxAutoTrimBackoffShift) ++state->backoff_shift;
  } else {
    state->backoff_shift = 0;
  }
}

AutoTrimPolicy AutoTrimPolicyFromOptions(const Options& options) {
  AutoTrimPolicy policy;
  policy.threshold_bytes = static_cast<uint64_t>(options.trim_retained_mb) << 20;
  double interval = options.trim_interval_s;
  if (interval < 0.001) interval = 0.001;
  if (interval > 86400.0) interval = 86400.0;
  policy.interval_ns = static_cast<uint64_t>(interval * 1e9);
  return policy;
}

bool AutoTrimTick(Recorder& recorder, uint64_t now_ns, uint64_t rss_bytes) {
  if (recorder.options().trim != kTrimAuto) return false;
  const AutoTrimPolicy policy = AutoTrimPolicyFromOptions(recorder.options());
  MemoryView view;
  ReadMemoryView(recorder, ViewDetail::kCheap, rss_bytes, &view);
  if (!AutoTrimDue(policy, &g_state, now_ns, view.trimmable_bytes)) return false;
  TrimRecord trim = recorder.Trim(kTrimTriggerAuto);
  uint64_t released = trim.rss_before > trim.rss_after ? trim.rss_before - trim.rss_after : 0;
  AutoTrimDone(policy, &g_state, now_ns, released);
  return true;
}

void AutoTrimTask(Recorder& recorder, const ServiceTick& tick) {
  AutoTrimTick(recorder, tick.now_ns, tick.rss_bytes);
}

void RegisterAutoTrimTask(const Options& options) {
  if (options.trim != kTrimAuto) return;
  // Two ticks above the threshold make a trim due: tick at most every half second,
  // and often enough that the interval is what limits the rate.
  double half_interval_ms = options.trim_interval_s * 500.0;
  uint32_t period_ms = 500;
  if (half_interval_ms < period_ms) period_ms = half_interval_ms < 50 ? 50 : static_cast<uint32_t>(half_interval_ms);
  RegisterServiceTask({"auto_trim", period_ms, AutoTrimTask});
}

}  // namespace heapwarden::internal
