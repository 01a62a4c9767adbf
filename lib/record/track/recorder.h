// recorder.h: the one recorder behind the preload and the linkable library. The
// interposed functions call OnAllocate/OnFree around the real allocator; everything
// else (reports, fork, the API) reads the tables kept here.
// Calling context: OnAllocate, OnFree and RestoreAfterFailedRealloc are the hot path
// (inside malloc and free, on any thread, with or without the program's locks held):
// they take no global lock, never allocate through the hooks, never throw; a full table
// or failed mmap drops the event and counts it. The other members run outside malloc;
// each says where it is defined when that is above this layer (a method's definition
// may only use the layers of the folder it is in: docs/design.md, "The map").
#ifndef HEAPWARDEN_LIB_RECORD_TRACK_RECORDER_H_
#define HEAPWARDEN_LIB_RECORD_TRACK_RECORDER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "record/track/cfi_unwinder.h"
#include "record/track/live_table.h"
#include "record/track/module_table.h"
#include "record/base/options.h"
#include "record/track/peak_tracker.h"
#include "record/alloc/real_allocator.h"
#include "record/track/sampler.h"
#include "record/track/site_table.h"
#include "record/track/tag_table.h"
#include "record/base/thread_state.h"
#include "record/track/timeline.h"

struct heapwarden_stats;

namespace heapwarden::internal {

struct LeakClassification;  // leak_classifier.h

enum TrimTrigger : uint8_t { kTrimTriggerApi = 0, kTrimTriggerControl = 1, kTrimTriggerAuto = 2 };

struct TrimRecord {
  uint64_t time_ns;
  uint64_t rss_before;
  uint64_t rss_after;
  TrimTrigger trigger;
};

class Recorder {
 public:
  // Parses `options_text` (HEAPWARDEN_OPTIONS), reserves the tables, loads the
  // unwinder. Call once, with a RecursionGuard held; false leaves tracking off.
  // StartRecording (process.h) calls it and starts the rest.
  bool Init(const char* options_text);

  bool active() const { return active_.load(std::memory_order_acquire); }
  // mode=sampled: the hooks record only what SampleAllocation picks (sampler.h), and
  // hand a free to OnFree only when MaybeSampled says the block may be one of those.
  bool sampled() const { return sampled_; }
  // mode=sampled with caller_totals=1: every allocation's immediate caller is counted
  // exactly (caller_totals.h).
  bool count_callers() const { return count_callers_; }
  // True when the hooks may decide "not sampled" on their own, before calling the real
  // allocator: mode=sampled, tracking on, no per-caller count to keep.
  bool sampled_fast() const { return sampled_fast_; }
  // What a block counts for in the site's figures: itself in exact mode, the
  // estimate it stands for in sampled mode.
  SampleWeight WeightOfBlock(const LiveBlock& block) const {
    if (!sampled_) return SampleWeight{1, block.size};
    return WeightOf(block.size, block.address, block.birth_ms);
  }
  bool MaybeSampled(const void* p) const {
    return sampled_filter_.MayContain(reinterpret_cast<uintptr_t>(p));
  }
  // Sampled mode's common free in one load and a probe: true when sampled_fast() and
  // `p` was surely never sampled, so the free hook may hand it straight to the real
  // free. (fast_free_bits_ is the filter's bitmap while sampled_fast(), else null.)
  bool FreeSkipsRecorder(const void* p) const {
    const std::atomic<uint64_t>* bits = fast_free_bits_;
    return bits != nullptr && !SampledAddressFilter::MayContain(bits, reinterpret_cast<uintptr_t>(p));
  }
  const Options& options() const { return options_; }
  // HEAPWARDEN_OPTIONS as it was at Init (truncated at 4 KiB).
  const char* options_text() const { return options_text_; }

  // Records a block the real allocator just returned. `caller` is the return address
  // of the interposed function: the first frame the report shows.
  void OnAllocate(void* p, size_t size, AllocKind kind, uintptr_t caller);

  // Forgets a block about to be handed to the real free. Returns false when the
  // block was not tracked (allocated before tracking began, or untracked). The
  // forgotten entry is copied to *forgotten when that is non-null.
  bool OnFree(void* p, AllocKind kind, uintptr_t caller, LiveBlock* forgotten = nullptr);

  // Puts back a block that OnFree forgot for a realloc that then failed.
  void RestoreAfterFailedRealloc(const LiveBlock& block);

  // Writes a report (see report_writer.h). Thread-safe; takes the report lock, then
  // each table's locks in turn. Returns 0 or an errno value. Defined in emit/.
  int WriteReport(const char* path, bool complete);

  // Expands %p and %e in options().output, and names a forked child's report apart
  // from its parent's when the template has no %p. Defined in emit/.
  void OutputPath(char* out, size_t size) const;

  // fork(): the prepare handler takes every lock of the tables so the child inherits
  // consistent tables; both sides release them after. The process's handlers
  // (process.h) call these and reset the layers above.
  void PrepareFork();
  void AfterForkParent();
  void AfterForkChild();

  // Asks the serving allocator to return freed pages, measures RSS around it and
  // keeps the record for the report. Thread-safe; serialised by its own lock.
  TrimRecord Trim(TrimTrigger trigger);
  // The trims so far, oldest first (at most kMaxTrims are kept).
  static constexpr int kMaxTrims = 256;
  int trim_count() const { return trim_count_.load(std::memory_order_acquire); }
  const TrimRecord& trim_record(int i) const { return trims_[i]; }
  // What Trim calls (malloc_trim for glibc); set by whoever chose the allocator.
  void set_trim_function(int (*fn)(size_t)) { trim_fn_ = fn; }

