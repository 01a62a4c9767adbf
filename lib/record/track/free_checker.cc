// free_checker.cc: see free_checker.h. Record side.
#include "record/track/free_checker.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>

#include <atomic>

#include "record/alloc/real_allocator.h"
#include "record/base/mmap_arena.h"
#include "record/base/options.h"
#include "record/track/recorder.h"
#include "record/base/spin_lock.h"
#include "record/track/stack_capture.h"
#include "record/base/thread_state.h"

namespace heapwarden::internal {
namespace {

constexpr size_t kFreeSlots = 1 << 14;
// Snapshots written at once for an invalid or double free (the allocator may abort
// next); later errors are still recorded, and in the final report.
constexpr int kMaxImmediateSnapshots = 8;


// One remembered free: the block and the free's caller. Only the caller: a stack walk
// on every free would cost as much as the allocation's (design.md, "the hot path"), and
// a double free still names the first free's caller. `address` is written last
// (release) and cleared first, so a reader that sees the same address before and after
// copying has a consistent record.
struct FreeRecord {
  std::atomic<uintptr_t> address;
  uintptr_t caller;
};


struct State {
  bool enabled = false;
  bool untracked_checks = false;  // exact mode only: sampled mode does not see most blocks
  bool family_checks = false;     // new/delete are the preload's own
  bool strict_alignment = false;  // glibc: every block is 16-aligned
  bool halt = false;
  FreeRecord* ring = nullptr;
  SpinLock lock;
  FreeError errors[kMaxFreeErrors];
  int error_count = 0;
  std::atomic<uint64_t> total{0};
  std::atomic<int> immediate_snapshots{0};
  FreeErrorHandler on_error = nullptr;
};

// Constant-initialised: the preload's constructor (priority 101) calls InitFreeChecks
// before this file's dynamic initialisers would run.
constinit State g;

inline size_t SlotFor(uintptr_t address) {
  uint64_t h = (address >> 4) * 0x9e3779b97f4a7c15ull;
  return static_cast<size_t>(h >> 50) & (kFreeSlots - 1);
}


// The module that defines `symbol` in the global scope is the one holding `self`.
bool ResolvesToSelf(const char* symbol, const void* self) {
  void* found = dlsym(RTLD_DEFAULT, symbol);
  Dl_info found_info, self_info;
  if (found == nullptr || dladdr(found, &found_info) == 0 || dladdr(self, &self_info) == 0) {
    return false;
  }
  return found_info.dli_fbase == self_info.dli_fbase;
}

// Frames kept for the stack of a bad call: the `depth` option, as for allocations.
int ErrorDepth(Recorder& recorder) {
  int64_t depth = recorder.options().depth;
  return depth >= 1 && depth <= kMaxFrames ? static_cast<int>(depth) : 32;
}

uint32_t InternStack(Recorder& recorder, const uintptr_t* frames, int depth) {
  uint32_t site = recorder.sites().Intern(frames, depth, TagTable::kNoTag, kSourceHeap);
  return recorder.sites().site(site).stack_id;
}

// Records an error; returns true the first time this (kind, stack) is seen.
bool Record(FreeErrorKind kind, uintptr_t address, uint32_t stack, uint32_t other_stack,
            bool has_other, AllocKind allocated_by, AllocKind freed_by) {
  g.total.fetch_add(1, std::memory_order_relaxed);
  SpinLockHolder hold(g.lock);
  for (int i = 0; i < g.error_count; ++i) {
    FreeError& e = g.errors[i];
    if (e.kind == kind && e.stack == stack) {
      ++e.count;
      return false;
    }
  }
  if (g.error_count == kMaxFreeErrors) return false;
  g.errors[g.error_count++] =
      FreeError{kind, allocated_by, freed_by, address, stack, other_stack, has_other, 1};
  return true;
}

// After an error: halt_on_error has the report written and aborts; an error the
// allocator may abort on has a snapshot written now (the handler process.cc registers),
// so that the error is on disk when it does. The service thread writes them: this runs inside free(), perhaps in a signal
// handler that interrupted malloc, where writing a report (the report lock, the
// allocator's statistics) could wait for ever on a lock the interrupted code holds. The
// waits are bounded; the process is about to end.
void AfterError(Recorder& recorder, bool allocator_may_abort) {
  if (g.halt) {
    if (g.on_error != nullptr) g.on_error(recorder);
    abort();
  }
  if (allocator_may_abort &&
      g.immediate_snapshots.fetch_add(1, std::memory_order_relaxed) < kMaxImmediateSnapshots &&
      g.on_error != nullptr) {
    g.on_error(recorder);
  }
}

// Proof that `address` never came from an allocator; see free_checker.h.
bool ProvablyNotHeap(uintptr_t address) {
  if ((address & 7) != 0) return true;
  if (g.strict_alignment && (address & 15) != 0) return true;
  dl_find_object found;
  if (_dl_find_object(reinterpret_cast<void*>(address), &found) == 0) return true;
  uintptr_t sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  if (address < sp) return false;
  if (t_state.stack_top == 0) {
    // The unwinder finds it at a thread's first allocation; a thread that frees first
    // finds it here (pthread_getattr_np may allocate: untracked, under the guard).
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
      void* base = nullptr;
      size_t size = 0;
      if (pthread_attr_getstack(&attr, &base, &size) == 0 && base != nullptr) {
        t_state.stack_top = reinterpret_cast<uintptr_t>(base) + size;
      }
      pthread_attr_destroy(&attr);
    }
  }
  return address < t_state.stack_top;
}

}  // namespace

