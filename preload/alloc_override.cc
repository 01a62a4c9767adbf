// alloc_override.cc: every definition of the allocation family, and nothing else.
// Preload side. Each entry point serves the request from the real allocator and tells
// the recorder, which never allocates through here (its own allocations run with the
// thread's RecursionGuard held and go straight to the real allocator).
//
// Order matters on the free side: the recorder forgets a block *before* the real free,
// so that another thread cannot be handed the same address and record it first.
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <atomic>
#include <new>

#include "preload/real_functions.h"
#include "record/alloc/backend.h"
#include "record/alloc/bootstrap_pool.h"
#include "record/track/caller_totals.h"
#include "record/track/free_checker.h"
#include "record/track/recorder.h"
#include "record/base/spin_lock.h"
#include "record/base/thread_state.h"

namespace heapwarden::internal {

RealAllocator g_real;
std::atomic<bool> g_real_ready{false};
std::atomic<bool> g_recorder_started{false};

namespace {

SpinLock g_resolve_lock;

// The program's return address, and this entry point's frame for the unwinder to
// start from (this file is built with frame pointers; see thread_state.h).
#define HW_CALLER                                                                       \
  (heapwarden::internal::t_state.entry_frame =                                          \
       reinterpret_cast<uintptr_t>(__builtin_frame_address(0)),                          \
   reinterpret_cast<uintptr_t>(__builtin_return_address(0)))

// errno is part of the program's view of malloc: recording must not change it.
class ErrnoSaver {
 public:
  ErrnoSaver() : saved_(errno) {}
  ~ErrnoSaver() { errno = saved_; }
  // Makes the destructor leave `value` in errno instead of the saved one.
  void Set(int value) { saved_ = value; }

