// live_table.cc: see live_table.h. Record side.
#include "record/track/live_table.h"

#include "record/base/mmap_arena.h"

namespace heapwarden::internal {
namespace {

// One page per shard (128 x 24 bytes): 256 shards start at 1 MiB, not 3, and a small
// program's blocks stay within what the caches hold.
constexpr size_t kInitialCapacity = 128;

}  // namespace

bool LiveTable::Grow(Shard& shard) {
  return Rehash(shard, shard.capacity ? shard.capacity * 2 : kInitialCapacity);
}

bool LiveTable::Rehash(Shard& shard, size_t capacity) {
  auto* slots = static_cast<LiveBlock*>(MapPages(sizeof(LiveBlock) * capacity));
  if (slots == nullptr) return false;
  const size_t mask = capacity - 1;
  for (size_t i = 0; i < shard.capacity; ++i) {
    const LiveBlock& b = shard.slots[i];
    if (b.address == 0) continue;
    size_t j = Hash(b.address) & mask;
    while (slots[j].address != 0) j = (j + 1) & mask;
    slots[j] = b;
  }
  UnmapPages(shard.slots, sizeof(LiveBlock) * shard.capacity);
  shard.slots = slots;
  shard.capacity = capacity;
  return true;
}

bool LiveTable::Insert(const LiveBlock& block) {
  const uint64_t hash = Hash(block.address);
  Shard& shard = ShardFor(this, block.address);
  SpinLockHolder hold(shard.lock);
  // Keep the load factor under 3/4 so probes stay short.
  if ((shard.count + 1) * 4 > shard.capacity * 3 && !Grow(shard)) return false;
  const size_t mask = shard.capacity - 1;
  size_t i = hash & mask;
  while (shard.slots[i].address != 0) {
    if (shard.slots[i].address == block.address) {
      // The allocator handed out an address we still thought live: the free that
      // released it went around us (e.g. a block freed by the allocator itself).
      shard.slots[i] = block;
      return true;
    }
    i = (i + 1) & mask;
  }
  shard.slots[i] = block;
  ++shard.count;
  return true;
}

inline long LiveTable::SlotOf(const Shard& shard, uintptr_t address, uint64_t hash) {
  if (shard.capacity == 0) return -1;
  const size_t mask = shard.capacity - 1;
  for (size_t i = hash & mask; shard.slots[i].address != 0; i = (i + 1) & mask) {
    if (shard.slots[i].address == address) return static_cast<long>(i);
  }
  return -1;
}

bool LiveTable::Find(uintptr_t address, LiveBlock* out) {
  const uint64_t hash = Hash(address);
  Shard& shard = ShardFor(this, address);
  SpinLockHolder hold(shard.lock);
  const long slot = SlotOf(shard, address, hash);
  if (slot < 0) return false;
  *out = shard.slots[slot];
  return true;
}

bool LiveTable::Erase(uintptr_t address, LiveBlock* out) {
  const uint64_t hash = Hash(address);
  Shard& shard = ShardFor(this, address);
  SpinLockHolder hold(shard.lock);
  const long slot = SlotOf(shard, address, hash);
  if (slot < 0) return false;
  const size_t mask = shard.capacity - 1;
  const size_t i = static_cast<size_t>(slot);
  *out = shard.slots[i];
  // Backward-shift deletion: pull later members of the probe run into the hole, so
  // lookups never need tombstones.
  size_t hole = i;
  for (size_t j = (i + 1) & mask; shard.slots[j].address != 0; j = (j + 1) & mask) {
    size_t home = Hash(shard.slots[j].address) & mask;
    // Move j into the hole unless its home lies cyclically in (hole, j].
    bool home_in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!home_in_range) {
      shard.slots[hole] = shard.slots[j];
      hole = j;
    }
  }
  shard.slots[hole].address = 0;
  --shard.count;
  return true;
}

size_t LiveTable::ShrinkToFit() {
  size_t released = 0;
  for (Shard& shard : shards_) {
    SpinLockHolder hold(shard.lock);
    if (shard.capacity <= kInitialCapacity || shard.count * 8 >= shard.capacity) continue;
    size_t capacity = kInitialCapacity;
    while (capacity < shard.count * 4) capacity *= 2;
    size_t old = shard.capacity;
    if (capacity < old && Rehash(shard, capacity)) released += (old - capacity) * sizeof(LiveBlock);
  }
  return released;
}

size_t LiveTable::mapped_bytes() {
  size_t total = 0;
  for (Shard& s : shards_) {
    SpinLockHolder hold(s.lock);
    total += s.capacity * sizeof(LiveBlock);
  }
  return total;
}

}  // namespace heapwarden::internal
