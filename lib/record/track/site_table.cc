// site_table.cc: see site_table.h. Record side.
#include "record/track/site_table.h"

#include <cstring>

#include "record/base/mmap_arena.h"
#include "record/base/thread_state.h"

namespace heapwarden::internal {
namespace {

MmapArena g_frames;

uint64_t SiteHash(uint64_t stack_hash, uint32_t tag_id, Source source) {
  uint64_t h = stack_hash ^ (static_cast<uint64_t>(tag_id) << 32) ^ source;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 29);
}

bool SameFrames(const Stack& s, const uintptr_t* frames, int depth) {
  return s.depth == static_cast<uint32_t>(depth) &&
         memcmp(s.frames, frames, sizeof(uintptr_t) * static_cast<size_t>(depth)) == 0;
}

}  // namespace

bool SiteTable::Init(ModuleTable* modules) {
  modules_ = modules;
  // Under ulimit -v the tables take about 1.5% of the limit (the peak's copies as much
  // again), not the 500 MB they reserve otherwise.
  static_assert(kMaxStacks == kMaxSites && kIndexSize == 2 * kMaxSites);
  capacity_ = ScaledCapacity(kMaxSites, sizeof(Site) + sizeof(Stack) + 8 * sizeof(uint32_t),
                             /*per_mille=*/15, /*min_entries=*/4096);
  uint32_t index_size = 1;
  while (index_size < 2 * capacity_) index_size *= 2;  // load factor <= 0.5
  index_mask_ = index_size - 1;
  sites_ = static_cast<Site*>(MapPages(sizeof(Site) * capacity_, true));
  stacks_ = static_cast<Stack*>(MapPages(sizeof(Stack) * capacity_, true));
  site_index_ = static_cast<std::atomic<uint32_t>*>(MapPages(sizeof(uint32_t) * index_size, true));
  stack_index_ = static_cast<uint32_t*>(MapPages(sizeof(uint32_t) * index_size, true));
  if (!sites_ || !stacks_ || !site_index_ || !stack_index_) {
    // Tracking is off: the program gets back what was reserved.
    UnmapPages(sites_, sizeof(Site) * capacity_);
    UnmapPages(stacks_, sizeof(Stack) * capacity_);
    UnmapPages(site_index_, sizeof(uint32_t) * index_size);
    UnmapPages(stack_index_, sizeof(uint32_t) * index_size);
    sites_ = nullptr;
    stacks_ = nullptr;
    site_index_ = nullptr;
    stack_index_ = nullptr;
    return false;
  }
  // Stack 0 is empty and site 0 is the overflow site; both exist from the start so
  // that ids stored in the live table are always valid.
  stacks_[0] = Stack{0, 0, nullptr, nullptr};
  stack_count_.store(1, std::memory_order_release);
  sites_[0].stack_id = 0;
  site_count_.store(1, std::memory_order_release);
  return true;
}

uint32_t SiteTable::Intern(const uintptr_t* frames, int depth, uint32_t tag_id, Source source) {
  if (sites_ == nullptr) return kOverflowSite;
  const uint64_t stack_hash = HashFrames(frames, depth);
  const uint64_t hash = SiteHash(stack_hash, tag_id, source);
  for (uint32_t slot = static_cast<uint32_t>(hash) & index_mask_;;
       slot = (slot + 1) & index_mask_) {
    uint32_t id = site_index_[slot].load(std::memory_order_acquire);
    if (id == 0) break;
    const Site& s = sites_[id];
    if (s.hash == hash && s.tag_id == tag_id && s.source == source &&
        SameFrames(stacks_[s.stack_id], frames, depth)) {
      return id;
    }
  }
  SpinLockHolder hold(insert_lock_);
  return CreateSiteLocked(frames, depth, tag_id, source, hash);
}

uint32_t SiteTable::CreateSiteLocked(const uintptr_t* frames, int depth, uint32_t tag_id,
                                     Source source, uint64_t hash) {
  // Another thread may have created it between our probe and taking the lock.
  uint32_t slot = static_cast<uint32_t>(hash) & index_mask_;
  for (;; slot = (slot + 1) & index_mask_) {
    uint32_t id = site_index_[slot].load(std::memory_order_relaxed);
    if (id == 0) break;
    const Site& s = sites_[id];
    if (s.hash == hash && s.tag_id == tag_id && s.source == source &&
        SameFrames(stacks_[s.stack_id], frames, depth)) {
      return id;
    }
  }
  uint32_t count = site_count_.load(std::memory_order_relaxed);
  uint32_t stack_id = InternStackLocked(frames, depth, HashFrames(frames, depth));
  if (count >= capacity_ || stack_id == 0) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return kOverflowSite;
  }
  Site& s = sites_[count];  // zero-filled pages: counters start at 0
  s.hash = hash;
  s.stack_id = stack_id;
  s.tag_id = tag_id;
  s.source = source;
  s.owner = ThreadPointer();
  site_count_.store(count + 1, std::memory_order_release);
  // Publish last: a reader that sees the id sees a complete site.
  site_index_[slot].store(count, std::memory_order_release);
  return count;
}

uint64_t SiteTable::frames_mapped_bytes() const { return g_frames.mapped_bytes(); }

uint32_t SiteTable::InternStackLocked(const uintptr_t* frames, int depth, uint64_t hash) {
  uint32_t slot = static_cast<uint32_t>(hash) & index_mask_;
  for (;; slot = (slot + 1) & index_mask_) {
    uint32_t id = stack_index_[slot];
    if (id == 0) break;
    if (stacks_[id].hash == hash && SameFrames(stacks_[id], frames, depth)) return id;
  }
  uint32_t count = stack_count_.load(std::memory_order_relaxed);
  if (count >= capacity_) return 0;
  size_t frame_bytes = sizeof(uintptr_t) * static_cast<size_t>(depth);
  auto* copy = static_cast<uintptr_t*>(g_frames.Allocate(frame_bytes));
  auto* mods = static_cast<uint32_t*>(g_frames.Allocate(sizeof(uint32_t) * static_cast<size_t>(depth)));
  if (copy == nullptr || mods == nullptr) return 0;
  memcpy(copy, frames, frame_bytes);
  for (int i = 0; i < depth; ++i) mods[i] = modules_->Resolve(frames[i]);
  stacks_[count] = Stack{hash, static_cast<uint32_t>(depth), copy, mods};
  stack_count_.store(count + 1, std::memory_order_release);
  stack_index_[slot] = count;
  return count;
}

}  // namespace heapwarden::internal
