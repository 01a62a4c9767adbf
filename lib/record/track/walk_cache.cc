// walk_cache.cc: see walk_cache.h. Record side, hot path.
#include "record/track/walk_cache.h"

#include <pthread.h>

#include "record/base/mmap_arena.h"
#include "record/base/table_free_list.h"
#include "record/base/thread_state.h"

namespace heapwarden::internal {
namespace {

// Tables of exited threads, for the next threads. Beyond this many at once a table
// is unmapped.
constexpr int kMaxFreeTables = 256;

struct Shared {
  TableFreeList<ThreadWalkCache, kMaxFreeTables> free_tables;
  pthread_key_t exit_key = 0;
  bool ready = false;
};

constinit Shared g;

// Thread exit (a pthread key destructor).
void ReleaseTable(void* value) {
  auto* table = static_cast<ThreadWalkCache*>(value);
  t_state.walk_cache = nullptr;
  t_state.walk_cache_released = 1;  // the thread's last allocations go without
  if (table != nullptr && !g.free_tables.Give(table)) UnmapPages(table, sizeof(ThreadWalkCache));
}

__attribute__((noinline)) ThreadWalkCache* AcquireTable() {
  if (!g.ready || t_state.walk_cache_released != 0) return nullptr;
  ThreadWalkCache* table = g.free_tables.Take();
  if (table == nullptr) table = static_cast<ThreadWalkCache*>(MapPages(sizeof(ThreadWalkCache)));
  if (table == nullptr) {
    t_state.walk_cache_released = 1;  // do not try again on every allocation
    return nullptr;
  }
  t_state.walk_cache = table;
  // May allocate: the recorder holds the recursion guard, so that is served untracked.
  pthread_setspecific(g.exit_key, table);
  return table;
}

}  // namespace

bool InitWalkCache() {
  if (pthread_key_create(&g.exit_key, ReleaseTable) != 0) return false;
  g.ready = true;
  return true;
}

void ResetWalkCacheAfterFork() { g.free_tables.ResetAfterFork(); }

SiteCacheEntry* FindCachedSite(uint64_t key, uint32_t tag, bool* hit) {
  ThreadWalkCache* table = t_state.walk_cache;
  if (table == nullptr && (table = AcquireTable()) == nullptr) {
    *hit = false;
    return nullptr;
  }
  // The key is already a hash; the tag moves tagged stacks to other slots.
  const uint64_t h = (key ^ (uint64_t{tag} * 0x9e3779b97f4a7c15ull)) >> (64 - ThreadWalkCache::kBits);
  SiteCacheEntry& e = table->sites[h];
  *hit = e.key == key && e.tag == tag;
  if (!*hit) {
    e.key = key;
    e.tag = tag;
    e.site = 0;
  }
  return &e;
}

}  // namespace heapwarden::internal