  // Fills the public statistics struct, from the figures the report's totals use.
  // Defined in emit/stats.cc.
  void FillStats(struct heapwarden_stats* out);

  // The report at process end: once per process. Classifies the blocks still live
  // (leak_classifier.h), stopping the other threads meanwhile. `stack_top` is an
  // address in the outermost heapwarden frame of the calling thread: the leak scan
  // takes the stack above it as roots (0: from WriteFinalReport's own frame).
  // True when this call wrote the report. Defined in process.cc: it needs every layer.
  bool WriteFinalReport(int exit_status, bool exit_status_known, uintptr_t stack_top = 0);

  // The classification of the final report while it is being written, else nullptr
  // (the report then lists live blocks as "unclassified").
  const LeakClassification* leak_classification() const { return leak_classification_; }

  uint64_t live_bytes() const {
    int64_t v = live_bytes_.load(std::memory_order_relaxed);
    return v > 0 ? static_cast<uint64_t>(v) : 0;
  }
  uint64_t peak_live_bytes() const { return peak_live_bytes_.load(std::memory_order_relaxed); }
  uint64_t peak_time_ns() const { return peak_time_ns_.load(std::memory_order_relaxed); }
  uint64_t dropped_events() const;
  uint64_t untracked_frees() const { return untracked_frees_.load(std::memory_order_relaxed); }
  bool is_fork_child() const { return is_fork_child_; }
  bool final_report_written() const { return final_report_written_.load(); }
  int pid() const { return pid_; }

  SiteTable& sites() { return sites_; }
  ModuleTable& modules() { return modules_; }
  TagTable& tags() { return tags_; }
  LiveTable& live() { return live_; }
  PeakTracker& peak() { return peak_; }
  Timeline& timeline() { return timeline_; }

  // Serialises every report written to a file (snapshots, the API's, the final one),
  // so that a snapshot never lands after the final report. Never taken by the
  // allocation path.
  SpinLock& report_lock() { return report_lock_; }

  // In a fork child that follows forks, `fn` runs at the child's first recorded
  // allocation (outside any atfork handler): the orchestration sets the service up
  // again there.
  void set_fork_child_first_allocation(void (*fn)(Recorder&)) { fork_child_first_allocation_ = fn; }

  // The service layer's check from the allocation path (service_thread.h): `fn` runs
  // on an allocating thread, with the recursion guard held, the first time the coarse
  // clock (NowMsCoarse) reaches `due_ms`; one thread at a time, and not again until
  // SetServiceDue names the next time.
  void ArmServiceCheck(void (*fn)(Recorder&, uint32_t now_ms), uint32_t due_ms) {
    service_due_fn_ = fn;
    service_due_ms_.store(due_ms, std::memory_order_release);
  }
  void SetServiceDue(uint32_t due_ms) { service_due_ms_.store(due_ms, std::memory_order_release); }

  // Bytes of memory heapwarden itself holds for its tables (mmap'd, touched), for the
  // report's "heapwarden" object: grows with sites and live blocks, not run length.
  uint64_t own_bytes();

 private:
  std::atomic<bool> active_{false};
  bool sampled_ = false;
  bool count_callers_ = false;
  bool sampled_fast_ = false;
  const std::atomic<uint64_t>* fast_free_bits_ = nullptr;
  SampledAddressFilter sampled_filter_;
  Options options_{};
  char options_text_[4096] = {};
  int depth_ = 32;
  bool python_frames_ = false;  // python_stack.h: Python frames asked for (option on, depth > 1)
  bool walk_cache_ = false;     // walk_cache.h is ready
  int pid_ = 0;
  bool is_fork_child_ = false;
  std::atomic<bool> final_report_written_{false};
  const LeakClassification* leak_classification_ = nullptr;

  std::atomic<int64_t> live_bytes_{0};
  std::atomic<uint64_t> peak_live_bytes_{0};
  std::atomic<uint64_t> peak_time_ns_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> untracked_frees_{0};

  int (*trim_fn_)(size_t) = nullptr;
  SpinLock trim_lock_;
  std::atomic<int> trim_count_{0};
  TrimRecord trims_[kMaxTrims] = {};

  ModuleTable modules_;
  SiteTable sites_;
  TagTable tags_;
  LiveTable live_;
  PeakTracker peak_;
  Timeline timeline_;
  SpinLock report_lock_;
  // A fork child restarts the service from its first allocation (OnServiceDue), not
  // from the atfork handler.
  std::atomic<bool> service_restart_pending_{false};
  void (*fork_child_first_allocation_)(Recorder&) = nullptr;
  // ArmServiceCheck: UINT32_MAX while no check is wanted, or while one runs.
  std::atomic<uint32_t> service_due_ms_{UINT32_MAX};
  void (*service_due_fn_)(Recorder&, uint32_t) = nullptr;
  void OnServiceDue(uint32_t now_ms);

  void CountAllocation(const LiveBlock& block);
  // The site of a stack CaptureStack returned named by `key` (maybe partly filled in).
  uint32_t SiteOfKeyedStack(uintptr_t* frames, const WalkKey& key, uint32_t tag);
  // The allocation path's rare branch: live bytes `live` passed the maximum `peak`.
  void OnNewMaximum(uint64_t live, uint64_t peak);
};

// The process's recorder. Constant-initialised: usable before any constructor runs.
// Hidden: the hooks then read its fields PC-relative, without a GOT load first.
extern Recorder g_recorder __attribute__((visibility("hidden")));  // recorder.cc
inline Recorder& TheRecorder() { return g_recorder; }

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_TRACK_RECORDER_H_
