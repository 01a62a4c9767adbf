// mmap_arena.cc: see mmap_arena.h. Record side.
#include "record/base/mmap_arena.h"

#include <sys/mman.h>

#include <cstdint>

namespace heapwarden::internal {

void* MapPages(size_t bytes, bool reserve_only) {
  int flags = MAP_PRIVATE | MAP_ANONYMOUS | (reserve_only ? MAP_NORESERVE : 0);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, flags, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

void UnmapPages(void* p, size_t bytes) {
  if (p != nullptr) munmap(p, bytes);
}

void* MmapArena::Allocate(size_t bytes) {
  bytes = (bytes + 15) & ~size_t{15};
  SpinLockHolder hold(lock_);
  if (cursor_ == nullptr || static_cast<size_t>(end_ - cursor_) < bytes) {
    size_t chunk = bytes > kChunkBytes ? (bytes + 4095) & ~size_t{4095} : kChunkBytes;
    void* fresh = MapPages(chunk);
    if (fresh == nullptr) return nullptr;
    mapped_bytes_ += chunk;
    cursor_ = static_cast<char*>(fresh);
    end_ = cursor_ + chunk;
  }
  void* result = cursor_;
  cursor_ += bytes;
  return result;
}

}  // namespace heapwarden::internal
