// timeline.cc: see timeline.h. Record side.
#include "record/track/timeline.h"

#include <sched.h>

#include "record/track/recorder.h"

namespace heapwarden::internal {

void Timeline::Add(const TimelineSample& sample) {
  SpinLockHolder hold(lock_);
  if (window_ticks_ == 0 || sample.live_bytes > pending_.live_bytes) pending_ = sample;
  if (++window_ticks_ < stride_) return;
  if (count_ == kMaxSamples) {
    // Halve the resolution: keep the larger of each pair, in order.
    for (int i = 0; i < kMaxSamples / 2; ++i) {
      const TimelineSample& a = samples_[2 * i];
      const TimelineSample& b = samples_[2 * i + 1];
      samples_[i] = b.live_bytes > a.live_bytes ? b : a;
    }
    count_ = kMaxSamples / 2;
    __atomic_store_n(&stride_, stride_ * 2, __ATOMIC_RELAXED);
  }
  samples_[count_++] = pending_;
  window_ticks_ = 0;
}

void Timeline::SetFinal(const TimelineSample& sample) {
  SpinLockHolder hold(lock_);
  final_ = sample;
  has_final_ = true;
}

int Timeline::Copy(TimelineSample* out, int max) {
  // Bounded: the service thread may be stopped (the exit-time leak scan stops threads)
  // inside Add with the lock held; a report then goes without a timeline rather than
  // wait for ever.
  if (!lock_.TryLockBounded(10000)) return 0;
  int n = 0;
  for (int i = 0; i < count_ && n < max; ++i) out[n++] = samples_[i];
  if (window_ticks_ > 0 && n < max) out[n++] = pending_;
  if (has_final_ && n < max) out[n++] = final_;
  lock_.Unlock();
  return n;
}

void TakeTimelineSample(Recorder& recorder, uint64_t now_ns, uint64_t rss_bytes,
                        TimelineSample* out) {
  *out = TimelineSample{};
  out->time_ns = now_ns;
  out->live_bytes = recorder.live_bytes();
  out->rss_bytes = rss_bytes;
  // Top tags by live bytes: a partial insertion sort over a few thousand atomics.
  TagTable& tags = recorder.tags();
  const uint32_t count = tags.size();
  for (uint32_t id = 1; id < count; ++id) {
    const uint64_t live = tags.stats(id).live_bytes.load(std::memory_order_relaxed);
    // Live bytes of a tag can dip below zero for an instant (a free counted before
    // the allocation's own bookkeeping finished): treat huge values as zero.
    if (live == 0 || live > (uint64_t{1} << 62)) continue;
    int slot = kTimelineTopTags;
    while (slot > 0 && (out->tag_ids[slot - 1] == 0 || out->tag_live_bytes[slot - 1] < live)) --slot;
    if (slot >= kTimelineTopTags) continue;
    for (int k = kTimelineTopTags - 1; k > slot; --k) {
      out->tag_ids[k] = out->tag_ids[k - 1];
      out->tag_live_bytes[k] = out->tag_live_bytes[k - 1];
    }
    out->tag_ids[slot] = id;
    out->tag_live_bytes[slot] = live;
  }
}


}  // namespace heapwarden::internal