 private:
  int saved_;
};

inline bool ShouldRecord() {
  return g_recorder_started.load(std::memory_order_relaxed) && t_state.busy == 0 &&
         TheRecorder().active();
}

// Exact mode records every allocation. Sampled mode records the ones the sampler picks
// (sampler.h), and with caller_totals=1 counts every allocation's immediate caller
// exactly (no stack walk), which the report uses to sharpen its estimates
// (caller_totals.h).
inline bool ShouldSample(size_t size, uintptr_t caller) {
  const Recorder& recorder = TheRecorder();
  if (!recorder.sampled()) return true;
  if (recorder.count_callers()) CountCaller(caller, size);
  return SampleAllocation(size);
}

// Whether a free must go through the recorder: in sampled mode, only blocks that may
// have been sampled; freeing any other block costs one load.
inline bool MayBeRecorded(const void* p) {
  const Recorder& recorder = TheRecorder();
  return !recorder.sampled() || recorder.MaybeSampled(p);
}

// A block handed out untracked under the recursion guard: heapwarden's own, or the
// program's from a signal handler that interrupted a hook. Its address's earlier
// tracked free must not make the program's later free of it look like a double free.
inline void* Untracked(void* p) {
  if (p != nullptr && t_state.busy != 0 && g_recorder_started.load(std::memory_order_relaxed)) {
    ForgetRecentFree(reinterpret_cast<uintptr_t>(p));
  }
  return p;
}

void Record(void* p, size_t size, AllocKind kind, uintptr_t caller) {
  RecursionGuard guard;
  ErrnoSaver saved;
  TheRecorder().OnAllocate(p, size, kind, caller);
}

void* MallocSlow(size_t size, AllocKind kind, uintptr_t caller) {
  if (!EnsureRealAllocator()) return BootstrapAllocate(size);
  if (!ShouldRecord()) return Untracked(g_real.malloc(size));
  void* p = g_real.malloc(size);
  if (p != nullptr && ShouldSample(size, caller)) Record(p, size, kind, caller);
  return p;
}

// Sampled mode's common case, no sample point in this block, is decided before the
// allocation (tcmalloc's order): when this says true the countdown is taken and the
// caller tail-calls the real malloc, with nothing to keep across the call. Otherwise
// MallocSlow subtracts again (the countdown was left as it was) and samples. No
// recursion-guard test: heapwarden's own allocations (guard held) are served
// untracked either way; they only move this thread's next sample point, and the
// service thread has a countdown of its own.
__attribute__((always_inline)) inline bool MallocSkipsRecorder(size_t size) {
  if (!TheRecorder().sampled_fast()) return false;
  const int64_t left = t_state.sample_countdown - static_cast<int64_t>(size);
  if (__builtin_expect(left <= 0, 0)) return false;
  t_state.sample_countdown = left;
  return true;
}

inline void* MallocImpl(size_t size, AllocKind kind, uintptr_t caller) {
  if (MallocSkipsRecorder(size)) return g_real.malloc(size);
  return MallocSlow(size, kind, caller);
}

void* MemalignImpl(size_t alignment, size_t size, AllocKind kind, uintptr_t caller) {
  // glibc's answer for an alignment no power of two can round up to, whichever
  // allocator serves (mimalloc says ENOMEM).
  if (alignment > SIZE_MAX / 2 + 1) {
    errno = EINVAL;
    return nullptr;
  }
  if (!EnsureRealAllocator()) return BootstrapAllocate(size, alignment);
  void* p = g_real.memalign(alignment, size);
  if (p != nullptr && ShouldRecord() && ShouldSample(size, caller)) Record(p, size, kind, caller);
  return Untracked(p);
}

void ForgetBlock(void* p, AllocKind kind, uintptr_t caller) {
  RecursionGuard guard;
  ErrnoSaver saved;
  TheRecorder().OnFree(p, kind, caller);
}

// Out of line, so that sampled mode's common case saves no registers.
__attribute__((noinline)) void FreeSlow(void* p, AllocKind kind, uintptr_t caller) {
  if (p == nullptr || IsBootstrapPointer(p)) return;  // the pool never takes a block back
  if (ShouldRecord() && MayBeRecorded(p)) ForgetBlock(p, kind, caller);
  g_real.free(p);
}

// The real free through a pointer typed noexcept (it never throws): a noexcept
// operator delete may then tail-call it, where a call that might throw keeps a frame
// for the std::terminate the exception specification would need.
inline void RealFreeTail(void* p) {
  reinterpret_cast<void (*)(void*) noexcept>(g_real.free)(p);
}

// Each free entry point's body, a macro so that HW_CALLER (and with it the frame the
// unwinder needs) is evaluated only on the slow path: sampled mode's common case, a
// block no sample can be, is one load and a bitmap probe and a tail call of the real
// free, with no frame set up. The filter says "maybe" for every bootstrap-pool block
// (WatchBootstrapBlocks), so those reach FreeSlow, which keeps them from the real
// free. A null pointer goes either way: the real free ignores it, FreeSlow returns.
#define HW_FREE(p, kind)                                                     \
  do {                                                                       \
    if (heapwarden::internal::TheRecorder().FreeSkipsRecorder(p)) {          \
      return heapwarden::internal::RealFreeTail(p);                          \
    }                                                                        \
    heapwarden::internal::FreeSlow(p, kind, HW_CALLER);                      \
  } while (0)

void* ReallocImpl(void* p, size_t size, uintptr_t caller) {
  if (IsBootstrapPointer(p)) {
    // Move the block out of the pool; the pool never takes anything back.
    void* fresh = MallocImpl(size ? size : 1, kAllocMalloc, caller);
    if (fresh != nullptr) {
      size_t old = BootstrapUsableSize(p);
      memcpy(fresh, p, old < size ? old : size);
    }
    return fresh;
  }
  if (!EnsureRealAllocator()) return BootstrapAllocate(size);
  if (p == nullptr) return MallocImpl(size, kAllocMalloc, caller);
  if (!ShouldRecord()) return Untracked(g_real.realloc(p, size));
  // Sampled mode does not count realloc(p, 0) as an allocation: glibc frees p and
  // returns NULL. (Exact mode records whatever comes back: mimalloc returns a block.)
  const bool record_new = (size != 0 || !TheRecorder().sampled()) && ShouldSample(size, caller);
  if (!record_new && !MayBeRecorded(p)) return g_real.realloc(p, size);
  RecursionGuard guard;
  ErrnoSaver saved;
  Recorder& recorder = TheRecorder();
  LiveBlock old;
  bool tracked = recorder.OnFree(p, kAllocMalloc, caller, &old);
  void* q = g_real.realloc(p, size);
  int realloc_errno = errno;
  if (q != nullptr) {
    if (record_new) recorder.OnAllocate(q, size, kAllocMalloc, caller);
  } else if (size != 0 && tracked) {
    // Failed: the old block is still the program's.
    recorder.RestoreAfterFailedRealloc(old);
  }
  saved.Set(realloc_errno);
  return q;
}

// operator new's contract around an allocation: on failure call the new-handler and
// try again, or throw (return nullptr for the nothrow forms).
template <typename Allocate>
inline void* NewWithHandler(Allocate allocate, bool nothrow) {
  for (;;) {
    void* p = allocate();
    if (p != nullptr) return p;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) {
      if (nothrow) return nullptr;
      throw std::bad_alloc();
    }
    if (nothrow) {
      try {
        handler();
      } catch (...) {
        return nullptr;
      }
    } else {
      handler();
    }
  }
}

// Out of line: operator new's fast path (HW_NEW) saves no registers for it.
__attribute__((noinline)) void* NewImpl(size_t size, AllocKind kind, uintptr_t caller, bool nothrow) {
  return NewWithHandler([&] { return MallocImpl(size ? size : 1, kind, caller); }, nothrow);
}

void* AlignedNewImpl(size_t size, size_t alignment, AllocKind kind, uintptr_t caller,
                     bool nothrow) {
  return NewWithHandler([&] { return MemalignImpl(alignment, size ? size : 1, kind, caller); },
                        nothrow);
}

}  // namespace

