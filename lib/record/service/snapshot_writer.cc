// snapshot_writer.cc: see snapshot_writer.h. Record side.
#include "record/service/snapshot_writer.h"

#include <cerrno>
#include <cstring>

#include "record/base/log.h"
#include "record/emit/heap_totals.h"
#include "record/service/memory_limit.h"
#include "record/track/recorder.h"
#include "record/emit/report_writer.h"
#include "record/service/service_thread.h"

namespace heapwarden::internal {
namespace {

// Only the service thread writes these; the report writer reads them.
std::atomic<uint64_t> g_limit_bytes{0};
std::atomic<uint64_t> g_high_water_bytes{0};
std::atomic<uint64_t> g_snapshots{0};
std::atomic<uint64_t> g_high_water_snapshots{0};
MemoryLimit g_limit;           // service thread only
char g_limit_source[512] = {};  // published copy, under g_source_lock
SpinLock g_source_lock;
uint64_t g_limit_read_ns = 0;  // when g_limit was last read
bool g_limit_known = false;
uint64_t g_next_snapshot_rss = 0;  // 0: armed at the mark itself

// What the last periodic snapshot showed, to tell whether the next would say anything
// new. Service thread only.
struct SnapshotStamp {
  uint64_t allocations;
  uint64_t frees;
  uint64_t mapped_live_bytes;
  uint32_t stacks;
  int trims;
  uint64_t rss_bytes;
};
SnapshotStamp g_last_stamp{};
bool g_last_stamp_valid = false;

// RSS moves a little with nothing allocated (page cache, the kernel's accounting):
// within this much it is the same state.
constexpr uint64_t kSameRssBytes = 1 << 20;

SnapshotStamp StampOf(Recorder& recorder, const ServiceTick& tick) {
  const HeapTotals totals(recorder);
  return SnapshotStamp{totals.allocations(),          totals.frees(),
                       totals.mapped_live_bytes(),    recorder.sites().stack_count(),
                       recorder.trim_count(),         tick.rss_bytes};
}

bool SameState(const SnapshotStamp& a, const SnapshotStamp& b) {
  const uint64_t rss_change = a.rss_bytes > b.rss_bytes ? a.rss_bytes - b.rss_bytes : b.rss_bytes - a.rss_bytes;
  return a.allocations == b.allocations && a.frees == b.frees &&
         a.mapped_live_bytes == b.mapped_live_bytes && a.stacks == b.stacks && a.trims == b.trims &&
         rss_change < kSameRssBytes;
}

// The limit is re-read every second: a program may be moved into a cgroup, or have
// its limit changed, while it runs.
constexpr uint64_t kLimitRefreshNs = 1000000000ull;

}  // namespace

int WriteOutputSnapshot(Recorder& recorder) {
  SpinLockHolder hold(recorder.report_lock());
  if (recorder.final_report_written()) return ECANCELED;
  char path[4096 + 64];
  recorder.OutputPath(path, sizeof(path));
  int err = WriteReportFile(recorder, path, /*complete=*/false, /*exit_status=*/nullptr);
  if (err == 0) g_snapshots.fetch_add(1, std::memory_order_relaxed);
  return err;
}

void PeriodicSnapshotTask(Recorder& recorder, const ServiceTick& tick) {
  // An idle process (a notebook kernel between cells, a server waiting) would rewrite
  // the same report every snapshot_s for hours: the file on disk already says it.
  const SnapshotStamp stamp = StampOf(recorder, tick);
  if (g_last_stamp_valid && SameState(stamp, g_last_stamp)) return;
  int err = WriteOutputSnapshot(recorder);
  if (err != 0 && err != ECANCELED) Warn("cannot write a snapshot (errno %d)", err);
  g_last_stamp = stamp;
  g_last_stamp_valid = err == 0;
}

bool HighWaterCrossed(Recorder& recorder, const ServiceTick& tick) {
  const int64_t pct = recorder.options().high_water_pct;
  if (pct <= 0) return false;
  if (!g_limit_known || tick.now_ns - g_limit_read_ns >= kLimitRefreshNs) {
    g_limit = ReadMemoryLimit();
    g_limit_read_ns = tick.now_ns;
    g_limit_known = true;
    {
      SpinLockHolder hold(g_source_lock);
      memcpy(g_limit_source, g_limit.source, sizeof(g_limit_source));
    }
    g_limit_bytes.store(g_limit.bytes, std::memory_order_relaxed);
    const uint64_t mark = g_limit.bytes / 100 * static_cast<uint64_t>(pct > 100 ? 100 : pct);
    g_high_water_bytes.store(mark, std::memory_order_relaxed);
  }
  const uint64_t mark = g_high_water_bytes.load(std::memory_order_relaxed);
  if (mark == 0) return false;
  if (tick.rss_bytes < mark) {
    // Re-arm once clearly below the mark again.
    if (tick.rss_bytes < mark - mark / 20) g_next_snapshot_rss = 0;
    return false;
  }
  return tick.rss_bytes >= g_next_snapshot_rss;
}

void HighWaterTask(Recorder& recorder, const ServiceTick& tick) {
  if (!HighWaterCrossed(recorder, tick)) return;
  // Crossed: write now. While RSS keeps climbing, write again each time it gains
  // another 2.5% of the limit, so the last snapshot before an OOM kill is close to it.
  int err = WriteOutputSnapshot(recorder);
  if (err == 0) g_high_water_snapshots.fetch_add(1, std::memory_order_relaxed);
  g_next_snapshot_rss = tick.rss_bytes + g_limit.bytes / 40;
}

void ResetSnapshotWriterAfterFork() {
  g_source_lock.ResetAfterFork();
  g_last_stamp_valid = false;  // the child's output path has no snapshot yet
}

uint64_t MemoryLimitBytes() { return g_limit_bytes.load(std::memory_order_relaxed); }

void CopyMemoryLimitSource(char* out, size_t size) {
  if (size == 0) return;
  SpinLockHolder hold(g_source_lock);
  size_t n = strnlen(g_limit_source, sizeof(g_limit_source) - 1);
  if (n >= size) n = size - 1;
  memcpy(out, g_limit_source, n);
  out[n] = '\0';
}

uint64_t HighWaterBytes() { return g_high_water_bytes.load(std::memory_order_relaxed); }
uint64_t SnapshotsWritten() { return g_snapshots.load(std::memory_order_relaxed); }
uint64_t HighWaterSnapshots() { return g_high_water_snapshots.load(std::memory_order_relaxed); }

}  // namespace heapwarden::internal
