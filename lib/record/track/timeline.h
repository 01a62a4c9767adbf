// timeline.h: live heap bytes, RSS and the largest tags over the run, sampled every
// timeline_ms (the service thread's timeline task, service/tasks.h), in memory that does not grow with run length.
// The service thread, or the allocation path before that thread starts (service_thread.h), and report time: a fixed array of kMaxSamples. When it fills, neighbouring samples are
// merged pairwise (the one with more live bytes survives, so peaks are never lost) and
// the sampling stride doubles: a run of any length keeps between kMaxSamples/2 and
// kMaxSamples evenly spaced points. Between stored points, the sample with the most
// live bytes of its window is the one kept. One spin lock, held for a copy: by the
// service thread, the report writer, and -- once per timeline_ms, before the service
// thread starts -- one allocating thread.
#ifndef HEAPWARDEN_LIB_RECORD_TRACK_TIMELINE_H_
#define HEAPWARDEN_LIB_RECORD_TRACK_TIMELINE_H_

#include <cstdint>

#include "record/base/spin_lock.h"

namespace heapwarden::internal {

class Recorder;

inline constexpr int kTimelineTopTags = 3;

struct TimelineSample {
  uint64_t time_ns;
  uint64_t live_bytes;
  uint64_t rss_bytes;
  // The tags with the most live bytes at that moment, largest first; id 0 ends the list.
  uint32_t tag_ids[kTimelineTopTags];
  uint64_t tag_live_bytes[kTimelineTopTags];
};

class Timeline {
 public:
  static constexpr int kMaxSamples = 2048;

  // Adds one sample (the service thread's tick). Thread-safe.
  void Add(const TimelineSample& sample);

  // Copies the stored samples, and the best of the window in progress, oldest first,
  // into out[0, max); returns how many. Thread-safe; returns 0 rather than wait long
  // for a lock holder that does not run.
  int Copy(TimelineSample* out, int max);

  // The process at exit, kept apart from the periodic samples and listed after them:
  // a run shorter than one interval still gets a point, and every timeline ends where
  // the report does.
  void SetFinal(const TimelineSample& sample);

  // Ticks per stored sample: 1 until the first merge, then 2, 4, ...
  uint32_t stride() const { return __atomic_load_n(&stride_, __ATOMIC_RELAXED); }

  void ResetAfterFork() { lock_.ResetAfterFork(); }

 private:
  SpinLock lock_;
  int count_ ABSL_GUARDED_BY(lock_) = 0;
  // Written under the lock; stride() reads it without (a relaxed atomic load).
  uint32_t stride_ = 1;
  uint32_t window_ticks_ ABSL_GUARDED_BY(lock_) = 0;  // ticks folded into pending_ so far
  TimelineSample pending_ ABSL_GUARDED_BY(lock_) = {};
  TimelineSample samples_[kMaxSamples] ABSL_GUARDED_BY(lock_) = {};
  bool has_final_ ABSL_GUARDED_BY(lock_) = false;
  TimelineSample final_ ABSL_GUARDED_BY(lock_) = {};
};

// Fills a sample of the process now: live heap bytes, `rss_bytes`, and the top tags.
void TakeTimelineSample(Recorder& recorder, uint64_t now_ns, uint64_t rss_bytes,
                        TimelineSample* out);


}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_TRACK_TIMELINE_H_
