// report_writer.cc: see report_writer.h.
#include "record/emit/report_writer.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/atomic_file.h"
#include "common/report_format.h"
#include "record/alloc/backend.h"
#include "record/alloc/deepbind_rebind.h"
#include "record/base/clock.h"
#include "record/base/log.h"
#include "record/base/mmap_arena.h"
#include "record/base/proc_stats.h"
#include "record/emit/crash_report.h"
#include "record/emit/heap_totals.h"
#include "record/emit/json_buffer.h"
#include "record/emit/memory_view.h"
#include "record/emit/report_sections.h"
#include "record/emit/stack_tables.h"
#include "record/leaks/leak_classifier.h"
#include "record/track/mapped_regions.h"
#include "record/track/recorder.h"

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

ServiceFiguresWriter g_service_figures = nullptr;

void WriteTotalsJson(JsonBuffer& j, Recorder& r, const HeapTotals& totals) {
  j.BeginObject("totals");
  j.Uint("allocations", totals.allocations());
  j.Uint("frees", totals.frees());
  j.Uint("bytes_allocated", totals.bytes_allocated());
  j.Uint("live_blocks", totals.live_blocks());
  j.Uint("live_bytes", totals.live_bytes());
  j.Uint("peak_live_bytes", r.peak_live_bytes());
  j.Seconds("peak_time", NsToSeconds(r.peak_time_ns()));
  // Retained and its breakdown: memory_view.h says what each figure means.
  MemoryView view;
  // A crash report may not wait on the allocator's locks (memory_view.h).
  ReadMemoryView(r, CrashReportInProgress() ? ViewDetail::kNoWait : ViewDetail::kFull,
                 /*rss_bytes=*/0, &view);
  j.Uint("rss_bytes", view.rss_bytes);
  j.Uint("peak_rss_bytes", ReadPeakRssBytes());
  j.Uint("retained_bytes", view.retained_bytes);
  j.Uint("mapped_bytes", view.mapped_bytes);
  j.Uint("mapped_resident_bytes", view.mapped_resident_bytes);
  j.Uint("peak_mapped_bytes", MappedPeakBytes());
  if (view.allocator_valid) {
    j.Uint("allocator_held_bytes", view.allocator_held_bytes);
    j.Uint("allocator_free_bytes", view.allocator_free_bytes);
    j.Uint("trimmable_bytes", view.trimmable_bytes);
  }
  j.EndObject();
}

