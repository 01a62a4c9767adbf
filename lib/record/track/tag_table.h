// tag_table.h: interns slash-joined tag paths ("epoch/load_batch") into small ids and
// keeps each tag's live and peak bytes.
// Hot path (lookups) and the API (push, pop): fixed capacity, paths in an mmap arena. Looking up a known (parent,
// name) pair is lock-free (an open-addressing index of atomics); one spin lock is
// taken only to create a path never seen before. The allocation path never calls
// Intern: it reads the thread's current id.
#ifndef HEAPWARDEN_LIB_RECORD_TRACK_TAG_TABLE_H_
#define HEAPWARDEN_LIB_RECORD_TRACK_TAG_TABLE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "record/base/spin_lock.h"

namespace heapwarden::internal {

// A tag's own figures (allocations made under exactly its path) and its total ones
// (its path and every path under it: "load" with "load/map").
struct TagStats {
  std::atomic<uint64_t> live_bytes{0};
  std::atomic<uint64_t> peak_live_bytes{0};
  std::atomic<uint64_t> children_live_bytes{0};  // live under the paths below it
  std::atomic<uint64_t> total_peak_live_bytes{0};  // highest live_bytes + children_live_bytes
};

class TagTable {
 public:
  static constexpr uint32_t kNoTag = 0;
  static constexpr uint32_t kMaxTags = 4096;
  static constexpr size_t kMaxNameBytes = 256;

  // Id of the path `parent`/`name` (or just `name` under kNoTag). Returns `parent`
  // when the table is full or the name is empty. Lock-free when the path is known.
  uint32_t Intern(uint32_t parent, const char* name);

  // Id of a whole slash-joined path, or kNoTag when no tag has that path.
  uint32_t Find(const char* path) const;

  const char* path(uint32_t id) const { return id < size() ? paths_[id] : ""; }
  uint32_t size() const { return count_.load(std::memory_order_acquire); }
  TagStats& stats(uint32_t id) { return stats_[id]; }

  // The tag's own figures, then each ancestor's children_live_bytes and every total
  // peak on the way: one more atomic add per level above the tag, a load and compare
  // per level. A total is two counters read a moment apart, so under concurrent
  // updates of one subtree its peak can be off by what moved in that moment.
  void OnAllocate(uint32_t id, uint64_t bytes) {
    uint64_t live = stats_[id].live_bytes.fetch_add(bytes, std::memory_order_relaxed) + bytes;
    RaisePeak(stats_[id].peak_live_bytes, live);
    RaisePeak(stats_[id].total_peak_live_bytes,
              live + stats_[id].children_live_bytes.load(std::memory_order_relaxed));
    for (uint32_t a = parent_[id]; a != kNoTag; a = parent_[a]) {
      const uint64_t children =
          stats_[a].children_live_bytes.fetch_add(bytes, std::memory_order_relaxed) + bytes;
      RaisePeak(stats_[a].total_peak_live_bytes,
                children + stats_[a].live_bytes.load(std::memory_order_relaxed));
    }
  }
  void OnFree(uint32_t id, uint64_t bytes) {
    stats_[id].live_bytes.fetch_sub(bytes, std::memory_order_relaxed);
    for (uint32_t a = parent_[id]; a != kNoTag; a = parent_[a]) {
      stats_[a].children_live_bytes.fetch_sub(bytes, std::memory_order_relaxed);
    }
  }
  // The tag and everything below it, live now.
  uint64_t total_live_bytes(uint32_t id) const {
    return stats_[id].live_bytes.load(std::memory_order_relaxed) +
           stats_[id].children_live_bytes.load(std::memory_order_relaxed);
  }
  // The tag directly above `id` ("load" for "load/map"), or kNoTag.
  uint32_t parent(uint32_t id) const { return id < size() ? parent_[id] : kNoTag; }

  // Bytes of heapwarden's own memory holding the paths.
  size_t mapped_bytes() const;

  void ResetAfterFork() { lock_.ResetAfterFork(); }
  SpinLock& lock() { return lock_; }

 private:
  static void RaisePeak(std::atomic<uint64_t>& peak, uint64_t value) {
    uint64_t seen = peak.load(std::memory_order_relaxed);
    while (value > seen && !peak.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
    }
  }

  static constexpr uint32_t kIndexSize = 2 * kMaxTags;  // load factor <= 0.5
  bool Matches(uint32_t id, uint32_t parent, const char* name, size_t name_len) const;

  SpinLock lock_;
  std::atomic<uint32_t> count_{1};
  const char* paths_[kMaxTags] = {""};
  const char* leaves_[kMaxTags] = {""};  // the last component, inside paths_[id]
  uint32_t parent_[kMaxTags] = {};
  std::atomic<uint32_t> index_[kIndexSize] = {};  // 0 = empty, else tag id
  TagStats stats_[kMaxTags];
};

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_TRACK_TAG_TABLE_H_
