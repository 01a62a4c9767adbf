// leak_check_api.cc: the exported window leak check of include/heapwarden/leak_check.h,
// over the exit-time classifier (leak_classifier.h).
// Record side: runs on a program thread between two tests, never inside malloc; its
// scratch memory is mmap'd and its own allocations (none expected) would be served
// untracked under the recursion guard.
#define HEAPWARDEN_LEAK_CHECK_IMPLEMENTATION
#include "heapwarden/leak_check.h"

#include <atomic>
#include <cstring>

#include "record/leak_classifier.h"
#include "record/python_frame_table.h"
#include "record/recorder.h"
#include "record/spin_lock.h"
#include "record/thread_state.h"

using heapwarden::internal::ClassifyLeaks;
using heapwarden::internal::kLeakDirect;
using heapwarden::internal::kLeakIndirect;
using heapwarden::internal::LeakBaseline;
using heapwarden::internal::LeakClassification;
using heapwarden::internal::LeakCounts;
using heapwarden::internal::LeakKind;
using heapwarden::internal::RecursionGuard;
using heapwarden::internal::ReleaseLeakBaseline;
using heapwarden::internal::ReleaseLeakClassification;
using heapwarden::internal::SpinLock;
using heapwarden::internal::SpinLockHolder;
using heapwarden::internal::Stack;
using heapwarden::internal::TakeLeakBaseline;
using heapwarden::internal::TheRecorder;

#define HW_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

// The one open window.
constinit SpinLock g_window_lock;
constinit LeakBaseline g_baseline;
constinit uint64_t g_window = 0;
constinit std::atomic<uint64_t> g_next_window{1};

// Keeps the `max` largest (site, kind) groups of leaked blocks, largest first.
void AddSite(heapwarden_leak_check_result* out, uint64_t blocks, uint64_t bytes, bool indirect,
             const Stack& stack) {
  uint32_t n = out->site_count;
  uint32_t at = n;
  while (at > 0 && out->sites[at - 1].bytes < bytes) --at;
  if (at >= HEAPWARDEN_LEAK_CHECK_SITES) return;
  uint32_t last = n < HEAPWARDEN_LEAK_CHECK_SITES ? n : HEAPWARDEN_LEAK_CHECK_SITES - 1;
  for (uint32_t i = last; i > at; --i) out->sites[i] = out->sites[i - 1];
  heapwarden_leak_site& site = out->sites[at];
  site.blocks = blocks;
  site.bytes = bytes;
  site.indirect = indirect ? 1 : 0;
  // Return addresses only: a Python frame (python_frame_table.h) is no address.
  site.depth = 0;
  for (uint32_t f = 0; f < stack.depth && site.depth < HEAPWARDEN_LEAK_CHECK_FRAMES; ++f) {
    if (!heapwarden::internal::IsPythonFrame(stack.frames[f])) site.frames[site.depth++] = stack.frames[f];
  }
  if (n < HEAPWARDEN_LEAK_CHECK_SITES) out->site_count = n + 1;
}

}  // namespace

HW_EXPORT uint64_t heapwarden_leak_check_begin(void) {
  auto& recorder = TheRecorder();
  // Sampled mode knows only a sample of the blocks: no leak windows (0: unavailable).
  if (!recorder.active() || recorder.sampled()) return 0;
  RecursionGuard guard;
  LeakBaseline fresh;
  if (!TakeLeakBaseline(recorder, &fresh)) return 0;
  SpinLockHolder hold(g_window_lock);
  ReleaseLeakBaseline(&g_baseline);
  g_baseline = fresh;
  g_window = g_next_window.fetch_add(1, std::memory_order_relaxed);
  return g_window;
}

HW_EXPORT int heapwarden_leak_check_end(uint64_t window, heapwarden_leak_check_result* out) {
  memset(out, 0, sizeof(*out));
  auto& recorder = TheRecorder();
  if (!recorder.active() || window == 0) return -1;
  // This frame and the caller's are the newest on the stack: the scan starts above
  // them, so nothing heapwarden left in deeper, dead frames counts as a root.
  const auto stack_top = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  RecursionGuard guard;
  LeakBaseline baseline;
  {
    SpinLockHolder hold(g_window_lock);
    if (window != g_window) return -1;
    baseline = g_baseline;
    g_baseline = LeakBaseline{};
    g_window = 0;
  }
  LeakClassification c;
  bool ok = ClassifyLeaks(recorder, stack_top, &c, &baseline);
  ReleaseLeakBaseline(&baseline);
  if (!ok) return -1;
  auto& sites = recorder.sites();
  for (uint32_t id = 0; id < c.site_count; ++id) {
    for (LeakKind kind : {kLeakDirect, kLeakIndirect}) {
      const LeakCounts& counts = c.at(id, kind);
      if (counts.blocks == 0) continue;
      out->leaked_blocks += counts.blocks;
      out->leaked_bytes += counts.bytes;
      AddSite(out, counts.blocks, counts.bytes, kind == kLeakIndirect,
              sites.stack(sites.site(id).stack_id));
    }
  }
  ReleaseLeakClassification(&c);
  return 0;
}
