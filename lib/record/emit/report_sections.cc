// report_sections.cc: see report_sections.h. Record side.
#include "record/emit/report_sections.h"

#include <algorithm>

#include "record/base/clock.h"
#include "record/emit/json_buffer.h"
#include "record/base/mmap_arena.h"
#include "record/track/recorder.h"

namespace heapwarden::internal {
namespace {

// Counters can read as "negative" for an instant (a free counted before its
// allocation's bookkeeping finished on another thread): such values are zero.
uint64_t Sane(uint64_t v) { return v > (uint64_t{1} << 62) ? 0 : v; }

// mmap'd scratch space, returned when it goes out of scope.
template <typename T>
class Scratch {
 public:
  explicit Scratch(size_t count)
      : bytes_(sizeof(T) * (count ? count : 1)), data_(static_cast<T*>(MapPages(bytes_))) {}
  ~Scratch() { UnmapPages(data_, bytes_); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  T* get() const { return data_; }

 private:
  size_t bytes_;
  T* data_;
};

}  // namespace

void WriteTagsJson(JsonBuffer& j, Recorder& r) {
  SiteTable& sites = r.sites();
  TagTable& tags = r.tags();
  const uint32_t tag_count = tags.size();
  const uint32_t site_count = sites.site_count();
  struct PerTag {
    uint64_t allocations;
    uint64_t bytes_allocated;
  };
  Scratch<PerTag> per_tag(tag_count);
  j.BeginArray("tags");
  if (per_tag.get() != nullptr) {
    for (uint32_t id = 0; id < site_count; ++id) {
      const Site& s = sites.site(id);
      if (s.tag_id == TagTable::kNoTag || s.tag_id >= tag_count) continue;
      per_tag.get()[s.tag_id].allocations += s.allocations();
      per_tag.get()[s.tag_id].bytes_allocated += s.bytes_allocated();
    }
    // Totals: each tag's own counts added to every ancestor's ("load" gets "load/map").
    Scratch<PerTag> total(tag_count);
    if (total.get() != nullptr) {
      for (uint32_t tag = 1; tag < tag_count; ++tag) {
        for (uint32_t a = tag; a != TagTable::kNoTag; a = tags.parent(a)) {
          total.get()[a].allocations += per_tag.get()[tag].allocations;
          total.get()[a].bytes_allocated += per_tag.get()[tag].bytes_allocated;
        }
      }
    }
    for (uint32_t tag = 1; tag < tag_count; ++tag) {
      j.BeginObject();
      j.String("tag", tags.path(tag));
      j.Uint("allocations", per_tag.get()[tag].allocations);
      j.Uint("bytes_allocated", per_tag.get()[tag].bytes_allocated);
      j.Uint("live_bytes", Sane(tags.stats(tag).live_bytes.load(std::memory_order_relaxed)));
      j.Uint("peak_live_bytes", tags.stats(tag).peak_live_bytes.load(std::memory_order_relaxed));
      if (total.get() != nullptr) {
        j.Uint("total_allocations", total.get()[tag].allocations);
        j.Uint("total_bytes_allocated", total.get()[tag].bytes_allocated);
      }
      j.Uint("total_live_bytes", Sane(tags.total_live_bytes(tag)));
      j.Uint("total_peak_live_bytes",
             tags.stats(tag).total_peak_live_bytes.load(std::memory_order_relaxed));
      j.EndObject();
    }
  }
  j.EndArray();
}

void WritePeakJson(JsonBuffer& j, Recorder& r) {
  SiteTable& sites = r.sites();
  TagTable& tags = r.tags();
  const uint32_t site_count = sites.site_count();
  Scratch<PeakTracker::Entry> entries(site_count);
  PeakTracker::Capture capture;
  const bool captured =
      entries.get() != nullptr && r.peak().Read(entries.get(), site_count, &capture);
  const uint32_t n = captured ? (capture.site_count < site_count ? capture.site_count : site_count) : 0;

  struct Ranked {
    uint64_t live_bytes;
    uint32_t site;
  };
  Scratch<Ranked> ranked(n);
  uint32_t ranked_count = 0;
  uint64_t total = 0;
  if (ranked.get() != nullptr) {
    for (uint32_t id = 0; id < n; ++id) {
      const uint64_t bytes = Sane(entries.get()[id].live_bytes);
      if (bytes == 0 || sites.site(id).source != kSourceHeap) continue;
      ranked.get()[ranked_count++] = Ranked{bytes, id};
      total += bytes;
    }
    std::sort(ranked.get(), ranked.get() + ranked_count, [](const Ranked& a, const Ranked& b) {
      return a.live_bytes != b.live_bytes ? a.live_bytes > b.live_bytes : a.site < b.site;
    });
  }

  j.BeginObject("peak");
  j.Seconds("time", NsToSeconds(r.peak_time_ns()));
  j.Uint("live_bytes", r.peak_live_bytes());
  j.Seconds("captured_time", captured ? NsToSeconds(capture.time_ns) : 0.0);
  j.Uint("captured_live_bytes", total);
  j.BeginArray("sites");
  for (uint32_t i = 0; i < ranked_count; ++i) {
    const Site& s = sites.site(ranked.get()[i].site);
    j.BeginObject();
    j.Uint("stack", s.stack_id);
    j.String("tag", tags.path(s.tag_id));
    j.Uint("live_blocks", Sane(entries.get()[ranked.get()[i].site].live_blocks));
    j.Uint("live_bytes", ranked.get()[i].live_bytes);
    j.EndObject();
  }
  j.EndArray();
  j.EndObject();
}

void WriteTimelineJson(JsonBuffer& j, Recorder& r) {
  TagTable& tags = r.tags();
  constexpr int kMax = Timeline::kMaxSamples + 2;  // the window in progress, the final point
  Scratch<TimelineSample> samples(kMax);
  const int n = samples.get() != nullptr ? r.timeline().Copy(samples.get(), kMax) : 0;
  j.BeginArray("timeline");
  for (int i = 0; i < n; ++i) {
    const TimelineSample& s = samples.get()[i];
    j.BeginObject();
    j.Seconds("t", NsToSeconds(s.time_ns));
    j.Uint("live_bytes", s.live_bytes);
    j.Uint("rss_bytes", s.rss_bytes);
    j.BeginArray("tags");
    for (int k = 0; k < kTimelineTopTags && s.tag_ids[k] != TagTable::kNoTag; ++k) {
      j.BeginObject();
      j.String("tag", tags.path(s.tag_ids[k]));
      j.Uint("live_bytes", s.tag_live_bytes[k]);
      j.EndObject();
    }
    j.EndArray();
    j.EndObject();
  }
  j.EndArray();
}

void WriteRecorderFiguresJson(JsonBuffer& j, Recorder& r) {
  j.Uint("own_bytes", r.own_bytes());
  j.Uint("peak_captures", r.peak().captures());
  j.Seconds("timeline_interval_s",
            static_cast<double>(r.options().timeline_ms) * r.timeline().stride() / 1000.0);
}

}  // namespace heapwarden::internal
