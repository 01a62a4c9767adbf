// leak_check_api.cc: the exported window leak check of include/heapwarden/leak_check.h,
// over the exit-time classifier (leak_classifier.h); the verdict is the heapwarden
// tool's (`heapwarden check` on the window's leaks, in a helper process).
// Record side: runs on a program thread between two tests, never inside malloc; its
// scratch memory is mmap'd and its own allocations (none expected) would be served
// untracked under the recursion guard.
#define HEAPWARDEN_LEAK_CHECK_IMPLEMENTATION
#include "heapwarden/leak_check.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "record/track/cfi_unwinder.h"
#include "record/leaks/leak_classifier.h"
#include "record/emit/leak_window_report.h"
#include "record/base/log.h"
#include "record/track/recorder.h"
#include "record/base/spin_lock.h"
#include "record/base/thread_state.h"
#include "record/base/tool_runner.h"
#include "record/track/python_frame_table.h"

using heapwarden::internal::CfiStackAbove;
using heapwarden::internal::ClassifyLeaks;
using heapwarden::internal::FormatTo;
using heapwarden::internal::kLeakDirect;
using heapwarden::internal::kLeakIndirect;
using heapwarden::internal::LeakBaseline;
using heapwarden::internal::LeakClassification;
using heapwarden::internal::LeakCounts;
using heapwarden::internal::LeakKind;
using heapwarden::internal::RecursionGuard;
using heapwarden::internal::RunToolCapture;
using heapwarden::internal::ReleaseLeakBaseline;
using heapwarden::internal::ReleaseLeakClassification;
using heapwarden::internal::SpinLock;
using heapwarden::internal::SpinLockHolder;
using heapwarden::internal::Stack;
using heapwarden::internal::TakeLeakBaseline;
using heapwarden::internal::TheRecorder;
using heapwarden::internal::WriteLeakWindowReport;

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

// Closes `window` and classifies what it leaked into *c (which the caller releases on
// success) and *out. `stack_top` is the exported entry point's frame: the scan of this
// thread's stack starts above it. Call with the recursion guard held.
int CloseAndClassify(uint64_t window, uintptr_t stack_top, heapwarden_leak_check_result* out,
                     LeakClassification* c) {
  memset(out, 0, sizeof(*out));
  auto& recorder = TheRecorder();
  if (!recorder.active() || window == 0) return -1;
  LeakBaseline baseline;
  {
    SpinLockHolder hold(g_window_lock);
    if (window != g_window) return -1;
    baseline = g_baseline;
    g_baseline = LeakBaseline{};
    g_window = 0;
  }
  bool ok = ClassifyLeaks(recorder, stack_top, c, &baseline);
  ReleaseLeakBaseline(&baseline);
  if (!ok) return -1;
  auto& sites = recorder.sites();
  for (uint32_t id = 0; id < c->site_count; ++id) {
    for (LeakKind kind : {kLeakDirect, kLeakIndirect}) {
      const LeakCounts& counts = c->at(id, kind);
      if (counts.blocks == 0) continue;
      out->leaked_blocks += counts.blocks;
      out->leaked_bytes += counts.bytes;
      AddSite(out, counts.blocks, counts.bytes, kind == kLeakIndirect,
              sites.stack(sites.site(id).stack_id));
    }
  }
  return 0;
}

// Asks `heapwarden check` (a helper process) for the verdict on the window's leaks:
// 1 fail, 0 pass, -1 when there is no verdict (no report file, no tool).
int ToolVerdict(const LeakClassification& c, uint64_t window, char* message, size_t size) {
  const char* dir = getenv("TMPDIR");
  if (dir == nullptr || dir[0] != '/') dir = "/tmp";
  char path[4096];
  FormatTo(path, sizeof(path), "%s/heapwarden-window.%d.%lu.json", dir, static_cast<int>(getpid()),
           static_cast<unsigned long>(window));
  if (WriteLeakWindowReport(TheRecorder(), c, path) != 0) return -1;
  const char* args[] = {"check", path, "--report-on-failure", nullptr};
  int status = RunToolCapture(args, message, size);
  unlink(path);
  if (status == 0) return 0;
  // 23: above the maximum; 2: the report or the suppressions file could not be read,
  // and the tool's message says which -- a failure the user must see.
  if (status == 23 || status == 2) return 1;
  return -1;
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
  // This frame and the caller's are the newest on the stack: the scan starts above
  // them, so nothing heapwarden left in deeper, dead frames counts as a root.
  const auto stack_top = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  RecursionGuard guard;
  LeakClassification c;
  if (CloseAndClassify(window, stack_top, out, &c) != 0) return -1;
  ReleaseLeakClassification(&c);
  return 0;
}

HW_EXPORT int heapwarden_leak_check_verdict(uint64_t window, int skip_frames,
                                            heapwarden_leak_check_result* out, char* message,
                                            size_t size) {
  if (message != nullptr && size > 0) message[0] = '\0';
  // Above the caller's frame and `skip_frames` more (leak_check.h); when they cannot be
  // unwound, above this one, as heapwarden_leak_check_end() scans.
  uintptr_t stack_top = CfiStackAbove(1 + (skip_frames > 0 ? skip_frames : 0));
  if (stack_top == 0) stack_top = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  RecursionGuard guard;
  LeakClassification c;
  if (CloseAndClassify(window, stack_top, out, &c) != 0) return -1;
  int verdict = 0;
  if (out->leaked_bytes > 0) {
    char scratch[1];
    const bool has_room = message != nullptr && size > 0;
    verdict = ToolVerdict(c, window, has_room ? message : scratch,
                          has_room ? size : sizeof(scratch));
    if (verdict < 0) {
      // Without the tool: the raw figures against max_leak_bytes, no suppressions.
      const auto max = static_cast<uint64_t>(TheRecorder().options().max_leak_bytes);
      verdict = out->leaked_bytes > max ? 1 : 0;
      if (has_room) {
        FormatTo(message, size,
                 "heapwarden: the heapwarden tool could not judge this test's leaks (see stderr): "
                 "%lu byte(s) leaked, %lu tolerated, no suppressions applied\n",
                 static_cast<unsigned long>(out->leaked_bytes), static_cast<unsigned long>(max));
      }
    }
  }
  ReleaseLeakClassification(&c);
  return verdict;
}
