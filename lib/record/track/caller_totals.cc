// caller_totals.cc: see caller_totals.h. Record side.
#include "record/track/caller_totals.h"

#include <pthread.h>

#include "record/base/mmap_arena.h"
#include "record/base/table_free_list.h"

namespace heapwarden::internal {
namespace {

// Callers whose counts left a thread table: evicted entries and exited threads.
constexpr int kSharedBits = 16;
constexpr size_t kSharedEntries = size_t{1} << kSharedBits;
constexpr int kMaxProbes = 64;
// Every thread table ever made, so that a reader can find them; a thread that exits
// hands its (emptied) table to the next thread that starts.
constexpr size_t kMaxTables = 8192;

struct Shared {
  CallerCount* entries = nullptr;
  std::atomic<uint64_t> overflow_bytes{0};  // callers that found no slot
  std::atomic<uint64_t> overflow_blocks{0};
  std::atomic<ThreadCallerTable*> tables[kMaxTables] = {};
  std::atomic<size_t> table_count{0};
  TableFreeList<ThreadCallerTable, kMaxTables> free_tables;
  pthread_key_t exit_key = 0;
  bool ready = false;
};

constinit Shared g;

size_t SharedSlot(uintptr_t caller) {
  return static_cast<size_t>((caller * 0xbf58476d1ce4e5b9ull) >> (64 - kSharedBits));
}

void AddShared(uintptr_t caller, uint64_t bytes, uint64_t blocks) {
  if (bytes == 0 && blocks == 0) return;
  size_t slot = SharedSlot(caller);
  for (int probe = 0; probe < kMaxProbes; ++probe, slot = (slot + 1) & (kSharedEntries - 1)) {
    CallerCount& e = g.entries[slot];
    uint64_t key = e.caller.load(std::memory_order_acquire);
    if (key == 0) {
      uint64_t expected = 0;
      if (!e.caller.compare_exchange_strong(expected, caller, std::memory_order_acq_rel) &&
          expected != caller) {
        continue;
      }
      key = caller;
    }
    if (key != caller) continue;
    e.bytes.fetch_add(bytes, std::memory_order_relaxed);
    e.blocks.fetch_add(blocks, std::memory_order_relaxed);
    return;
  }
  g.overflow_bytes.fetch_add(bytes, std::memory_order_relaxed);
  g.overflow_blocks.fetch_add(blocks, std::memory_order_relaxed);
}

// Moves an entry's counts to the shared table and empties it. A reader between the
// two steps counts them twice: a snapshot's figure may run a hair high, never low.
void Flush(CallerCount& e) {
  const uint64_t caller = e.caller.load(std::memory_order_relaxed);
  if (caller == 0) return;
  AddShared(caller, e.bytes.load(std::memory_order_relaxed), e.blocks.load(std::memory_order_relaxed));
  e.bytes.store(0, std::memory_order_relaxed);
  e.blocks.store(0, std::memory_order_relaxed);
  e.caller.store(0, std::memory_order_relaxed);
}

// Thread exit (a pthread key destructor): hand the counts over, free the table.
void ReleaseThreadTable(void* value) {
  auto* table = static_cast<ThreadCallerTable*>(value);
  t_state.caller_table = nullptr;
  t_state.caller_table_released = 1;  // this thread's last allocations go to the shared table
  if (table == nullptr) return;
  for (CallerCount& e : table->entries) Flush(e);
  g.free_tables.Give(table);  // beyond kMaxTables at once, a table is let go
}

ThreadCallerTable* AcquireThreadTable() {
  if (ThreadCallerTable* kept = g.free_tables.Take()) return kept;
  const size_t index = g.table_count.load(std::memory_order_relaxed);
  if (index >= kMaxTables) return nullptr;
  auto* table = static_cast<ThreadCallerTable*>(MapPages(sizeof(ThreadCallerTable), /*reserve_only=*/true));
  if (table == nullptr) return nullptr;
  const size_t slot = g.table_count.fetch_add(1, std::memory_order_acq_rel);
  if (slot >= kMaxTables) {
    UnmapPages(table, sizeof(ThreadCallerTable));
    return nullptr;
  }
  g.tables[slot].store(table, std::memory_order_release);
  return table;
}

}  // namespace

bool InitCallerTotals() {
  g.entries = static_cast<CallerCount*>(MapPages(sizeof(CallerCount) * kSharedEntries, /*reserve_only=*/true));
  if (g.entries == nullptr) return false;
  if (pthread_key_create(&g.exit_key, ReleaseThreadTable) != 0) return false;
  g.ready = true;
  return true;
}

void ResetCallerTotalsAfterFork() { g.free_tables.ResetAfterFork(); }

void CountCallerSlow(uintptr_t caller, uint64_t size) {
  if (!g.ready) return;
  ThreadCallerTable* table = t_state.caller_table;
  if (table == nullptr) {
    if (t_state.caller_table_released == 0) {
      // The thread's first counted allocation. pthread_setspecific may allocate: that
      // allocation is served untracked.
      RecursionGuard guard;
      table = AcquireThreadTable();
      if (table != nullptr) {
        t_state.caller_table = table;
        pthread_setspecific(g.exit_key, table);
      }
    }
    if (table == nullptr) {
      AddShared(caller, size, 1);
      return;
    }
  }
  CallerCount& e = ThreadSlot(table, caller);
  if (e.caller.load(std::memory_order_relaxed) != caller) {
    Flush(e);  // another caller held the slot
    e.caller.store(caller, std::memory_order_relaxed);
  }
  AddToThreadSlot(e, size);
}

// ---- Reading ---------------------------------------------------------------------------

bool CallerTotalsReader::Load() {
  if (!g.ready) return false;
  size_t used = 0;
  for (const CallerCount& e : std::span<const CallerCount>(g.entries, kSharedEntries)) {
    used += e.caller.load(std::memory_order_relaxed) != 0;
  }
  const size_t tables = g.table_count.load(std::memory_order_acquire);
  for (size_t t = 0; t < tables && t < kMaxTables; ++t) {
    const ThreadCallerTable* table = g.tables[t].load(std::memory_order_acquire);
    if (table == nullptr) continue;
    for (const CallerCount& e : table->entries) used += e.caller.load(std::memory_order_relaxed) != 0;
  }
  capacity_ = 1024;
  while (capacity_ < used * 2) capacity_ *= 2;
  entries_ = static_cast<Entry*>(MapPages(sizeof(Entry) * capacity_));
  if (entries_ == nullptr) return false;
  for (const CallerCount& e : std::span<const CallerCount>(g.entries, kSharedEntries)) {
    Add(e.caller.load(std::memory_order_relaxed), e.bytes.load(std::memory_order_relaxed),
        e.blocks.load(std::memory_order_relaxed));
  }
  for (size_t t = 0; t < tables && t < kMaxTables; ++t) {
    const ThreadCallerTable* table = g.tables[t].load(std::memory_order_acquire);
    if (table == nullptr) continue;
    for (const CallerCount& e : table->entries) {
      Add(e.caller.load(std::memory_order_relaxed), e.bytes.load(std::memory_order_relaxed),
          e.blocks.load(std::memory_order_relaxed));
    }
  }
  total_bytes_ += g.overflow_bytes.load(std::memory_order_relaxed);
  total_blocks_ += g.overflow_blocks.load(std::memory_order_relaxed);
  return true;
}

CallerTotalsReader::~CallerTotalsReader() {
  if (entries_ != nullptr) UnmapPages(entries_, sizeof(Entry) * capacity_);
}

void CallerTotalsReader::Add(uintptr_t caller, uint64_t bytes, uint64_t blocks) {
  if (caller == 0) return;
  total_bytes_ += bytes;
  total_blocks_ += blocks;
  for (size_t i = SharedSlot(caller) & (capacity_ - 1);; i = (i + 1) & (capacity_ - 1)) {
    if (entries_[i].caller == 0) entries_[i].caller = caller;
    if (entries_[i].caller != caller) continue;
    entries_[i].bytes += bytes;
    entries_[i].blocks += blocks;
    return;
  }
}

CallerTotalsReader::Entry* CallerTotalsReader::FindEntry(uintptr_t caller) const {
  if (entries_ == nullptr || caller == 0) return nullptr;
  for (size_t i = SharedSlot(caller) & (capacity_ - 1); entries_[i].caller != 0;
       i = (i + 1) & (capacity_ - 1)) {
    if (entries_[i].caller == caller) return &entries_[i];
  }
  return nullptr;
}

bool CallerTotalsReader::Find(uintptr_t caller, uint64_t* bytes, uint64_t* blocks) const {
  const Entry* e = FindEntry(caller);
  if (e == nullptr) return false;
  *bytes = e->bytes;
  *blocks = e->blocks;
  return true;
}

void CallerTotalsReader::NoteSampled(uintptr_t caller, uint64_t bytes, uint64_t blocks) {
  Entry* e = FindEntry(caller);
  if (e == nullptr) return;
  e->sampled_bytes += static_cast<double>(bytes);
  e->sampled_blocks += static_cast<double>(blocks);
}

void CallerTotalsReader::Scale(uintptr_t caller, uint64_t* bytes, uint64_t* blocks) const {
  const Entry* e = FindEntry(caller);
  if (e == nullptr) return;
  if (e->sampled_bytes > 0) {
    *bytes = static_cast<uint64_t>(static_cast<double>(*bytes) * static_cast<double>(e->bytes) / e->sampled_bytes + 0.5);
  }
  if (e->sampled_blocks > 0) {
    *blocks = static_cast<uint64_t>(static_cast<double>(*blocks) * static_cast<double>(e->blocks) / e->sampled_blocks + 0.5);
  }
}

}  // namespace heapwarden::internal