bool ResolveRealAllocatorSlow() {
  if (t_state.busy != 0) return false;  // this thread is resolving: use the pool
  RecursionGuard guard;
  SpinLockHolder hold(g_resolve_lock);
  if (!g_real_ready.load(std::memory_order_relaxed)) {
    if (!ResolveRealAllocator(&g_real)) return false;
    // Until the constructor picks the backend, glibc's blocks outside the brk heap
    // are noted (backend.h): mimalloc must never be handed one.
    BeginGlibcPhase(&g_real);
    g_real_ready.store(true, std::memory_order_release);
  }
  return true;
}

}  // namespace heapwarden::internal

using heapwarden::internal::AlignedNewImpl;
using heapwarden::internal::BootstrapAllocate;
using heapwarden::internal::BootstrapUsableSize;
using heapwarden::internal::EnsureRealAllocator;
using heapwarden::internal::g_real;
using heapwarden::internal::IsBootstrapPointer;
using heapwarden::internal::kAllocMalloc;
using heapwarden::internal::kAllocNew;
using heapwarden::internal::kAllocNewArray;
using heapwarden::internal::MallocImpl;
using heapwarden::internal::MallocSkipsRecorder;
using heapwarden::internal::MallocSlow;
using heapwarden::internal::MemalignImpl;
using heapwarden::internal::NewImpl;
using heapwarden::internal::ReallocImpl;

#define HW_EXPORT extern "C" __attribute__((visibility("default")))

// The fast path first, HW_CALLER only after it: see MallocSkipsRecorder and HW_FREE.
HW_EXPORT void* malloc(size_t size) {
  if (MallocSkipsRecorder(size)) return g_real.malloc(size);
  return MallocSlow(size, kAllocMalloc, HW_CALLER);
}

HW_EXPORT void free(void* p) { HW_FREE(p, kAllocMalloc); }

HW_EXPORT void* calloc(size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  // The pool is zero-filled, so bootstrap calloc needs no memset.
  if (!EnsureRealAllocator()) return BootstrapAllocate(total);
  void* p = g_real.calloc(count, size);
  if (p != nullptr && heapwarden::internal::ShouldRecord() &&
      heapwarden::internal::ShouldSample(total, HW_CALLER)) {
    heapwarden::internal::Record(p, total, kAllocMalloc, HW_CALLER);
  }
  return heapwarden::internal::Untracked(p);
}

HW_EXPORT void* realloc(void* p, size_t size) { return ReallocImpl(p, size, HW_CALLER); }

HW_EXPORT void* reallocarray(void* p, size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  return ReallocImpl(p, total, HW_CALLER);
}

HW_EXPORT int posix_memalign(void** out, size_t alignment, size_t size) {
  if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) return EINVAL;
  int saved = errno;
  void* p = MemalignImpl(alignment, size, kAllocMalloc, HW_CALLER);
  int err = p == nullptr ? ENOMEM : 0;
  errno = saved;  // posix_memalign reports through its result, not errno
  if (p != nullptr) *out = p;
  return err;
}

// glibc 2.36's aligned_alloc is memalign: an alignment that is not a power of two is
// rounded up to one (aligned_alloc(3, 10) returns a block), and memalign says EINVAL
// only for one too large to round. The allocator in use decides, as for memalign.
HW_EXPORT void* aligned_alloc(size_t alignment, size_t size) {
  return MemalignImpl(alignment, size, kAllocMalloc, HW_CALLER);
}

HW_EXPORT void* memalign(size_t alignment, size_t size) {
  return MemalignImpl(alignment, size, kAllocMalloc, HW_CALLER);
}

HW_EXPORT void* valloc(size_t size) {
  return MemalignImpl(static_cast<size_t>(getpagesize()), size, kAllocMalloc, HW_CALLER);
}

