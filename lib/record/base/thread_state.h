// thread_state.h: per-thread state of the record side: the reentrancy guard and the
// thread's current tag.
// Hot path: plain initial-exec TLS, so reading it never calls __tls_get_addr and
// never allocates (the preload is loaded at startup, where static TLS is available).
#ifndef HEAPWARDEN_LIB_RECORD_BASE_THREAD_STATE_H_
#define HEAPWARDEN_LIB_RECORD_BASE_THREAD_STATE_H_

#include <cstdint>

namespace heapwarden::internal {

struct ThreadCallerTable;  // caller_totals.h
struct ThreadWalkCache;    // walk_cache.h

struct ThreadState {
  // Non-zero while this thread runs heapwarden's own code: allocations made meanwhile
  // (by dlsym, libunwind, the report writer) are served untracked.
  uint32_t busy;
  // Id of the slash-joined tag path active on this thread (0: no tag).
  uint32_t tag_id;
  // Depth of the tag stack and the ids below the top, so pop restores the parent.
  uint32_t tag_depth;
  uint32_t tag_parents[31];
  // Highest address of this thread's stack (0 until the unwinder first needs it).
  uintptr_t stack_top;
  // Frame address of the interposed function the thread last entered (built with
  // frame pointers): lets the unwinder start at the program's frame instead of
  // walking heapwarden's own. Checked before use; may be stale.
  uintptr_t entry_frame;
  // mode=sampled (sampler.h): bytes this thread may still allocate before the next
  // sample point, and its random generator (0 until the thread's first allocation).
  int64_t sample_countdown;
  uint64_t sample_rng;
  // mode=sampled: this thread's exact counts per immediate caller (caller_totals.h),
  // and whether the thread's exit already handed them over.
  ThreadCallerTable* caller_table;
  uint32_t caller_table_released;
  // The site and tag of this thread's last recorded allocation: reused, without
  // hashing the stack again, when the unwinder proves the stack unchanged.
  uint32_t last_site;
  uint32_t last_site_tag;
  // The Python frames (python_stack.h) of that allocation, hashed; 0 when none.
  uint64_t last_python_signature;
  // What the thread's walks remember (walk_cache.h), and whether the thread's exit
  // already gave it away.
  ThreadWalkCache* walk_cache;
  uint32_t walk_cache_released;
};

extern __thread ThreadState t_state __attribute__((tls_model("initial-exec")));

// The calling thread's thread pointer (its TCB; static TLS sits just below it).
inline uintptr_t ThreadPointer() {
  uintptr_t tp;
  __asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
  return tp;
}

// While a RecursionGuard is held, this thread's allocations are not recorded.
class RecursionGuard {
 public:
  RecursionGuard() : entered_(t_state.busy == 0) { ++t_state.busy; }
  ~RecursionGuard() { --t_state.busy; }
  RecursionGuard(const RecursionGuard&) = delete;
  RecursionGuard& operator=(const RecursionGuard&) = delete;

  // True when this guard is the outermost one: the caller may record.
  bool entered() const { return entered_; }

 private:
  bool entered_;
};

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_BASE_THREAD_STATE_H_
