// table_free_list.h: per-thread tables kept after their thread exits, for the next
// thread that starts, so that a program starting and ending threads all day maps no
// more tables than it ever had threads at once.
// Calling context: thread exit (a pthread key destructor) and a thread's first use of
// its table; a short spin lock, no allocation.
#ifndef HEAPWARDEN_LIB_RECORD_BASE_TABLE_FREE_LIST_H_
#define HEAPWARDEN_LIB_RECORD_BASE_TABLE_FREE_LIST_H_

#include "record/base/spin_lock.h"

namespace heapwarden::internal {

template <typename Table, int kMaxTables>
class TableFreeList {
 public:
  constexpr TableFreeList() = default;

  // Keeps `table` for a later thread; false when the list is full (the caller then
  // unmaps it or lets it go).
  bool Give(Table* table) {
    SpinLockHolder hold(lock_);
    if (count_ >= kMaxTables) return false;
    tables_[count_++] = table;
    return true;
  }

  // A kept table, or nullptr. It holds what its last thread left in it.
  Table* Take() {
    SpinLockHolder hold(lock_);
    return count_ > 0 ? tables_[--count_] : nullptr;
  }

  // fork(): the child may have inherited the lock held.
  void ResetAfterFork() { lock_.ResetAfterFork(); }

 private:
  SpinLock lock_;
  Table* tables_[kMaxTables] ABSL_GUARDED_BY(lock_) = {};
  int count_ ABSL_GUARDED_BY(lock_) = 0;
};

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_BASE_TABLE_FREE_LIST_H_
