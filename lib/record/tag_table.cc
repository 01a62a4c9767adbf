// tag_table.cc: see tag_table.h. Record side.
#include "record/tag_table.h"

#include <cstring>

#include "record/mmap_arena.h"

namespace heapwarden::internal {
namespace {

MmapArena g_paths;

}  // namespace

uint32_t TagTable::Intern(uint32_t parent, const char* name) {
  if (name == nullptr || name[0] == '\0') return parent;
  size_t name_len = strnlen(name, 256);
  const char* parent_path = path(parent);
  size_t parent_len = strlen(parent_path);
  SpinLockHolder hold(lock_);
  uint32_t count = count_.load(std::memory_order_relaxed);
  // Tags are few and pushed far less often than memory is allocated: a scan will do.
  for (uint32_t id = 1; id < count; ++id) {
    if (parent_[id] != parent) continue;
    const char* leaf = paths_[id] + (parent_len ? parent_len + 1 : 0);
    if (strncmp(leaf, name, name_len) == 0 && leaf[name_len] == '\0') return id;
  }
  if (count >= kMaxTags) return parent;
  size_t total = parent_len + (parent_len ? 1 : 0) + name_len;
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
  parent_[count] = parent;
  count_.store(count + 1, std::memory_order_release);
  return count;
}

}  // namespace heapwarden::internal
