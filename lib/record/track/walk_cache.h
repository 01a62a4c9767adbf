// walk_cache.h: what a thread remembers from one allocation's stack walk to the next:
// the unwind rules of the return addresses it met, and the sites of its recent stacks
// by the walk's key (WalkKey, cfi_unwinder.h) instead of by their frames.
//
// Why the sites: a C++ program allocates from deep stacks (20-30 frames under each
// std::string or map node) that differ from one allocation to the next in their
// innermost few. Interning a whole stack costs a copy, a scan for heapwarden's own
// frames, a hash and a compare of every frame: about 1,000 instructions at 31 frames,
// most of exact mode's cost there. The walk memo already proves the outer frames
// unchanged and keeps a hash of them, so the stack's key costs a few instructions per
// new frame.
//
// A key is a 64-bit hash of the frames: two different stacks share one with
// probability 2^-64, and a lookup compares one entry, so a run of 10^10 allocations
// mistakes one stack for another with probability about 5 x 10^-10.
//
// Why the rules: the shared rule cache (cfi_unwinder.cc) is a 4 MiB table, so each
// lookup is a likely cache miss; a program whose stacks differ in their innermost
// frames (sqlite: six new frames a walk) looks up the same few dozen return addresses
// over and over. A thread's 256 most recent ones sit in 4 KiB.
//
// Hot path. Each thread has its own direct-mapped tables, mapped at its first keyed
// stack and handed to a later thread when it exits (keys name frames and rules carry
// the rule cache's generation, so the entries stay right). Only the owning thread
// reads or writes them: no atomics, no locks.
#ifndef HEAPWARDEN_LIB_RECORD_TRACK_WALK_CACHE_H_
#define HEAPWARDEN_LIB_RECORD_TRACK_WALK_CACHE_H_

#include <cstdint>

#include "record/base/thread_state.h"

namespace heapwarden::internal {

struct SiteCacheEntry {
  uint64_t key;  // 0: empty
  uint32_t tag;
  uint32_t site;
};

struct RuleCacheEntry {
  uint64_t pc;    // 0: empty
  uint64_t rule;  // as the shared rule cache encodes it, generation included
};

struct ThreadWalkCache {
  static constexpr int kBits = 8;
  static constexpr int kEntries = 1 << kBits;
  SiteCacheEntry sites[kEntries];
  RuleCacheEntry rules[kEntries];
};

// Registers the thread-exit hook. Call once, from Init, with the recursion guard held.
bool InitWalkCache();
// fork(): the child may have inherited the free list's lock held.
void ResetWalkCacheAfterFork();

// The calling thread's entry for (key, tag): *hit says whether it holds the site. If
// not, it now holds the key, and the caller stores the site it interns (or 0 in
// `key` to leave it empty). nullptr when the thread has no table. Maps the thread's
// table on its first call.
SiteCacheEntry* FindCachedSite(uint64_t key, uint32_t tag, bool* hit);

// The calling thread's rule entry for return address `pc` (compare its pc), or nullptr
// while the thread has no table (never maps one: the unwinder also runs outside the
// recorder).
inline RuleCacheEntry* ThreadRuleSlot(uintptr_t pc) {
  ThreadWalkCache* table = t_state.walk_cache;
  if (table == nullptr) return nullptr;
  return &table->rules[(pc * 0x9e3779b97f4a7c15ull) >> (64 - ThreadWalkCache::kBits)];
}

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_TRACK_WALK_CACHE_H_
