// spin_lock.h: the only lock the record side uses.
// Any context: never allocates, never blocks in the kernel except sched_yield when a
// holder is slow. Held only around a few table operations, never across a call into
// the allocator, so fork() can take all of them in its prepare handler.
// Annotated for clang's -Wthread-safety (the CI's clang build checks it): a member
// marked ABSL_GUARDED_BY(lock_) cannot be touched without the lock held.
#ifndef HEAPWARDEN_LIB_RECORD_BASE_SPIN_LOCK_H_
#define HEAPWARDEN_LIB_RECORD_BASE_SPIN_LOCK_H_

#include <sched.h>

#include <atomic>

#include "absl/base/thread_annotations.h"

namespace heapwarden::internal {

class ABSL_LOCKABLE SpinLock {
 public:
  constexpr SpinLock() = default;
  SpinLock(const SpinLock&) = delete;
  SpinLock& operator=(const SpinLock&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    if (!locked_.exchange(true, std::memory_order_acquire)) return;
    LockSlow();
  }
  bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) {
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }
  // Tries up to `attempts` times, yielding between tries: for a reader that must not
  // wait for ever on a holder that may be stopped (the exit-time leak scan stops threads).
  bool TryLockBounded(int attempts) ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true)
      ABSL_NO_THREAD_SAFETY_ANALYSIS {
    for (int i = 0; i < attempts; ++i) {
      if (TryLock()) return true;
      sched_yield();
    }
    return false;
  }
  void Unlock() ABSL_UNLOCK_FUNCTION() { locked_.store(false, std::memory_order_release); }

  // In a fork child only the forking thread survives; whatever it held is free again.
  void ResetAfterFork() ABSL_NO_THREAD_SAFETY_ANALYSIS { locked_.store(false, std::memory_order_relaxed); }

 private:
  void LockSlow() {
    for (unsigned spins = 0;; ++spins) {
      while (locked_.load(std::memory_order_relaxed)) {
        if (++spins < 128) {
          __builtin_ia32_pause();
        } else {
          sched_yield();
        }
      }
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
    }
  }

  std::atomic<bool> locked_{false};
};

class ABSL_SCOPED_LOCKABLE SpinLockHolder {
 public:
  explicit SpinLockHolder(SpinLock& lock) ABSL_EXCLUSIVE_LOCK_FUNCTION(lock) : lock_(lock) { lock_.Lock(); }
  ~SpinLockHolder() ABSL_UNLOCK_FUNCTION() { lock_.Unlock(); }
  SpinLockHolder(const SpinLockHolder&) = delete;
  SpinLockHolder& operator=(const SpinLockHolder&) = delete;

 private:
  SpinLock& lock_;
};

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_BASE_SPIN_LOCK_H_