const char* AllocatedByName(AllocKind kind) {
  switch (kind) {
    case kAllocNew: return "operator new";
    case kAllocNewArray: return "operator new []";
    case kAllocMapped: return "mmap";
    default: return "malloc";
  }
}

const char* FreedByName(AllocKind kind) {
  switch (kind) {
    case kAllocNew: return "operator delete";
    case kAllocNewArray: return "operator delete []";
    default: return "free";
  }
}

const char* FreeErrorName(FreeErrorKind kind) {
  static constexpr const char* kNames[] = {"invalid_free", "double_free", "mismatched_free"};
  return kNames[kind];
}

void SetFreeErrorHandler(FreeErrorHandler handler) { g.on_error = handler; }

void InitFreeChecks(Recorder& recorder) {
  const Options& options = recorder.options();
  g.enabled = options.check_frees;
  g.halt = options.halt_on_error;
  if (!g.enabled) return;
  // A program linked against another allocator (libmimalloc, a library with its own
  // malloc) gets blocks from it that never pass through malloc here (mi_malloc, the
  // library's own calls): an unknown pointer proves nothing, and an address freed here
  // before may have been handed out again by that allocator's own API.
  g.untracked_checks = options.mode == kModeExact && ProgramAllocatorPath()[0] == '\0';
  g.strict_alignment = options.backend == kBackendSystem;
  const void* self = reinterpret_cast<const void*>(&InitFreeChecks);
  g.family_checks = ResolvesToSelf("_Znwm", self) && ResolvesToSelf("_Znam", self) &&
                    ResolvesToSelf("_ZdlPv", self) && ResolvesToSelf("_ZdaPv", self);
  g.ring = static_cast<FreeRecord*>(MapPages(sizeof(FreeRecord) * kFreeSlots, /*reserve_only=*/true));
}

void CheckTrackedFree(Recorder& recorder, const LiveBlock& block, AllocKind free_kind,
                      uintptr_t caller) {
  if (!g.enabled) return;
  const AllocKind allocated_by = static_cast<AllocKind>(block.kind);
  if (g.family_checks && allocated_by != free_kind && allocated_by != kAllocMapped) {
    uintptr_t frames[kMaxFrames];
    int depth = CaptureStack(frames, ErrorDepth(recorder), caller);
    uint32_t stack = InternStack(recorder, frames, depth);
    uint32_t allocation_stack = recorder.sites().site(block.site).stack_id;
    Record(kMismatchedFree, block.address, stack, allocation_stack, true, allocated_by, free_kind);
    // glibc does not mind (delete and free are one function there): only halt_on_error stops.
    AfterError(recorder, /*allocator_may_abort=*/false);
  }
  if (g.ring == nullptr || !g.untracked_checks) return;
  FreeRecord& slot = g.ring[SlotFor(block.address)];
  slot.address.store(0, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  slot.caller = caller;
  slot.address.store(block.address, std::memory_order_release);
}

void CheckUntrackedFree(Recorder& recorder, uintptr_t address, AllocKind free_kind,
                        uintptr_t caller) {
  if (!g.enabled || !g.untracked_checks) return;
  FreeErrorKind kind;
  uintptr_t first_free_caller = 0;
  bool freed_before = false;
  if (g.ring != nullptr) {
    FreeRecord& slot = g.ring[SlotFor(address)];
    if (slot.address.load(std::memory_order_acquire) == address) {
      first_free_caller = slot.caller;
      std::atomic_thread_fence(std::memory_order_acquire);
      freed_before = slot.address.load(std::memory_order_relaxed) == address && first_free_caller != 0;
    }
  }
  if (freed_before) {
    kind = kDoubleFree;
  } else if (ProvablyNotHeap(address)) {
    kind = kInvalidFree;
  } else {
    return;  // allocated where heapwarden did not look: an untracked free, no error
  }
  uintptr_t frames[kMaxFrames];
  int depth = CaptureStack(frames, ErrorDepth(recorder), caller);
  uint32_t stack = InternStack(recorder, frames, depth);
  uint32_t other = freed_before ? InternStack(recorder, &first_free_caller, 1) : 0;
  Record(kind, address, stack, other, freed_before, kAllocMalloc, free_kind);
  AfterError(recorder, /*allocator_may_abort=*/true);
}

void ForgetRecentFree(uintptr_t address) {
  if (g.ring == nullptr) return;
  FreeRecord& slot = g.ring[SlotFor(address)];
  // A plain load first: a compare-exchange takes the line exclusively even when it
  // fails, and almost every call finds another address there.
  uintptr_t expected = address;
  if (slot.address.load(std::memory_order_relaxed) != address) return;
  slot.address.compare_exchange_strong(expected, 0, std::memory_order_acq_rel);
}

int CopyFreeErrors(FreeError* out, int max) {
  SpinLockHolder hold(g.lock);
  int n = g.error_count < max ? g.error_count : max;
  for (int i = 0; i < n; ++i) out[i] = g.errors[i];
  return n;
}

uint64_t FreeErrorCount() { return g.total.load(std::memory_order_relaxed); }

void ResetFreeChecksAfterFork() { g.lock.ResetAfterFork(); }

}  // namespace heapwarden::internal
