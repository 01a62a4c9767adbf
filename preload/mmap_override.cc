// mmap_override.cc: the program's own anonymous mappings: mmap, mmap64, munmap and
// mremap, interposed so that memory mapped outside malloc (CPython's pymalloc arenas,
// allocators compiled into libraries) is charged to its call site as "mapped".
// Preload side: glue only; the bookkeeping is lib/record/mapped_regions.
//
// What is NOT seen, by construction: glibc's malloc maps and unmaps its chunks with
// internal calls that never go through the PLT, and so does the dynamic loader; the
// tests check that a 64 MiB malloc leaves no mapped site. What is seen and skipped:
// file mappings, PROT_NONE reservations, calls made while the recursion guard is held
// (heapwarden's own tables, libunwind), and calls from heapwarden's or the serving
// allocator's code (libmimalloc reaches mmap through the PLT).
//
// The real calls are raw system calls: no symbol lookup (which could allocate) and
// nothing to resolve before the first call.
#include <errno.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <dlfcn.h>
#include <link.h>

#include <cstdint>

#include "preload/mmap_override.h"
#include "record/alloc/backend.h"
#include "record/track/mapped_regions.h"
#include "record/track/recorder.h"
#include "record/base/thread_state.h"

namespace heapwarden::internal {
namespace {

#define HW_MAP_CALLER reinterpret_cast<uintptr_t>(__builtin_return_address(0))

class ErrnoKeeper {
 public:
  ErrnoKeeper() : saved_(errno) {}
  ~ErrnoKeeper() { errno = saved_; }

 private:
  int saved_;
};

// The preload's own address range, found once: heapwarden code calling mmap without
// the guard held (there should be none) must still not count as the program.
uintptr_t g_self_lo = 0;
uintptr_t g_self_span = 0;

int FindSelf(struct dl_phdr_info* info, size_t, void* data) {
  uintptr_t probe = reinterpret_cast<uintptr_t>(data);
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    uintptr_t a = info->dlpi_addr + ph.p_vaddr;
    if (a < lo) lo = a;
    if (a + ph.p_memsz > hi) hi = a + ph.p_memsz;
  }
  if (probe < lo || probe >= hi) return 0;
  g_self_lo = lo;
  g_self_span = hi - lo;
  return 1;
}

inline bool IsOwnCode(uintptr_t caller) {
  return caller - g_self_lo < g_self_span || IsAllocatorCode(caller);
}

inline bool Tracking() { return t_state.busy == 0 && TheRecorder().active(); }

inline bool Trackable(int prot, int flags, int fd) {
  return (flags & MAP_ANONYMOUS) != 0 && prot != PROT_NONE;
}

void* RealMmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  return reinterpret_cast<void*>(syscall(SYS_mmap, addr, length, prot, flags, fd, offset));
}

void* MmapImpl(void* addr, size_t length, int prot, int flags, int fd, off_t offset,
               uintptr_t caller) {
  void* p = RealMmap(addr, length, prot, flags, fd, offset);
  if (p == MAP_FAILED || !Tracking() || IsOwnCode(caller)) return p;
  RecursionGuard guard;
  ErrnoKeeper keep;
  if (Trackable(prot, flags, fd)) {
    OnMapped(reinterpret_cast<uintptr_t>(p), length, caller);
  } else if ((flags & MAP_FIXED) != 0) {
    // Mapped over whatever was there, with something not tracked.
    OnUnmapped(reinterpret_cast<uintptr_t>(p), length);
  }
  return p;
}

}  // namespace

void InitMmapOverride() {
  dl_iterate_phdr(FindSelf, reinterpret_cast<void*>(&FindSelf));
  InitMappedRegions();
}

}  // namespace heapwarden::internal

using heapwarden::internal::AnyMappedRegions;
using heapwarden::internal::FinishRemap;
using heapwarden::internal::IsOwnCode;
using heapwarden::internal::MmapImpl;
using heapwarden::internal::OnUnmapped;
using heapwarden::internal::RecursionGuard;
using heapwarden::internal::RemapTicket;
using heapwarden::internal::TakeForRemap;
using heapwarden::internal::Tracking;

#define HW_EXPORT extern "C" __attribute__((visibility("default")))

HW_EXPORT void* mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  return MmapImpl(addr, length, prot, flags, fd, offset, HW_MAP_CALLER);
}

HW_EXPORT void* mmap64(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  return MmapImpl(addr, length, prot, flags, fd, offset, HW_MAP_CALLER);
}

HW_EXPORT int munmap(void* addr, size_t length) {
  // Forget first: once unmapped, another thread may map the range and record it.
  if (AnyMappedRegions() && Tracking() && !IsOwnCode(HW_MAP_CALLER)) {
    RecursionGuard guard;
    heapwarden::internal::ErrnoKeeper keep;
    OnUnmapped(reinterpret_cast<uintptr_t>(addr), length);
  }
  return static_cast<int>(syscall(SYS_munmap, addr, length));
}

HW_EXPORT void* mremap(void* old_address, size_t old_size, size_t new_size, int flags, ...) {
  void* new_address = nullptr;
  if ((flags & MREMAP_FIXED) != 0) {
    va_list args;
    va_start(args, flags);
    new_address = va_arg(args, void*);
    va_end(args);
  }
  RemapTicket ticket;
  bool tracked = false;
  if (AnyMappedRegions() && Tracking() && !IsOwnCode(HW_MAP_CALLER)) {
    RecursionGuard guard;
    heapwarden::internal::ErrnoKeeper keep;
    tracked = TakeForRemap(reinterpret_cast<uintptr_t>(old_address), old_size, &ticket);
  }
  void* p = reinterpret_cast<void*>(
      syscall(SYS_mremap, old_address, old_size, new_size, flags, new_address));
  if (tracked) {
    RecursionGuard guard;
    heapwarden::internal::ErrnoKeeper keep;
    FinishRemap(ticket, p == MAP_FAILED ? 0 : reinterpret_cast<uintptr_t>(p), new_size);
  }
  return p;
}
