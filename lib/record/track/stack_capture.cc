// stack_capture.cc: see stack_capture.h. Record side.
#include "record/track/stack_capture.h"

#include <dlfcn.h>
#include <link.h>
#include <libunwind.h>

#include "record/track/cfi_unwinder.h"
#include "record/base/log.h"

namespace heapwarden::internal {
namespace {

using BacktraceFn = int (*)(void**, int);
using SetCachingPolicyFn = int (*)(unw_addr_space_t, unw_caching_policy_t);
using SetCacheSizeFn = int (*)(unw_addr_space_t, size_t, int);

BacktraceFn g_backtrace = nullptr;

// Where heapwarden's own code is mapped, when it is a shared object of its own (the
// preload, libheapwarden.so), or its own section inside the program
// (libheapwarden.a): its frames never belong in a report, wherever they appear in a
// stack (the wrapper of main sits under every one).
uintptr_t g_own_start = 0;
uintptr_t g_own_end = 0;

}  // namespace
}  // namespace heapwarden::internal

// The section of heapwarden's functions that can sit under the program's frames (the
// wrapper of main, exit's; HW_OWN_TEXT in lifecycle.cc); the linker defines its bounds.
// Weak: a build without such functions (unit tests) has neither.
extern "C" char __start_heapwarden_text[] __attribute__((weak));
extern "C" char __stop_heapwarden_text[] __attribute__((weak));

namespace heapwarden::internal {
namespace {

void FindOwnModule() {
  dl_find_object self;
  if (_dl_find_object(reinterpret_cast<void*>(&FindOwnModule), &self) != 0) return;
  const link_map* map = self.dlfo_link_map;
  if (map == nullptr || map->l_name == nullptr || map->l_name[0] == '\0') {
    // Linked statically (libheapwarden.a), heapwarden is part of the program's module:
    // its own frames are those of its section.
    if (__start_heapwarden_text != nullptr && __stop_heapwarden_text > __start_heapwarden_text) {
      g_own_start = reinterpret_cast<uintptr_t>(__start_heapwarden_text);
      g_own_end = reinterpret_cast<uintptr_t>(__stop_heapwarden_text);
    }
    return;
  }
  g_own_start = reinterpret_cast<uintptr_t>(self.dlfo_map_start);
  g_own_end = reinterpret_cast<uintptr_t>(self.dlfo_map_end);
}

int DropOwnFrames(uintptr_t* frames, int count) {
  if (g_own_end == 0) return count;
  // Most stacks have none, or only the wrapper of main near the bottom: find the
  // first before moving anything.
  int first = 0;
  while (first < count && (frames[first] < g_own_start || frames[first] >= g_own_end)) ++first;
  if (first == count) return count;
  int kept = first;
  for (int i = first; i < count; ++i) {
    if (frames[i] >= g_own_start && frames[i] < g_own_end) continue;
    frames[kept++] = frames[i];
  }
  return kept > 0 ? kept : count;
}

// Frames of heapwarden's own between the unwinder and the interposed entry point
// (CaptureStack, the recorder, the hook), with room for a compiler that inlines less.
constexpr int kOwnFrameSlack = 8;

}  // namespace

bool InitStackCapture() {
  FindOwnModule();
  void* lib = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    Warn("libunwind.so.8 not found; stacks will hold only the immediate caller");
    return false;
  }
  auto backtrace = reinterpret_cast<BacktraceFn>(dlsym(lib, "unw_backtrace"));
  auto set_policy =
      reinterpret_cast<SetCachingPolicyFn>(dlsym(lib, "_ULx86_64_set_caching_policy"));
  auto set_size = reinterpret_cast<SetCacheSizeFn>(dlsym(lib, "_ULx86_64_set_cache_size"));
  auto* space = static_cast<unw_addr_space_t*>(dlsym(lib, "_ULx86_64_local_addr_space"));
  if (backtrace == nullptr) {
    Warn("libunwind.so.8 has no unw_backtrace; stacks will hold only the immediate caller");
    return false;
  }
  // Per-thread caches: no lock shared between allocating threads.
  if (set_policy != nullptr && space != nullptr) {
    set_policy(*space, UNW_CACHE_PER_THREAD);
    if (set_size != nullptr) set_size(*space, 4096, 0);
  }
  g_backtrace = backtrace;
  return true;
}

int CaptureStack(uintptr_t* frames, int max_frames, uintptr_t caller, bool* same_as_last,
                 WalkKey* key) {
  if (same_as_last != nullptr) *same_as_last = false;
  if (key != nullptr) key->key = 0;
  if (max_frames > kMaxFrames) max_frames = kMaxFrames;
  if (max_frames > 1) {
    int n = CfiBacktrace(frames, max_frames, caller, same_as_last, key);
    if (n > 0 && same_as_last != nullptr && *same_as_last) return n;  // frames not filled
    if (n > 0 && key != nullptr && key->key != 0) return n;           // maybe not all filled
    if (n > 0) return DropOwnFrames(frames, n);
    if (same_as_last != nullptr) *same_as_last = false;
  }
  if (g_backtrace == nullptr || max_frames <= 1) {
    frames[0] = caller;
    return 1;
  }
  void* raw[kMaxFrames + kOwnFrameSlack];
  int n = g_backtrace(raw, max_frames + kOwnFrameSlack);
  int first = -1;
  for (int i = 0; i < n && i <= kOwnFrameSlack; ++i) {
    if (reinterpret_cast<uintptr_t>(raw[i]) == caller) {
      first = i;
      break;
    }
  }
  if (first < 0) {
    // The unwinder lost its way inside heapwarden: keep what is certain.
    frames[0] = caller;
    return 1;
  }
  int count = n - first < max_frames ? n - first : max_frames;
  for (int i = 0; i < count; ++i) frames[i] = reinterpret_cast<uintptr_t>(raw[first + i]);
  return DropOwnFrames(frames, count);
}

int CompleteKeyedStack(uintptr_t* frames, const WalkKey& key) {
  CfiKeyedFrames(frames, key);
  return DropOwnFrames(frames, key.frames);
}

}  // namespace heapwarden::internal
