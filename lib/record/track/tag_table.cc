// tag_table.cc: see tag_table.h. Record side.
#include "record/track/tag_table.h"

#include <cstring>

#include "record/base/mmap_arena.h"

namespace heapwarden::internal {
namespace {

MmapArena g_paths;

uint64_t HashTag(uint32_t parent, const char* name, size_t len) {
  uint64_t h = 0xcbf29ce484222325ull ^ parent;
  for (size_t i = 0; i < len; ++i) {
    h ^= static_cast<unsigned char>(name[i]);
    h *= 0x100000001b3ull;
  }
  return h ^ (h >> 29);
}

}  // namespace

bool TagTable::Matches(uint32_t id, uint32_t parent, const char* name, size_t name_len) const {
  return parent_[id] == parent && strncmp(leaves_[id], name, name_len) == 0 &&
         leaves_[id][name_len] == '\0';
}

uint32_t TagTable::Intern(uint32_t parent, const char* name) {
  if (name == nullptr || name[0] == '\0') return parent;
  const size_t name_len = strnlen(name, kMaxNameBytes);
  const uint64_t hash = HashTag(parent, name, name_len);
  constexpr uint32_t kMask = kIndexSize - 1;
  // Fast path: a path pushed before. Ids are published in the index only after the
  // path, leaf and parent are written (release), so a hit sees a complete entry.
  uint32_t slot = static_cast<uint32_t>(hash) & kMask;
  for (;; slot = (slot + 1) & kMask) {
    uint32_t id = index_[slot].load(std::memory_order_acquire);
    if (id == 0) break;
    if (Matches(id, parent, name, name_len)) return id;
  }
  SpinLockHolder hold(lock_);
  for (slot = static_cast<uint32_t>(hash) & kMask;; slot = (slot + 1) & kMask) {
    uint32_t id = index_[slot].load(std::memory_order_relaxed);
    if (id == 0) break;
    if (Matches(id, parent, name, name_len)) return id;
  }
  uint32_t count = count_.load(std::memory_order_relaxed);
  if (count >= kMaxTags) return parent;
  const char* parent_path = path(parent);
  const size_t parent_len = strlen(parent_path);
  const size_t total = parent_len + (parent_len ? 1 : 0) + name_len;
  char* joined = static_cast<char*>(g_paths.Allocate(total + 1));
  if (joined == nullptr) return parent;
  char* out = joined;
  if (parent_len) {
    memcpy(out, parent_path, parent_len);
    out += parent_len;
    *out++ = '/';
  }
  memcpy(out, name, name_len);
  out[name_len] = '\0';
  paths_[count] = joined;
  leaves_[count] = out;
  parent_[count] = parent;
  count_.store(count + 1, std::memory_order_release);
  index_[slot].store(count, std::memory_order_release);
  return count;
}

uint32_t TagTable::Find(const char* path) const {
  if (path == nullptr || path[0] == '\0') return kNoTag;
  const uint32_t count = size();
  for (uint32_t id = 1; id < count; ++id) {
    if (strcmp(paths_[id], path) == 0) return id;
  }
  return kNoTag;
}

size_t TagTable::mapped_bytes() const { return g_paths.mapped_bytes(); }

}  // namespace heapwarden::internal
