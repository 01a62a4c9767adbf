// recorder.cc: see recorder.h. Record side.
#include "record/track/recorder.h"

#include <unistd.h>

#include <cstring>

#include "record/alloc/bootstrap_pool.h"
#include "record/track/caller_totals.h"
#include "record/base/clock.h"
#include "record/track/free_checker.h"
#include "record/track/walk_cache.h"
#include "record/track/mapped_regions.h"
#include "record/base/proc_stats.h"
#include "record/base/log.h"
#include "record/track/stack_capture.h"
#include "record/track/python_frame_table.h"
#include "record/track/python_stack.h"

namespace heapwarden::internal {

__thread ThreadState t_state __attribute__((tls_model("initial-exec")));

constinit Recorder g_recorder;

bool Recorder::Init(const char* options_text) {
  StartClock();
  SetDefaultOptions(&options_);
  ParseOptions(options_text, &options_);
  if (options_text != nullptr) {
    size_t n = strnlen(options_text, sizeof(options_text_) - 1);
    memcpy(options_text_, options_text, n);
  }
  if (options_.mode == kModeSampled) {
    if (options_.sample_bytes == 0) {
      Warn("HEAPWARDEN_OPTIONS: sample_bytes must be at least 1; using 524288");
      options_.sample_bytes = 524288;
    }
    if (options_.fail_on_leak) {
      // Only sampled blocks are known: a leak check would pass programs that leak.
      Warn("fail_on_leak needs mode=exact; in sampled mode leaks are not checked");
      options_.fail_on_leak = false;
    }
    if (!sampled_filter_.Init()) {
      Warn("cannot reserve the sampled-address filter; tracking is off");
      return false;
    }
    InitSampler(static_cast<uint64_t>(options_.sample_bytes), static_cast<uint64_t>(options_.sample_seed));
    // Off by default: on a malloc-heavy program the per-caller table update costs more
    // than the rest of an unsampled allocation (docs/sampling.md).
    if (options_.caller_totals) {
      count_callers_ = InitCallerTotals();
      if (!count_callers_) Warn("cannot reserve the per-caller totals; sampled sites stay plain estimates");
    }
    sampled_ = true;
  }
  depth_ = static_cast<int>(options_.depth);
  if (depth_ < 1 || depth_ > kMaxFrames) {
    Warn("HEAPWARDEN_OPTIONS: depth must be 1..%d; using 32", kMaxFrames);
    depth_ = 32;
  }
  pid_ = getpid();
  modules_.Init();
  if (!sites_.Init(&modules_)) {
    Warn("cannot reserve the site table; tracking is off");
    return false;
  }
  InitStackCapture();
  walk_cache_ = InitWalkCache();
  python_frames_ = options_.python_frames == kPythonFramesOn && depth_ > 1;
  InitPythonStacks(python_frames_);
  InitFreeChecks(*this);
  if (!peak_.Init(&sites_)) Warn("cannot reserve the peak buffers; the report's peak will have no sites");
  sampled_fast_ = sampled_ && !count_callers_;
  if (sampled_fast_) {
    // The free hook's fast path tests only the filter: it must say "maybe" for every
    // bootstrap-pool block, which FreeSlow then keeps from the real free.
    WatchBootstrapBlocks(
        [](void* filter, const void* block) {
          static_cast<SampledAddressFilter*>(filter)->Add(reinterpret_cast<uintptr_t>(block));
        },
        &sampled_filter_);
    fast_free_bits_ = sampled_filter_.bits();
  }
  active_.store(true, std::memory_order_release);
  return true;
}


void Recorder::OnAllocate(void* p, size_t size, AllocKind kind, uintptr_t caller) {
  uintptr_t frames[kMaxFrames];
  bool same_stack = false;
  // A thread running Python: every native frame is walked, so that each evaluation
  // frame is seen, checked against the Python frames and replaced by them
  // (python_stack.h).
  PythonChain chain;
  const bool python = python_frames_ && PythonStacksMaybe() && ReadPythonChain(&chain);
  const int max_frames = python ? kMaxFrames : depth_;
  const uint64_t python_signature = python ? chain.signature : 0;
  // Python stacks are merged from two walks: the walk's key does not name them.
  WalkKey key;
  key.key = 0;
  int depth = CaptureStack(frames, max_frames, caller, &same_stack,
                           python || !walk_cache_ ? nullptr : &key);
  const uint32_t tag = t_state.tag_id;
  uint32_t site_id = t_state.last_site;
  if (!same_stack || site_id == SiteTable::kOverflowSite || t_state.last_site_tag != tag ||
      t_state.last_python_signature != python_signature) {
    if (key.key != 0) {  // never set for a stack the same as the last
      site_id = SiteOfKeyedStack(frames, key, tag);
    } else {
      // The same stack under another tag or other Python lines: the walk did not fill
      // the frames in.
      if (same_stack) depth = CaptureStack(frames, max_frames, caller);
      // The merged stack keeps `depth` frames, Python frames included (SPEC); a stack
      // that could not be merged keeps its native `depth`.
      if (python) depth = MergePythonFrames(frames, depth, depth < max_frames, chain, depth_);
      if (depth > depth_) depth = depth_;
      site_id = sites_.Intern(frames, depth, tag, kSourceHeap);
    }
    t_state.last_site = site_id;
    t_state.last_site_tag = tag;
    t_state.last_python_signature = python_signature;
  }
  const uint32_t now_ms = NowMsCoarse();
  if (__builtin_expect(now_ms >= service_due_ms_.load(std::memory_order_relaxed), 0)) OnServiceDue(now_ms);
  LiveBlock block{reinterpret_cast<uintptr_t>(p), size, kind, site_id, now_ms};
  if (!live_.Insert(block)) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (sampled_) sampled_filter_.Add(block.address);
  CountAllocation(block);
}

uint32_t Recorder::SiteOfKeyedStack(uintptr_t* frames, const WalkKey& key, uint32_t tag) {
  bool hit;
  SiteCacheEntry* entry = FindCachedSite(key.key, tag, &hit);
  if (hit) return entry->site;
  int depth = CompleteKeyedStack(frames, key);
  if (depth > depth_) depth = depth_;
  const uint32_t site_id = sites_.Intern(frames, depth, tag, kSourceHeap);
  if (entry != nullptr) {
    if (site_id == SiteTable::kOverflowSite) {
      entry->key = 0;  // the table may have room later
    } else {
      entry->site = site_id;
    }
  }
  return site_id;
}

void Recorder::CountAllocation(const LiveBlock& block) {
  const SampleWeight w = WeightOfBlock(block);
  Site& site = sites_.site(block.site);
  const bool owner = site.owner == ThreadPointer();
  SiteCounters& c = owner ? site.owned : site.shared;
  CounterAdd(c.allocations, w.blocks, owner);
  CounterAdd(c.bytes_allocated, w.bytes, owner);
  CounterAdd(c.live_blocks, w.blocks, owner);
  CounterAdd(c.live_bytes, w.bytes, owner);
  const uint64_t site_live = site.live_bytes();
  // A racy maximum: two threads may both store, and the smaller may win by a hair.
  if (site_live > site.peak_live_bytes.load(std::memory_order_relaxed)) {
    site.peak_live_bytes.store(site_live, std::memory_order_relaxed);
  }
  // The site's tag, not the thread's: they differ only for the overflow site, and the
  // free is charged to the site's tag, so both sides must agree.
  if (site.tag_id != TagTable::kNoTag) tags_.OnAllocate(site.tag_id, w.bytes);

  peak_.MarkDirty(site, block.site);

  const uint64_t live =
      static_cast<uint64_t>(live_bytes_.fetch_add(static_cast<int64_t>(w.bytes), std::memory_order_relaxed)) +
      w.bytes;
  uint64_t peak = peak_live_bytes_.load(std::memory_order_relaxed);
  if (live > peak) OnNewMaximum(live, peak);
}

__attribute__((noinline)) void Recorder::OnNewMaximum(uint64_t live, uint64_t peak) {
  while (live > peak) {
    if (peak_live_bytes_.compare_exchange_weak(peak, live, std::memory_order_relaxed)) {
      const uint64_t now = NowNs();
      peak_time_ns_.store(now, std::memory_order_relaxed);
      // The sites are copied at the next free, or by a report that comes first.
      peak_.NoteMaximum(live, now);
      return;
    }
  }
}

__attribute__((noinline)) void Recorder::OnServiceDue(uint32_t now_ms) {
  // A fork child's first allocation lands here (AfterForkChild asked for it): set up
  // its own service now, outside the atfork handler, with the guard held.
  if (service_restart_pending_.load(std::memory_order_relaxed) &&
      service_restart_pending_.exchange(false, std::memory_order_relaxed)) {
    if (fork_child_first_allocation_ != nullptr) fork_child_first_allocation_(*this);
    return;
  }
  uint32_t due = service_due_ms_.load(std::memory_order_relaxed);
  // One thread runs the check; the others go on. The check sets the next due time.
  if (now_ms < due || service_due_fn_ == nullptr ||
      !service_due_ms_.compare_exchange_strong(due, UINT32_MAX, std::memory_order_acq_rel)) {
    return;
  }
  service_due_fn_(*this, now_ms);
}

bool Recorder::OnFree(void* p, AllocKind kind, uintptr_t caller, LiveBlock* forgotten) {
  LiveBlock block;
  if (!live_.Erase(reinterpret_cast<uintptr_t>(p), &block)) {
    untracked_frees_.fetch_add(1, std::memory_order_relaxed);
    CheckUntrackedFree(*this, reinterpret_cast<uintptr_t>(p), kind, caller);  // free_checker.h
    return false;
  }
  // Live bytes are about to fall: if they were at a maximum, that state is the peak.
  peak_.CaptureIfPending();
  if (sampled_) sampled_filter_.Remove(block.address);
  CheckTrackedFree(*this, block, kind, caller);
  if (forgotten != nullptr) *forgotten = block;
  const SampleWeight w = WeightOfBlock(block);
  Site& site = sites_.site(block.site);
  uint32_t now = NowMsCoarse();
  if (__builtin_expect(now >= service_due_ms_.load(std::memory_order_relaxed), 0)) OnServiceDue(now);
  uint32_t lifetime = now > block.birth_ms ? now - block.birth_ms : 0;
  int bucket = lifetime == 0 ? 0 : 32 - __builtin_clz(lifetime);
  if (bucket >= kLifetimeBuckets) bucket = kLifetimeBuckets - 1;
  // Unsigned wrap-around: one set may go "negative" for a block counted in the other
  // (allocated on another thread); the sum of the two sets is still right.
  const bool owner = site.owner == ThreadPointer();
  SiteCounters& c = owner ? site.owned : site.shared;
  CounterAdd(c.live_blocks, uint64_t{0} - w.blocks, owner);
  CounterAdd(c.live_bytes, uint64_t{0} - w.bytes, owner);
  CounterAdd(c.lifetime_ms_log2[bucket], uint32_t{1}, owner);
  peak_.MarkDirty(site, block.site);
  if (site.tag_id != TagTable::kNoTag) tags_.OnFree(site.tag_id, w.bytes);
  live_bytes_.fetch_sub(static_cast<int64_t>(w.bytes), std::memory_order_relaxed);
  return true;
}

void Recorder::RestoreAfterFailedRealloc(const LiveBlock& block) {
  if (!live_.Insert(block)) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (sampled_) sampled_filter_.Add(block.address);
  const SampleWeight w = WeightOfBlock(block);
  Site& site = sites_.site(block.site);
  site.shared.live_blocks.fetch_add(w.blocks, std::memory_order_relaxed);
  site.shared.live_bytes.fetch_add(w.bytes, std::memory_order_relaxed);
  peak_.MarkDirty(site, block.site);
  if (site.tag_id != TagTable::kNoTag) tags_.OnAllocate(site.tag_id, w.bytes);
  live_bytes_.fetch_add(static_cast<int64_t>(w.bytes), std::memory_order_relaxed);
}

uint64_t Recorder::dropped_events() const {
  return dropped_.load(std::memory_order_relaxed) + sites_.dropped();
}



uint64_t Recorder::own_bytes() {
  const uint64_t sites = sites_.site_count();
  const uint64_t stacks = sites_.stack_count();
  return live_.mapped_bytes() + sites * sizeof(Site) + stacks * sizeof(Stack) +
         sites_.frames_mapped_bytes() + tags_.mapped_bytes() + peak_.mapped_bytes() +
         sizeof(Timeline) + static_cast<uint64_t>(modules_.size()) * sizeof(Module);
}


TrimRecord Recorder::Trim(TrimTrigger trigger) {
  // Not while a report is being written: its buffer (tens of MiB for a big site
  // table) would be counted in rss_before and, once freed, in what the trim released.
  SpinLockHolder report_hold(report_lock_);
  SpinLockHolder hold(trim_lock_);
  TrimRecord record{NowNs(), ReadRssBytes(), 0, trigger};
  // heapwarden's own share first: live-table shards sized for a past peak.
  live_.ShrinkToFit();
  if (trim_fn_ != nullptr) trim_fn_(0);
  record.rss_after = ReadRssBytes();
  int n = trim_count_.load(std::memory_order_relaxed);
  if (n < kMaxTrims) {
    trims_[n] = record;
    trim_count_.store(n + 1, std::memory_order_release);
  }
  return record;
}

// Unchecked by -Wthread-safety: the locks are held across the fork, by design.
void Recorder::PrepareFork() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  // Order matters only in that it is always the same: tags, sites, live blocks.
  tags_.lock().Lock();
  sites_.lock().Lock();
  LockPythonFrameTable();
  live_.LockAll();
}

void Recorder::AfterForkParent() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  live_.UnlockAll();
  UnlockPythonFrameTable();
  sites_.lock().Unlock();
  tags_.lock().Unlock();
}

void Recorder::AfterForkChild() {
  live_.ResetAfterFork();
  ResetFreeChecksAfterFork();
  ResetCallerTotalsAfterFork();
  ResetWalkCacheAfterFork();
  sampled_filter_.ResetAfterFork();
  sites_.ResetAfterFork();
  tags_.ResetAfterFork();
  PythonStacksAfterForkChild();
  peak_.ResetAfterFork();
  timeline_.ResetAfterFork();
  report_lock_.ResetAfterFork();
  // The parent's schedule is not the child's: its service is set up again from its
  // first allocation (service_thread.h).
  service_due_ms_.store(UINT32_MAX, std::memory_order_relaxed);
  is_fork_child_ = true;
  pid_ = getpid();
  if (!options_.follow_fork) {
    sampled_fast_ = false;
    fast_free_bits_ = nullptr;
    active_.store(false, std::memory_order_release);
    return;
  }
  service_restart_pending_.store(true, std::memory_order_relaxed);
  service_due_ms_.store(0, std::memory_order_relaxed);
}

}  // namespace heapwarden::internal