void WriteSitesJson(JsonBuffer& j, Recorder& r, const HeapTotals& totals) {
  SiteTable& sites = r.sites();
  TagTable& tags = r.tags();
  // The sites as the totals read them: their sum is the totals.
  const uint32_t site_count = totals.site_count();
  j.BeginArray("sites");
  for (uint32_t id = 0; id < site_count; ++id) {
    const Site& s = sites.site(id);
    const SiteFigures f = totals.Figures(id);
    if (f.allocations == 0) continue;
    j.BeginObject();
    j.Uint("stack", s.stack_id);
    j.String("tag", tags.path(s.tag_id));
    j.String("source", s.source == kSourceMapped ? "mapped" : "heap");
    j.Uint("allocations", f.allocations);
    j.Uint("bytes_allocated", f.bytes_allocated);
    j.Uint("live_blocks", f.live_blocks);
    j.Uint("live_bytes", f.live_bytes);
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
}

// Long-lived blocks: one pass over the live table, accumulated per site.
void WriteLongLivedJson(JsonBuffer& j, Recorder& r, uint32_t now_ms) {
  SiteTable& sites = r.sites();
  TagTable& tags = r.tags();
  const uint32_t site_count = sites.site_count();
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
}

void WriteTrimsJson(JsonBuffer& j, Recorder& r) {
  static constexpr const char* kTriggers[] = {"api", "control", "auto"};
  j.BeginArray("trims");
  for (int i = 0; i < r.trim_count(); ++i) {
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
}

// heapwarden's own figures: its version, options, what it dropped, the service
// thread's figures and the leak scan's cost.
void WriteOwnFiguresJson(JsonBuffer& j, Recorder& r, bool complete, uint64_t now_ns) {
  j.BeginObject("heapwarden");
  j.String("version", kVersion);
  j.Bool("symbolized", false);
  j.String("options", r.options_text());
  j.Uint("dropped_events", r.dropped_events());
  j.Uint("untracked_frees", r.untracked_frees());
  // The program's own allocator, when it is not glibc (docs/reliability.md).
  if (ProgramAllocatorPath()[0] != '\0') j.String("program_allocator", ProgramAllocatorPath());
  j.Uint("foreign_frees", ForeignFrees());
  // Plugins loaded with RTLD_DEEPBIND, and the allocation slots pointed back at
  // heapwarden after them (deepbind_rebind.h).
  j.Uint("deepbind_loads", DeepbindLoads());
  j.Uint("deepbind_rebound_slots", DeepbindReboundSlots());
  WriteRecorderFiguresJson(j, r);
  if (g_service_figures != nullptr) g_service_figures(j, r);
  if (r.sampled()) j.String("leak_check", "off: sampled mode (leaks need mode=exact)");
  if (complete) WriteLeakScanJson(j, r.leak_classification());
  j.Seconds("report_time", NsToSeconds(now_ns));
  j.EndObject();
}

}  // namespace

void SetServiceFiguresWriter(ServiceFiguresWriter writer) { g_service_figures = writer; }

int WriteReportFile(Recorder& r, const char* path, bool complete, const int* exit_status) {
  JsonBuffer j;
  const uint64_t now_ns = NowNs();
  const uint32_t now_ms = NowMsCoarse();
  const HeapTotals totals(r);

  j.BeginObject();
  j.String("format", kReportFormat);
  j.Uint("version", kReportVersion);
  WriteProcess(j, r, complete, exit_status);
  WriteTotalsJson(j, r, totals);
  WriteSitesJson(j, r, totals);
  WriteTagsJson(j, r);
  // Leaks only in the final report: classifying needs the other threads stopped, so a
  // snapshot leaves the array empty (its live sites are in "sites"). A final report
  // whose scan could not run lists the live blocks per site as "unclassified".
  // Sampled mode sees only the sampled blocks: no leak verdict at all, rather than a
  // partial one ("leak_check" says so).
  j.BeginArray("leaks");
  if (complete && !r.sampled()) WriteLeaksJson(j, r, r.leak_classification());
  j.EndArray();
  WriteLongLivedJson(j, r, now_ms);
  WritePeakJson(j, r);
  WriteTimelineJson(j, r);
  WriteTrimsJson(j, r);
  j.BeginArray("errors");
  WriteErrorsJson(j, r);
  j.EndArray();
  // The stacks come after every section that names one: in a running process a site
  // may appear between two reads, and its stack is interned before it, so a count
  // read now covers every stack written above.
  SiteTable& sites = r.sites();
  if (!WriteStackTablesJson(j, r, sites.stack_count(), sites.site(0).allocations() != 0,
                            /*wanted=*/nullptr)) {
    return ENOMEM;
  }
  WriteOwnFiguresJson(j, r, complete, now_ns);
  j.EndObject();
  j.Newline();
  if (!j.ok()) return ENOMEM;
  return WriteFileAtomically(path, j.data(), j.size());
}

int Recorder::WriteReport(const char* path, bool complete) {
  SpinLockHolder hold(report_lock_);
  return WriteReportFile(*this, path, complete, /*exit_status=*/nullptr);
}

void Recorder::OutputPath(char* out, size_t size) const {
  const char* exe_name = "unknown";
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n > 0) {
    exe[n] = '\0';
    const char* slash = strrchr(exe, '/');
    exe_name = slash ? slash + 1 : exe;
  }
  char pid[24];
  FormatTo(pid, sizeof(pid), "%d", getpid());
  size_t len = 0;
  bool has_pid = false;
  auto append = [&](const char* s, size_t n) {
    for (size_t i = 0; i < n && len + 1 < size; ++i) out[len++] = s[i];
  };
  for (const char* p = options_.output; *p; ++p) {
    if (p[0] == '%' && p[1] == 'p') {
      append(pid, strlen(pid));
      has_pid = true;
      ++p;
    } else if (p[0] == '%' && p[1] == 'e') {
      append(exe_name, strlen(exe_name));
      ++p;
    } else {
      append(p, 1);
    }
  }
  if (is_fork_child_ && !has_pid) {
    append(".", 1);
    append(pid, strlen(pid));
  }
  out[len] = '\0';
}

}  // namespace heapwarden::internal
