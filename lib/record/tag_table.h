// tag_table.h: interns slash-joined tag paths ("epoch/load_batch") into small ids and
// keeps each tag's live and peak bytes.
// Record side: fixed capacity, paths in an mmap arena, one spin lock taken only when
// a tag is pushed (never on the allocation path).
#ifndef HEAPWARDEN_LIB_RECORD_TAG_TABLE_H_
#define HEAPWARDEN_LIB_RECORD_TAG_TABLE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "record/spin_lock.h"

namespace heapwarden::internal {

struct TagStats {
  std::atomic<uint64_t> live_bytes{0};
  std::atomic<uint64_t> peak_live_bytes{0};
};

class TagTable {
 public:
  static constexpr uint32_t kNoTag = 0;
  static constexpr uint32_t kMaxTags = 4096;

  // Id of the path `parent`/`name` (or just `name` under kNoTag). Returns kNoTag when
  // the table is full or the name is empty.
  uint32_t Intern(uint32_t parent, const char* name);

  const char* path(uint32_t id) const { return id < size() ? paths_[id] : ""; }
  uint32_t size() const { return count_.load(std::memory_order_acquire); }
  TagStats& stats(uint32_t id) { return stats_[id]; }

  void OnAllocate(uint32_t id, uint64_t bytes) {
    uint64_t live = stats_[id].live_bytes.fetch_add(bytes, std::memory_order_relaxed) + bytes;
    uint64_t peak = stats_[id].peak_live_bytes.load(std::memory_order_relaxed);
    while (live > peak && !stats_[id].peak_live_bytes.compare_exchange_weak(
                              peak, live, std::memory_order_relaxed)) {
    }
  }
  void OnFree(uint32_t id, uint64_t bytes) {
    stats_[id].live_bytes.fetch_sub(bytes, std::memory_order_relaxed);
  }

  void ResetAfterFork() { lock_.ResetAfterFork(); }
  SpinLock& lock() { return lock_; }

 private:
  SpinLock lock_;
  std::atomic<uint32_t> count_{1};
  const char* paths_[kMaxTags] = {""};
  uint32_t parent_[kMaxTags] = {};
  TagStats stats_[kMaxTags];
};

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_TAG_TABLE_H_
