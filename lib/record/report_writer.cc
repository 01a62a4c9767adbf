// report_writer.cc: see report_writer.h. Record side.
#include "record/report_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "record/caller_totals.h"
#include "record/clock.h"
#include "record/free_checker.h"
#include "record/json_buffer.h"
#include "record/leak_classifier.h"
#include "record/backend.h"
#include "record/log.h"
#include "record/mapped_regions.h"
#include "record/crash_report.h"
#include "record/memory_view.h"
#include "record/mmap_arena.h"
#include "record/proc_stats.h"
#include "record/recorder.h"
#include "record/report_sections.h"

namespace heapwarden::internal {
namespace {

constexpr char kVersion[] = "0.1.0";

const char* EnumName(const char* choices, int index, char* buf, size_t size) {
  const char* p = choices;
  for (int i = 0; i < index && p; ++i) {
    p = strchr(p, '|');
    if (p) ++p;
  }
  if (p == nullptr) return "?";
  size_t n = strcspn(p, "|");
  if (n >= size) n = size - 1;
  memcpy(buf, p, n);
  buf[n] = '\0';
  return buf;
}

const char* OptionChoices(const char* key) {
  size_t count;
  const OptionInfo* table = OptionTable(&count);
  for (size_t i = 0; i < count; ++i) {
    if (strcmp(table[i].key, key) == 0) return table[i].default_value;
  }
  return "";
}

// The median of a log2 lifetime histogram, as the geometric middle of its bucket.
double MedianLifetimeSeconds(const Site& site, bool* any) {
  uint64_t total = 0;
  uint64_t counts[kLifetimeBuckets];
  for (int b = 0; b < kLifetimeBuckets; ++b) {
    counts[b] = site.lifetime_bucket(b);
    total += counts[b];
  }
  *any = total > 0;
  if (total == 0) return 0;
  uint64_t seen = 0;
  for (int b = 0; b < kLifetimeBuckets; ++b) {
    seen += counts[b];
    if (seen * 2 >= total) {
      if (b == 0) return 0.0005;  // under a millisecond
      double low = static_cast<double>(uint64_t{1} << (b - 1));
      return low * 1.4142135623730951 / 1000.0;
    }
  }
  return 0;
}

void WriteProcess(JsonBuffer& j, Recorder& r, bool complete, const int* exit_status) {
  j.BeginObject("process");
  j.Int("pid", getpid());
  j.BeginArray("argv");
  static char cmdline[65536];  // only touched under the report's own serialisation
  long n = ReadSmallFile("/proc/self/cmdline", cmdline, sizeof(cmdline));
  for (long start = 0; n > 0 && start < n;) {
    size_t len = strnlen(cmdline + start, static_cast<size_t>(n - start));
    j.StringN(nullptr, cmdline + start, len);
    start += static_cast<long>(len) + 1;
  }
  j.EndArray();
  char exe[4096];
  ssize_t exe_len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  j.StringN("exe", exe, exe_len > 0 ? static_cast<size_t>(exe_len) : 0);
  if (exit_status != nullptr) j.Int("exit_status", *exit_status);
  char name[32];
  j.String("backend", ActiveBackendName());  // system when mimalloc could not be loaded
  j.String("mode", EnumName(OptionChoices("mode"), r.options().mode, name, sizeof(name)));
  if (r.sampled()) j.Uint("sample_bytes", static_cast<uint64_t>(r.options().sample_bytes));
  j.Bool("complete", complete);
  j.EndObject();
}

struct LongLived {
  uint64_t blocks;
  uint64_t bytes;
  uint32_t oldest_birth_ms;
};

}  // namespace

int WriteFileAtomically(const char* path, const char* data, unsigned long size) {
  char tmp[4096 + 64];
  FormatTo(tmp, sizeof(tmp), "%s.tmp.%d", path, getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) {
    // A leftover of a process that died mid-write (pids get reused).
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  }
  if (fd < 0) return errno;
  for (unsigned long off = 0; off < size;) {
    ssize_t w = write(fd, data + off, size - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int err = w < 0 ? errno : EIO;
      close(fd);
      unlink(tmp);
      return err;
    }
    off += static_cast<unsigned long>(w);
  }
  if (close(fd) != 0) {
    int err = errno;
    unlink(tmp);
    return err;
  }
  if (rename(tmp, path) != 0) {
    int err = errno;
    unlink(tmp);
    return err;
  }
  return 0;
}

int WriteReportFile(Recorder& r, const char* path, bool complete, const int* exit_status) {
  JsonBuffer j;
  SiteTable& sites = r.sites();
  ModuleTable& modules = r.modules();
  TagTable& tags = r.tags();
  const uint32_t site_count = sites.site_count();
  const uint32_t stack_count = sites.stack_count();
  const uint64_t now_ns = NowNs();
  const uint32_t now_ms = NowMsCoarse();

  // Sampled mode: the exact per-caller totals sharpen each site's estimate of what it
  // allocated (caller_totals.h), and give the process's totals exactly.
  CallerTotalsReader callers;
  const bool stratified = r.sampled() && callers.Load();
  if (stratified) {
    for (uint32_t id = 1; id < site_count; ++id) {
      const Site& s = sites.site(id);
      const Stack& st = sites.stack(s.stack_id);
      if (s.source != kSourceHeap || st.depth == 0) continue;
      callers.NoteSampled(st.frames[0], s.bytes_allocated(),
                          s.allocations());
    }
  }
  // What a site allocated in all: its counters, or in sampled mode the sharpened estimate.
  auto allocated = [&](const Site& s, uint64_t* blocks, uint64_t* bytes) {
    *blocks = s.allocations();
    *bytes = s.bytes_allocated();
    const Stack& st = sites.stack(s.stack_id);
    if (stratified && s.source == kSourceHeap && st.depth > 0) callers.Scale(st.frames[0], bytes, blocks);
  };

  // Totals are sums over sites; the per-site counters are the source of truth.
  uint64_t allocations = 0, bytes_allocated = 0, live_blocks = 0, live_bytes = 0;
  for (uint32_t id = 0; id < site_count; ++id) {
    const Site& s = sites.site(id);
    if (s.source != kSourceHeap) continue;
    uint64_t blocks, bytes;
    allocated(s, &blocks, &bytes);
    allocations += blocks;
    bytes_allocated += bytes;
    live_blocks += s.live_blocks();
    live_bytes += s.live_bytes();
  }
  if (stratified) {
    // Callers never sampled are in no site, but they are in the exact totals.
    allocations = callers.total_blocks();
    bytes_allocated = callers.total_bytes();
  }
  const uint64_t rss = ReadRssBytes();

  j.BeginObject();
  j.String("format", "heapwarden-report");
  j.Uint("version", 1);
  WriteProcess(j, r, complete, exit_status);

  j.BeginObject("totals");
  j.Uint("allocations", allocations);
  j.Uint("frees", allocations - live_blocks);
  j.Uint("bytes_allocated", bytes_allocated);
  j.Uint("live_blocks", live_blocks);
  j.Uint("live_bytes", live_bytes);
  j.Uint("peak_live_bytes", r.peak_live_bytes());
  j.Seconds("peak_time", NsToSeconds(r.peak_time_ns()));
  j.Uint("rss_bytes", rss);
  j.Uint("peak_rss_bytes", ReadPeakRssBytes());
  // Retained and its breakdown: memory_view.h says what each figure means.
  MemoryView view;
  ReadMemoryView(r, CrashReportInProgress() ? ViewDetail::kNoWait : ViewDetail::kFull, rss, &view);
  const uint64_t used = live_bytes + view.mapped_resident_bytes;
  const uint64_t retained = rss > used ? rss - used : 0;
  j.Uint("retained_bytes", retained);
  j.Uint("mapped_bytes", view.mapped_bytes);
  j.Uint("mapped_resident_bytes", view.mapped_resident_bytes);
  j.Uint("peak_mapped_bytes", MappedPeakBytes());
  if (view.allocator_valid) {
    j.Uint("allocator_held_bytes", view.allocator_held_bytes);
    j.Uint("allocator_free_bytes", view.allocator_free_bytes);
    j.Uint("trimmable_bytes", view.allocator_free_bytes < retained ? view.allocator_free_bytes : retained);
  }
  j.EndObject();

  j.BeginArray("stacks");
  for (uint32_t id = sites.site(0).allocations() ? 0 : 1; id < stack_count; ++id) {
    const Stack& st = sites.stack(id);
    j.BeginObject();
    j.Uint("id", id);
    j.BeginArray("frames");
    for (uint32_t f = 0; f < st.depth; ++f) {
      const Module& m = modules.at(st.modules[f]);
      j.BeginObject();
      j.Hex("address", st.frames[f]);
      j.String("module", m.path);
      j.Uint("offset", st.frames[f] - m.load_bias);
      j.EndObject();
    }
    j.EndArray();
    j.EndObject();
  }
  j.EndArray();

  j.BeginArray("sites");
  for (uint32_t id = 0; id < site_count; ++id) {
    const Site& s = sites.site(id);
    uint64_t n = s.allocations();
    if (n == 0) continue;
    j.BeginObject();
    j.Uint("stack", s.stack_id);
    j.String("tag", tags.path(s.tag_id));
    j.String("source", s.source == kSourceMapped ? "mapped" : "heap");
    uint64_t blocks, bytes;
    allocated(s, &blocks, &bytes);
    j.Uint("allocations", blocks);
    j.Uint("bytes_allocated", bytes);
    j.Uint("live_blocks", s.live_blocks());
    j.Uint("live_bytes", s.live_bytes());
    j.Uint("peak_live_bytes", s.peak_live_bytes.load(std::memory_order_relaxed));
    bool any = false;
    double median = MedianLifetimeSeconds(s, &any);
    if (any) {
      j.Seconds("median_lifetime_s", median);
    } else {
      j.Null("median_lifetime_s");
    }
    j.EndObject();
  }
  j.EndArray();

  WriteTagsJson(j, r);

  // Leaks only in the final report: classifying needs the other threads stopped, so a
  // snapshot leaves the array empty (its live sites are in "sites"). A final report
  // whose scan could not run lists the live blocks per site as "unclassified".
  // Sampled mode sees only the sampled blocks: no leak verdict at all, rather than a
  // partial one ("leak_check" below says so).
  j.BeginArray("leaks");
  if (complete && !r.sampled()) WriteLeaksJson(j, r, r.leak_classification());
  j.EndArray();

  // Long-lived blocks: one pass over the live table, accumulated per site.
  j.BeginArray("long_lived");
  const uint64_t threshold_ms = static_cast<uint64_t>(r.options().long_lived_s * 1000.0);
  size_t scratch_bytes = sizeof(LongLived) * site_count;
  auto* per_site = static_cast<LongLived*>(MapPages(scratch_bytes));
  if (per_site != nullptr) {
    r.live().ForEach([&](const LiveBlock& b) {
      if (b.site >= site_count || b.kind == kAllocMapped) return;
      if (now_ms < b.birth_ms || now_ms - b.birth_ms < threshold_ms) return;
      LongLived& l = per_site[b.site];
      if (l.blocks == 0 || b.birth_ms < l.oldest_birth_ms) l.oldest_birth_ms = b.birth_ms;
      const SampleWeight w = r.WeightOfBlock(b);  // estimates in sampled mode
      l.blocks += w.blocks;
      l.bytes += w.bytes;
    });
    for (uint32_t id = 0; id < site_count; ++id) {
      if (per_site[id].blocks == 0) continue;
      const Site& s = sites.site(id);
      j.BeginObject();
      j.Uint("stack", s.stack_id);
      j.String("tag", tags.path(s.tag_id));
      j.Uint("blocks", per_site[id].blocks);
      j.Uint("bytes", per_site[id].bytes);
      j.Seconds("oldest_age_s", (now_ms - per_site[id].oldest_birth_ms) / 1000.0);
      j.EndObject();
    }
    UnmapPages(per_site, scratch_bytes);
  }
  j.EndArray();

  WritePeakJson(j, r);
  WriteTimelineJson(j, r);
  j.BeginArray("trims");
  for (int i = 0; i < r.trim_count(); ++i) {
    static constexpr const char* kTriggers[] = {"api", "control", "auto"};
    const TrimRecord& t = r.trim_record(i);
    j.BeginObject();
    j.Seconds("t", NsToSeconds(t.time_ns));
    j.String("trigger", kTriggers[t.trigger]);
    j.Uint("rss_before", t.rss_before);
    j.Uint("rss_after", t.rss_after);
    j.Uint("released_bytes", t.rss_before > t.rss_after ? t.rss_before - t.rss_after : 0);
    j.EndObject();
  }
  j.EndArray();
  j.BeginArray("errors");
  WriteErrorsJson(j, r);  // free_checker.h
  j.EndArray();

  j.BeginObject("heapwarden");
  j.String("version", kVersion);
  j.Bool("symbolized", false);
  j.String("options", r.options_text());
  j.Uint("dropped_events", r.dropped_events());
  j.Uint("untracked_frees", r.untracked_frees());
  WriteServiceFiguresJson(j, r);
  if (r.sampled()) j.String("leak_check", "off: sampled mode (leaks need mode=exact)");
  if (complete) WriteLeakScanJson(j, r.leak_classification());
  j.Seconds("report_time", NsToSeconds(now_ns));
  j.EndObject();
  j.EndObject();
  j.Newline();
  if (!j.ok()) return ENOMEM;
  return WriteFileAtomically(path, j.data(), j.size());
}

}  // namespace heapwarden::internal
