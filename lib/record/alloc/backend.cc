// backend.cc: see backend.h. Record side.
#include "record/alloc/backend.h"

#include <dlfcn.h>
#include <errno.h>
#include <gnu/lib-names.h>
#include <link.h>
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include <mimalloc.h>  // mi_option_t and MI_MALLOC_VERSION only: the library is dlopen'd

#include "record/base/log.h"
#include "record/base/proc_stats.h"
#include "record/base/spin_lock.h"

namespace heapwarden::internal {
namespace {

// ---------------------------------------------------------------------------------
// glibc's functions, whatever serves the program.
RealAllocator g_glibc;
using Mallinfo2Fn = struct mallinfo2 (*)();
Mallinfo2Fn g_mallinfo2 = nullptr;

std::atomic<Backend> g_backend{kBackendSystem};

// ---------------------------------------------------------------------------------
// Where glibc's blocks are. The brk heap: [g_brk_lo, sbrk(0)). g_brk_hi caches sbrk(0)
// and is refreshed whenever glibc may have moved it; an address in [g_brk_hi,
// g_brk_lo + kBrkReach) triggers a fresh read. Nothing else is ever mapped just above
// the brk (mmap works top-down from far away), and mimalloc's segments live near
// 2..30 TiB or in the mmap area, never there.
constexpr uintptr_t kBrkReach = uintptr_t{1} << 40;
uintptr_t g_brk_lo = 0;
std::atomic<uintptr_t> g_brk_hi{0};

uintptr_t CurrentBrk() { return reinterpret_cast<uintptr_t>(sbrk(0)); }

// The start of the brk area (/proc/self/stat field 47, "start_brk"), or 0.
uintptr_t StartBrk() {
  char buf[2048];
  if (ReadSmallFile("/proc/self/stat", buf, sizeof(buf)) <= 0) return 0;
  const char* p = strrchr(buf, ')');  // the command name may hold spaces and parens
  if (p == nullptr) return 0;
  ++p;
  for (int field = 3;; ++field) {  // fields after the name are numbered from 3
    while (*p == ' ') ++p;
    if (field == 47) break;
    while (*p != ' ' && *p != '\0') ++p;
    if (*p == '\0') return 0;
  }
  uintptr_t v = 0;
  while (*p >= '0' && *p <= '9') v = v * 10 + static_cast<uintptr_t>(*p++ - '0');
  return v;
}

// The lowest address the brk heap can start at.
uintptr_t BrkLow() {
  uintptr_t now = CurrentBrk();
  uintptr_t start = StartBrk();
  return start != 0 && start <= now ? start : now;
}

inline bool InBrkHeap(uintptr_t a) {
  if (a < g_brk_lo) return false;
  if (a < g_brk_hi.load(std::memory_order_relaxed)) return true;
  if (a - g_brk_lo >= kBrkReach) return false;
  uintptr_t hi = CurrentBrk();
  g_brk_hi.store(hi, std::memory_order_relaxed);
  return a < hi;
}

// Outliers: glibc blocks outside the brk heap (mmap'd chunks, other arenas' heaps),
// by exact user pointer. Written under a lock, read without one: a slot is a pointer
// or 0. Only blocks made before the switch are here, so the table stays small; when
// it overflows, mimalloc's own (weaker) ownership test decides for what is not found.
constexpr int kMaxOutliers = 4096;
std::atomic<uintptr_t> g_outliers[kMaxOutliers];
std::atomic<int> g_outlier_limit{0};  // slots [0, limit) may be in use
std::atomic<uintptr_t> g_outlier_lo{UINTPTR_MAX};
std::atomic<uintptr_t> g_outlier_hi{0};
std::atomic<bool> g_outliers_overflowed{false};
SpinLock g_outlier_lock;

void NoteOutlier(uintptr_t a) {
  SpinLockHolder hold(g_outlier_lock);
  int limit = g_outlier_limit.load(std::memory_order_relaxed);
  int slot = -1;
  for (int i = 0; i < limit; ++i) {
    if (g_outliers[i].load(std::memory_order_relaxed) == 0) {
      slot = i;
      break;
    }
  }
  if (slot < 0) {
    if (limit == kMaxOutliers) {
      g_outliers_overflowed.store(true, std::memory_order_relaxed);
      return;
    }
    slot = limit;
  }
  // Bounds first, then the slot, then the limit: a reader that sees the slot sees
  // bounds that include it.
  if (a < g_outlier_lo.load(std::memory_order_relaxed)) g_outlier_lo.store(a, std::memory_order_relaxed);
  if (a > g_outlier_hi.load(std::memory_order_relaxed)) g_outlier_hi.store(a, std::memory_order_relaxed);
  g_outliers[slot].store(a, std::memory_order_release);
  if (slot == limit) g_outlier_limit.store(limit + 1, std::memory_order_release);
}

inline bool MaybeOutlier(uintptr_t a) {
  return a >= g_outlier_lo.load(std::memory_order_relaxed) &&
         a <= g_outlier_hi.load(std::memory_order_relaxed);
}

bool IsOutlier(uintptr_t a) {
  if (!MaybeOutlier(a)) return false;
  int limit = g_outlier_limit.load(std::memory_order_acquire);
  for (int i = 0; i < limit; ++i) {
    if (g_outliers[i].load(std::memory_order_relaxed) == a) return true;
  }
  return false;
}

// Returns true when `a` was an outlier (and now is not).
bool ForgetOutlier(uintptr_t a) {
  if (!MaybeOutlier(a)) return false;
  SpinLockHolder hold(g_outlier_lock);
  int limit = g_outlier_limit.load(std::memory_order_relaxed);
  for (int i = 0; i < limit; ++i) {
    if (g_outliers[i].load(std::memory_order_relaxed) == a) {
      g_outliers[i].store(0, std::memory_order_release);
      return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------
// Until SelectBackend(): glibc, noting outliers. Forget before the real free (and
// before realloc, which may free): another thread may be handed the same address.
void NoteIfOutlier(void* p) {
  if (p != nullptr && !InBrkHeap(reinterpret_cast<uintptr_t>(p))) {
    NoteOutlier(reinterpret_cast<uintptr_t>(p));
  }
}

void* NotingMalloc(size_t size) {
  void* p = g_glibc.malloc(size);
  NoteIfOutlier(p);
  return p;
}

void* NotingCalloc(size_t count, size_t size) {
  void* p = g_glibc.calloc(count, size);
  NoteIfOutlier(p);
  return p;
}

void* NotingMemalign(size_t alignment, size_t size) {
  void* p = g_glibc.memalign(alignment, size);
  NoteIfOutlier(p);
  return p;
}

void NotingFree(void* p) {
  if (p != nullptr) ForgetOutlier(reinterpret_cast<uintptr_t>(p));
  g_glibc.free(p);
}

void* NotingRealloc(void* p, size_t size) {
  bool was_outlier = p != nullptr && ForgetOutlier(reinterpret_cast<uintptr_t>(p));
  void* q = g_glibc.realloc(p, size);
  if (q != nullptr) {
    NoteIfOutlier(q);
  } else if (was_outlier && size != 0) {
    NoteOutlier(reinterpret_cast<uintptr_t>(p));  // failed: p is still the program's
  }
  return q;
}

// ---------------------------------------------------------------------------------
// mimalloc, loaded privately.
struct MimallocApi {
  void* (*malloc)(size_t);
  void* (*calloc)(size_t, size_t);
  void* (*realloc)(void*, size_t);
  void (*free)(void*);
  void* (*malloc_aligned)(size_t, size_t);
  size_t (*usable_size)(const void*);
  void (*collect)(bool);
  bool (*is_in_heap_region)(const void*);
  void (*process_info)(size_t*, size_t*, size_t*, size_t*, size_t*, size_t*, size_t*, size_t*);
  int (*version)();
  long (*option_get)(mi_option_t);
  void (*option_set)(mi_option_t, long);
};
MimallocApi g_mi;
void* g_mi_handle = nullptr;
uintptr_t g_mi_code_lo = 0;
uintptr_t g_mi_code_span = 0;


struct ObjectRange {
  uintptr_t base;
  uintptr_t lo;
  uintptr_t hi;
};

int FindObjectRange(struct dl_phdr_info* info, size_t, void* data) {
  auto* range = static_cast<ObjectRange*>(data);
  if (info->dlpi_addr != range->base) return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
    uintptr_t hi = lo + ph.p_memsz;
    if (range->lo == 0 || lo < range->lo) range->lo = lo;
    if (hi > range->hi) range->hi = hi;
  }
  return 1;
}

bool LoadMimalloc() {
  // RTLD_LOCAL: mimalloc's malloc, free and __libc_* exports stay out of the global
  // scope, so no other object binds to them. Its constructor only sets up its main
  // heap and options (reading MIMALLOC_* from the environment) and registers an
  // atexit handler; what it allocates meanwhile comes from glibc, and is noted.
  void* lib = dlopen("libmimalloc.so.2", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) return false;
  MimallocApi api;
  bool ok = LookupSymbol(lib, "mi_malloc", &api.malloc) &&
            LookupSymbol(lib, "mi_calloc", &api.calloc) &&
            LookupSymbol(lib, "mi_realloc", &api.realloc) &&
            LookupSymbol(lib, "mi_free", &api.free) &&
            LookupSymbol(lib, "mi_malloc_aligned", &api.malloc_aligned) &&
            LookupSymbol(lib, "mi_usable_size", &api.usable_size) &&
            LookupSymbol(lib, "mi_collect", &api.collect) &&
            LookupSymbol(lib, "mi_is_in_heap_region", &api.is_in_heap_region) &&
            LookupSymbol(lib, "mi_process_info", &api.process_info) &&
            LookupSymbol(lib, "mi_version", &api.version) &&
            LookupSymbol(lib, "mi_option_get", &api.option_get) &&
            LookupSymbol(lib, "mi_option_set", &api.option_set);
  if (!ok) return false;
  // The option numbers below are the header's: only for the version it describes.
  if (api.version() != MI_MALLOC_VERSION) api.option_set = nullptr;
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(api.malloc), &info) != 0) {
    // dli_fbase is the load address of the first segment; dlpi_addr the bias. For a
    // shared library linked at 0 they are the same.
    ObjectRange range{reinterpret_cast<uintptr_t>(info.dli_fbase), 0, 0};
    dl_iterate_phdr(FindObjectRange, &range);
    if (range.hi > range.lo) {
      g_mi_code_lo = range.lo;
      g_mi_code_span = range.hi - range.lo;
    }
  }
  g_mi = api;
  g_mi_handle = lib;
  return true;
}

// The program's own allocator, when it is not glibc nor mimalloc itself (a library
// with its own malloc family that the program is linked against): its blocks can reach
// free() without passing through malloc here (its own internal calls, bound with
// -Bsymbolic), and must go back to it. mimalloc's segment map says which blocks are
// mimalloc's, except those over 1 GiB (backend.h), which are noted here while such an
// allocator is present.
bool g_foreign_next = false;
std::atomic<uint64_t> g_foreign_frees{0};
constexpr size_t kMiHugeBytes = size_t{256} << 20;  // well below where the map stops
constexpr int kMaxMiHuge = 64;
std::atomic<uintptr_t> g_mi_huge[kMaxMiHuge];
std::atomic<bool> g_mi_huge_overflowed{false};

void NoteHuge(void* p) {
  for (int i = 0; i < kMaxMiHuge; ++i) {
    uintptr_t expected = 0;
    if (g_mi_huge[i].compare_exchange_strong(expected, reinterpret_cast<uintptr_t>(p))) return;
  }
  g_mi_huge_overflowed.store(true, std::memory_order_relaxed);
}

// A fresh block under kMiHugeBytes is always in the segment map.
inline void* NoteIfHuge(void* p, size_t size) {
  if (__builtin_expect(size >= kMiHugeBytes, 0) && g_foreign_next && p != nullptr &&
      !g_mi.is_in_heap_region(p)) {
    NoteHuge(p);
  }
  return p;
}

// True (and forgotten) when `p` is a noted huge mimalloc block.
bool ForgetHuge(void* p) {
  for (int i = 0; i < kMaxMiHuge; ++i) {
    uintptr_t expected = reinterpret_cast<uintptr_t>(p);
    if (g_mi_huge[i].compare_exchange_strong(expected, 0)) return true;
  }
  return false;
}

// Called for a block that is not glibc's: true when it belongs to the program's own
// allocator. A huge mimalloc block stays noted (the caller frees or keeps it).
inline bool IsForeignBlock(void* p) {
  if (__builtin_expect(!g_foreign_next, 1) || g_mi.is_in_heap_region(p)) return false;
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  for (int i = 0; i < kMaxMiHuge; ++i) {
    if (g_mi_huge[i].load(std::memory_order_relaxed) == a) return false;
  }
  // Huge blocks were lost: a block the map does not know may be one of them, and
  // mimalloc is the old behaviour.
  return !g_mi_huge_overflowed.load(std::memory_order_relaxed);
}

// glibc returns ENOMEM for every failed allocation; mimalloc sometimes EOVERFLOW.
inline void* Failed() {
  errno = ENOMEM;
  return nullptr;
}

void* MiMalloc(size_t size) {
  void* p = g_mi.malloc(size);
  return __builtin_expect(p != nullptr, 1) ? NoteIfHuge(p, size) : Failed();
}

void* MiCalloc(size_t count, size_t size) {
  void* p = g_mi.calloc(count, size);
  return __builtin_expect(p != nullptr, 1) ? NoteIfHuge(p, count * size) : Failed();
}

// glibc's memalign accepts any alignment and rounds it up to a power of two;
// mimalloc's wants the power of two.
void* MiMemalign(size_t alignment, size_t size) {
  if (alignment <= 16) return MiMalloc(size);
  if ((alignment & (alignment - 1)) != 0) {
    size_t pow2 = 32;
    while (pow2 < alignment) {
      if (pow2 > (SIZE_MAX >> 1)) return Failed();
      pow2 <<= 1;
    }
    alignment = pow2;
  }
  void* p = g_mi.malloc_aligned(size, alignment);
  return p != nullptr ? NoteIfHuge(p, size) : Failed();
}

int MiPosixMemalign(void** out, size_t alignment, size_t size) {
  void* p = MiMemalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

void* MiAlignedAlloc(size_t alignment, size_t size) { return MiMemalign(alignment, size); }
void* MiValloc(size_t size) { return MiMemalign(static_cast<size_t>(getpagesize()), size); }
void* MiPvalloc(size_t size) {
  size_t page = static_cast<size_t>(getpagesize());
  return MiMemalign(page, (size + page - 1) & ~(page - 1));
}

inline bool IsGlibcBlock(void* p) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  if (InBrkHeap(a)) return true;
  if (IsOutlier(a)) return true;
  if (__builtin_expect(g_outliers_overflowed.load(std::memory_order_relaxed), 0)) {
    // Outliers were lost: mimalloc's segment map decides. It misses mimalloc's own
    // blocks over 1 GiB, which are then handed to glibc: better than the reverse,
    // which is certain corruption, and only after more than kMaxOutliers early blocks.
    return !g_mi.is_in_heap_region(p);
  }
  return false;
}

void GlibcFree(void* p) {
  ForgetOutlier(reinterpret_cast<uintptr_t>(p));
  g_glibc.free(p);
  // free may have shrunk the brk heap (systrim).
  g_brk_hi.store(CurrentBrk(), std::memory_order_relaxed);
}

void RoutedFree(void* p) {
  if (p == nullptr) return;
  if (__builtin_expect(IsGlibcBlock(p), 0)) {
    GlibcFree(p);
    return;
  }
  if (__builtin_expect(IsForeignBlock(p), 0)) {
    g_foreign_frees.fetch_add(1, std::memory_order_relaxed);
    g_glibc.free(p);
    return;
  }
  if (__builtin_expect(g_foreign_next, 0)) ForgetHuge(p);
  g_mi.free(p);
}

void* RoutedRealloc(void* p, size_t size) {
  if (p == nullptr) return MiMalloc(size);
  // glibc's realloc(p, 0) frees p and returns NULL; mimalloc's would return a fresh
  // minimal block. The program keeps the platform's behaviour.
  if (size == 0) {
    RoutedFree(p);
    return nullptr;
  }
  if (__builtin_expect(IsGlibcBlock(p), 0)) {
    // A block from before the switch moves to mimalloc: glibc never allocates again.
    void* q = g_mi.malloc(size);
    if (q == nullptr) return Failed();
    size_t old = g_glibc.malloc_usable_size(p);
    memcpy(q, p, old < size ? old : size);
    GlibcFree(p);
    return q;
  }
  if (__builtin_expect(IsForeignBlock(p), 0)) return g_glibc.realloc(p, size);  // stays there
  if (__builtin_expect(g_foreign_next, 0)) {
    // A huge block may stay in place when it shrinks: note by where the result is.
    const bool was_huge = ForgetHuge(p);
    void* q = g_mi.realloc(p, size);
    if (q == nullptr && was_huge) NoteHuge(p);
    if (q != nullptr && !g_mi.is_in_heap_region(q)) NoteHuge(q);
    return q != nullptr ? q : Failed();
  }
  void* q = g_mi.realloc(p, size);
  return q != nullptr ? q : Failed();
}

size_t RoutedUsableSize(void* p) {
  if (p == nullptr) return 0;
  if (IsGlibcBlock(p) || IsForeignBlock(p)) return g_glibc.malloc_usable_size(p);
  return g_mi.usable_size(p);
}

// mi_collect(true) returns what the calling thread's heap and the abandoned segments
// (of exited threads) hold free, and purges the OS-level caches; glibc's trim returns
// what is left of the heap from before the switch.
// mimalloc 2.0.9 decommits a freed span only once decommit_delay (25 ms) has passed
// since it was freed, and then only when its thread next allocates a page in that
// segment: mi_collect(true) cannot force it for a live thread's segments. What the
// trim itself frees (retired pages, pages emptied by other threads' frees) is
// decommitted at once with the delays at 0 for the moment of the trim, which takes a
// second collect (measured on a mimalloc-preloaded program: 33 MiB of 264 left after
// one collect, 7 MiB after two). Spans the program freed before the trim stay
// resident until mimalloc purges them itself (docs/trim.md).
int MimallocTrim(size_t pad) {
  long delay = 0, segment_delay = 0;
  if (g_mi.option_set != nullptr) {
    delay = g_mi.option_get(mi_option_decommit_delay);
    segment_delay = g_mi.option_get(mi_option_segment_decommit_delay);
    g_mi.option_set(mi_option_decommit_delay, 0);
    g_mi.option_set(mi_option_segment_decommit_delay, 0);
  }
  g_mi.collect(true);
  g_mi.collect(true);
  if (g_mi.option_set != nullptr) {
    g_mi.option_set(mi_option_decommit_delay, delay);
    g_mi.option_set(mi_option_segment_decommit_delay, segment_delay);
  }
  g_glibc.malloc_trim(pad);
  g_brk_hi.store(CurrentBrk(), std::memory_order_relaxed);
  return 1;
}

template <typename Fn>
void Publish(Fn* field, Fn value) {
  __atomic_store_n(field, value, __ATOMIC_RELEASE);
}

// Reads "backend=..." from the options text; the last one wins, as in the parser.
Backend BackendFromOptions(const char* text) {
  Backend result = kBackendSystem;
  if (text == nullptr) return result;
  const char* p = text;
  while (*p != '\0') {
    const char* end = strchr(p, ':');
    size_t len = end ? static_cast<size_t>(end - p) : strlen(p);
    if (len == 16 && memcmp(p, "backend=mimalloc", 16) == 0) result = kBackendMimalloc;
    if (len == 14 && memcmp(p, "backend=system", 14) == 0) result = kBackendSystem;
    if (end == nullptr) break;
    p = end + 1;
  }
  return result;
}

}  // namespace

void BeginGlibcPhase(RealAllocator* real) {
  g_glibc = *real;
  g_brk_lo = BrkLow();
  g_brk_hi.store(CurrentBrk(), std::memory_order_relaxed);
  real->malloc = NotingMalloc;
  real->calloc = NotingCalloc;
  real->memalign = NotingMemalign;
  real->realloc = NotingRealloc;
  real->free = NotingFree;
}

Backend SelectBackend(const char* options_text, RealAllocator* real) {
  static bool selected = false;
  if (selected) return g_backend.load(std::memory_order_relaxed);
  selected = true;
  if (g_glibc.malloc == nullptr) {  // BeginGlibcPhase never ran
    g_glibc = *real;
    g_brk_lo = BrkLow();
  }
  void* libc = dlopen(LIBC_SO, RTLD_NOW | RTLD_NOLOAD);
  // glibc's figures say nothing about another allocator serving the program.
  if (libc != nullptr && ProgramAllocatorPath()[0] == '\0') {
    g_mallinfo2 = reinterpret_cast<Mallinfo2Fn>(dlsym(libc, "mallinfo2"));
  }

  Backend wanted = BackendFromOptions(options_text);
  if (wanted == kBackendMimalloc) {
    if (LoadMimalloc()) {
      g_brk_hi.store(CurrentBrk(), std::memory_order_relaxed);
      // Linked against libmimalloc itself, the program's free is mimalloc's: nothing
      // to route. Any other allocator than glibc's is foreign.
      g_foreign_next = ProgramAllocatorPath()[0] != '\0' &&
                       reinterpret_cast<void*>(g_glibc.free) != dlsym(g_mi_handle, "free");
      // The free side first: the routed functions are right for glibc's blocks at
      // every moment, so a thread freeing meanwhile is safe either way.
      Publish(&real->free, &RoutedFree);
      Publish(&real->realloc, &RoutedRealloc);
      Publish(&real->malloc_usable_size, &RoutedUsableSize);
      Publish(&real->malloc_trim, &MimallocTrim);
      g_backend.store(kBackendMimalloc, std::memory_order_release);
      Publish(&real->posix_memalign, &MiPosixMemalign);
      Publish(&real->aligned_alloc, &MiAlignedAlloc);
      Publish(&real->valloc, &MiValloc);
      Publish(&real->pvalloc, &MiPvalloc);
      Publish(&real->memalign, &MiMemalign);
      Publish(&real->calloc, &MiCalloc);
      Publish(&real->malloc, &MiMalloc);
      return kBackendMimalloc;
    }
    Warn("backend=mimalloc: cannot load libmimalloc.so.2 (%s); serving from glibc",
         dlerror() ? "dlopen failed" : "symbols missing");
  }
  // glibc from here on: its own functions again, with nothing in between.
  Publish(&real->malloc, g_glibc.malloc);
  Publish(&real->calloc, g_glibc.calloc);
  Publish(&real->memalign, g_glibc.memalign);
  Publish(&real->realloc, g_glibc.realloc);
  Publish(&real->free, g_glibc.free);
  return kBackendSystem;
}

uint64_t ForeignFrees() { return g_foreign_frees.load(std::memory_order_relaxed); }

void ResetBackendAfterFork() { g_outlier_lock.ResetAfterFork(); }

Backend ActiveBackend() { return g_backend.load(std::memory_order_acquire); }

const char* ActiveBackendName() {
  return ActiveBackend() == kBackendMimalloc ? "mimalloc" : "system";
}

bool IsAllocatorCode(uintptr_t address) { return address - g_mi_code_lo < g_mi_code_span; }

void ReadAllocatorStats(AllocatorStats* out) {
  *out = AllocatorStats{};
  if (ActiveBackend() == kBackendMimalloc) {
    size_t elapsed, user, sys, rss, peak_rss, commit = 0, peak_commit, faults;
    g_mi.process_info(&elapsed, &user, &sys, &rss, &peak_rss, &commit, &peak_commit, &faults);
    out->valid = true;
    out->held_bytes = commit;
    return;
  }
  if (g_mallinfo2 == nullptr) return;
  struct mallinfo2 mi = g_mallinfo2();
  out->valid = true;
  out->held_bytes = mi.arena + mi.hblkhd;
  out->in_use_bytes = mi.uordblks + mi.hblkhd;
  out->free_bytes = mi.fordblks;
}

}  // namespace heapwarden::internal
