// spin_lock.h: the only lock the record side uses.
// Record side: never allocates, never blocks in the kernel except sched_yield when a
// holder is slow. Held only around a few table operations, never across a call into
// the allocator, so fork() can take all of them in its prepare handler.
#ifndef HEAPWARDEN_LIB_RECORD_SPIN_LOCK_H_
#define HEAPWARDEN_LIB_RECORD_SPIN_LOCK_H_

#include <sched.h>

#include <atomic>

namespace heapwarden::internal {

class SpinLock {
 public:
  constexpr SpinLock() = default;
  SpinLock(const SpinLock&) = delete;
  SpinLock& operator=(const SpinLock&) = delete;

  void Lock() {
    if (!locked_.exchange(true, std::memory_order_acquire)) return;
    LockSlow();
  }
  bool TryLock() {
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }
  void Unlock() { locked_.store(false, std::memory_order_release); }

  // In a fork child only the forking thread survives; whatever it held is free again.
  void ResetAfterFork() { locked_.store(false, std::memory_order_relaxed); }

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

class SpinLockHolder {
 public:
  explicit SpinLockHolder(SpinLock& lock) : lock_(lock) { lock_.Lock(); }
  ~SpinLockHolder() { lock_.Unlock(); }
  SpinLockHolder(const SpinLockHolder&) = delete;
  SpinLockHolder& operator=(const SpinLockHolder&) = delete;

 private:
  SpinLock& lock_;
};

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_SPIN_LOCK_H_
