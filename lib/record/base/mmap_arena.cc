// mmap_arena.cc: see mmap_arena.h. Record side.
#include "record/base/mmap_arena.h"

#include <sys/mman.h>
#include <sys/resource.h>

#include <atomic>
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

uint32_t ScaledCapacity(uint32_t max_entries, size_t entry_bytes, uint32_t per_mille,
                        uint32_t min_entries) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return max_entries;
  const uint64_t budget = static_cast<uint64_t>(limit.rlim_cur) / 1000 * per_mille;
  uint64_t entries = budget / entry_bytes;
  if (entries < min_entries) entries = min_entries;
  return entries >= max_entries ? max_entries : static_cast<uint32_t>(entries);
}

namespace {
std::atomic<void*> g_report_reserve{nullptr};
size_t g_report_reserve_bytes = 0;
}  // namespace

void HoldReportReserve() {
  struct rlimit limit;
  if (g_report_reserve.load() != nullptr || getrlimit(RLIMIT_AS, &limit) != 0 ||
      limit.rlim_cur == RLIM_INFINITY) {
    return;
  }
  size_t bytes = static_cast<size_t>(limit.rlim_cur / 128) & ~size_t{4095};
  if (bytes < (size_t{4} << 20)) bytes = size_t{4} << 20;
  if (bytes > (size_t{32} << 20)) bytes = size_t{32} << 20;
  // PROT_NONE: address space only (what RLIMIT_AS counts), never memory.
  void* p = mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return;
  g_report_reserve_bytes = bytes;
  g_report_reserve.store(p);
}

void ReleaseReportReserve() {
  void* p = g_report_reserve.exchange(nullptr);
  if (p != nullptr) munmap(p, g_report_reserve_bytes);
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
