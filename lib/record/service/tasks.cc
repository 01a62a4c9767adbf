// tasks.cc: see tasks.h.
#include "record/service/tasks.h"

#include "record/base/options.h"
#include "record/emit/json_buffer.h"
#include "record/service/auto_trim.h"
#include "record/service/service_thread.h"
#include "record/service/snapshot_writer.h"
#include "record/track/recorder.h"
#include "record/track/timeline.h"

namespace heapwarden::internal {
namespace {

// Before the service thread starts, the allocation path takes the timeline's samples
// itself: a read of /proc/self/statm and the timeline's short lock.
bool TimelineInline(Recorder& recorder, const ServiceTick& tick) {
  TimelineTask(recorder, tick);
  return false;
}

}  // namespace

void RegisterServiceTasks(const Options& options) {
  // The high-water check reads RSS (a /proc read of a few microseconds): often enough
  // to catch a fast climb, and at least as often as the timeline samples.
  uint32_t high_water_ms = 50;
  if (options.timeline_ms > 0 && options.timeline_ms < high_water_ms) {
    high_water_ms = static_cast<uint32_t>(options.timeline_ms);
  }
  if (options.timeline_ms > 0) {
    uint64_t ms = static_cast<uint64_t>(options.timeline_ms);
    RegisterServiceTask(
        {"timeline", static_cast<uint32_t>(ms > 3600000 ? 3600000 : ms), TimelineTask, TimelineInline});
  }
  if (options.snapshot_s > 0) {
    double ms = options.snapshot_s * 1000.0;
    if (ms < 1) ms = 1;
    if (ms > 86400000.0) ms = 86400000.0;
    RegisterServiceTask({"snapshot", static_cast<uint32_t>(ms), PeriodicSnapshotTask});
  }
  if (options.high_water_pct > 0) {
    RegisterServiceTask({"high_water", high_water_ms, HighWaterTask, HighWaterCrossed});
  }
  RegisterAutoTrimTask(options);  // trim=auto
}

void TimelineTask(Recorder& recorder, const ServiceTick& tick) {
  TimelineSample sample;
  TakeTimelineSample(recorder, tick.now_ns, tick.rss_bytes, &sample);
  recorder.timeline().Add(sample);
}

void WriteServiceFiguresJson(JsonBuffer& j, Recorder& recorder) {
  j.Uint("memory_limit_bytes", MemoryLimitBytes());
  char source[512];
  CopyMemoryLimitSource(source, sizeof(source));
  j.String("memory_limit_source", source);
  j.Uint("high_water_bytes", HighWaterBytes());
  j.Uint("snapshots", SnapshotsWritten());
  j.Uint("high_water_snapshots", HighWaterSnapshots());
  j.String("control_socket", ControlSocketPathInUse());
}

}  // namespace heapwarden::internal