HW_EXPORT void* pvalloc(size_t size) {
  size_t page = static_cast<size_t>(getpagesize());
  size_t rounded;
  if (__builtin_add_overflow(size, page - 1, &rounded)) {
    errno = ENOMEM;
    return nullptr;
  }
  rounded &= ~(page - 1);
  return MemalignImpl(page, rounded ? rounded : page, kAllocMalloc, HW_CALLER);
}

HW_EXPORT size_t malloc_usable_size(void* p) {
  if (p == nullptr) return 0;
  if (IsBootstrapPointer(p)) return BootstrapUsableSize(p);
  if (!EnsureRealAllocator()) return 0;
  return g_real.malloc_usable_size(p);
}

// C++ allocation functions. Replacing them (rather than letting libstdc++'s call
// malloc) is what lets the recorder tell new from new[] from malloc.
#define HW_NEW_EXPORT __attribute__((visibility("default")))

// operator new's body: sampled mode's common case as in malloc, HW_CALLER only on the
// slow path; a failed allocation goes to NewImpl, which tries again around the
// new-handler.
#define HW_NEW(size, kind, nothrow)                                                   \
  do {                                                                                \
    const size_t bytes = (size) ? (size) : 1;                                         \
    void* p = MallocSkipsRecorder(bytes) ? g_real.malloc(bytes)                       \
                                         : MallocSlow(bytes, kind, HW_CALLER);        \
    if (__builtin_expect(p != nullptr, 1)) return p;                                  \
    return NewImpl(size, kind, HW_CALLER, nothrow);                                   \
  } while (0)

HW_NEW_EXPORT void* operator new(size_t size) { HW_NEW(size, kAllocNew, false); }
HW_NEW_EXPORT void* operator new[](size_t size) { HW_NEW(size, kAllocNewArray, false); }
HW_NEW_EXPORT void* operator new(size_t size, const std::nothrow_t&) noexcept {
  HW_NEW(size, kAllocNew, true);
}
HW_NEW_EXPORT void* operator new[](size_t size, const std::nothrow_t&) noexcept {
  HW_NEW(size, kAllocNewArray, true);
}
HW_NEW_EXPORT void* operator new(size_t size, std::align_val_t align) {
  return AlignedNewImpl(size, static_cast<size_t>(align), kAllocNew, HW_CALLER, false);
}
HW_NEW_EXPORT void* operator new[](size_t size, std::align_val_t align) {
  return AlignedNewImpl(size, static_cast<size_t>(align), kAllocNewArray, HW_CALLER, false);
}
HW_NEW_EXPORT void* operator new(size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  return AlignedNewImpl(size, static_cast<size_t>(align), kAllocNew, HW_CALLER, true);
}
HW_NEW_EXPORT void* operator new[](size_t size, std::align_val_t align,
                                   const std::nothrow_t&) noexcept {
  return AlignedNewImpl(size, static_cast<size_t>(align), kAllocNewArray, HW_CALLER, true);
}

HW_NEW_EXPORT void operator delete(void* p) noexcept { HW_FREE(p, kAllocNew); }
HW_NEW_EXPORT void operator delete[](void* p) noexcept { HW_FREE(p, kAllocNewArray); }
HW_NEW_EXPORT void operator delete(void* p, const std::nothrow_t&) noexcept {
  HW_FREE(p, kAllocNew);
}
HW_NEW_EXPORT void operator delete[](void* p, const std::nothrow_t&) noexcept {
  HW_FREE(p, kAllocNewArray);
}
HW_NEW_EXPORT void operator delete(void* p, size_t) noexcept { HW_FREE(p, kAllocNew); }
HW_NEW_EXPORT void operator delete[](void* p, size_t) noexcept {
  HW_FREE(p, kAllocNewArray);
}
HW_NEW_EXPORT void operator delete(void* p, std::align_val_t) noexcept {
  HW_FREE(p, kAllocNew);
}
HW_NEW_EXPORT void operator delete[](void* p, std::align_val_t) noexcept {
  HW_FREE(p, kAllocNewArray);
}
HW_NEW_EXPORT void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  HW_FREE(p, kAllocNew);
}
HW_NEW_EXPORT void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  HW_FREE(p, kAllocNewArray);
}
HW_NEW_EXPORT void operator delete(void* p, size_t, std::align_val_t) noexcept {
  HW_FREE(p, kAllocNew);
}
HW_NEW_EXPORT void operator delete[](void* p, size_t, std::align_val_t) noexcept {
  HW_FREE(p, kAllocNewArray);
}
