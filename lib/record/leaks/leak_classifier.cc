// leak_classifier.cc: see leak_classifier.h. Record side.
//
// The order of the steps matters:
//  1. Module ranges are collected with dl_iterate_phdr BEFORE any thread is stopped:
//     it takes the loader's lock, which a stopped thread could hold.
//  2. The record-side locks are taken (tags, sites, every live-table shard, the order
//     of PrepareFork), so that no thread is stopped half way through an update.
//  3. The other threads are stopped (thread_suspender.h), then /proc/self/maps is read:
//     from now on no mapping appears or disappears except ours.
//  4. Mark from the roots, then split the unreached blocks into direct and indirect.
//  5. Threads resume, locks are released, counts are summed per site.
#include "record/leaks/leak_classifier.h"

#include <fcntl.h>
#include <link.h>
#include <sys/auxv.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "record/track/live_table.h"
#include "record/base/log.h"
#include "record/track/mapped_regions.h"
#include "record/base/mmap_arena.h"
#include "record/track/recorder.h"
#include "record/base/thread_state.h"
#include "record/leaks/thread_suspender.h"

namespace heapwarden::internal {
namespace {

constexpr int kStopTimeoutMs = 200;
// What is scanned above a thread pointer: glibc's struct pthread (about 2.3 KiB in
// 2.36: the DTV pointer, thread-specific data, cleanup buffers), clipped to its mapping.
constexpr uintptr_t kTcbScanBytes = 4096;
constexpr size_t kMaxRanges = 1 << 16;
constexpr size_t kMaxMappings = 1 << 18;
constexpr size_t kMapsBufferBytes = size_t{64} << 20;
constexpr uintptr_t kPage = 4096;

enum BlockState : uint8_t { kUnreached = 0, kReachable = 1, kIndirect = 2, kDirect = 3 };

struct Candidate {
  uintptr_t begin;
  uintptr_t end;  // begin + size, at least begin + 1 so that a zero-size block is findable
  uint32_t site;
  uint8_t state;
  uint8_t readable;
  uint32_t birth_ms;
  uint64_t size;
};

bool InBaseline(const LeakBaseline& baseline, const Candidate& c) {
  size_t lo = 0, hi = baseline.count;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (baseline.blocks[mid].address < c.begin) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo < baseline.count && baseline.blocks[lo].address == c.begin &&
         baseline.blocks[lo].site == c.site && baseline.blocks[lo].birth_ms == c.birth_ms;
}

struct Range {
  uintptr_t begin;
  uintptr_t end;
};

enum MappingKind : uint8_t { kMapOther = 0, kMapAnonymous = 1, kMapMainStack = 2, kMapHeap = 3 };

struct Mapping {
  uintptr_t begin;
  uintptr_t end;
  bool readable;
  bool writable;
  MappingKind kind;
};

// A fixed-capacity array in mmap'd memory (reserved, so only what is used costs RSS).
template <typename T>
class ScratchArray {
 public:
  bool Init(size_t capacity) {
    bytes_ = (sizeof(T) * capacity + kPage - 1) & ~(kPage - 1);
    data_ = static_cast<T*>(MapPages(bytes_, /*reserve_only=*/true));
    capacity_ = data_ != nullptr ? capacity : 0;
    return data_ != nullptr;
  }
  ~ScratchArray() { UnmapPages(data_, bytes_); }
  bool Push(const T& value) {
    if (size_ >= capacity_) return false;
    data_[size_++] = value;
    return true;
  }
  T* data() { return data_; }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return data_[i]; }

 private:
  T* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
  size_t bytes_ = 0;
};

uint64_t MonotonicNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// CPU time of the calling thread: the scan's own cost, whatever else the machine runs.
uint64_t ThreadCpuNs() {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// What dl_iterate_phdr collects before the world stops.
struct ModuleScan {
  ScratchArray<Range>* writable;  // writable PT_LOAD segments, page-rounded
  ScratchArray<Range>* tls;       // the calling thread's TLS blocks
  uintptr_t own_address;          // an address inside heapwarden's own module
  uintptr_t tp;
  uintptr_t static_tls_below;     // how far below the thread pointer static TLS reaches
  Range loader = {0, 0};          // the dynamic loader's (ld.so's) PT_LOAD span
};

int CollectModule(struct dl_phdr_info* info, size_t, void* data) {
  auto* scan = static_cast<ModuleScan*>(data);
  bool own = false;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
    if (scan->own_address >= begin && scan->own_address < begin + ph.p_memsz) own = true;
  }
  if (info->dlpi_addr != 0 && info->dlpi_addr == getauxval(AT_BASE)) {
    for (int i = 0; i < info->dlpi_phnum; ++i) {
      const ElfW(Phdr)& ph = info->dlpi_phdr[i];
      if (ph.p_type != PT_LOAD) continue;
      const uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
      if (scan->loader.begin == 0 || begin < scan->loader.begin) scan->loader.begin = begin;
      scan->loader.end = std::max(scan->loader.end, begin + ph.p_memsz);
    }
  }
  // heapwarden's data holds nothing of the program's -- unless heapwarden is inside the
  // executable (libheapwarden.a, whose name here is ""): that data is the program's.
  if (own && info->dlpi_name != nullptr && info->dlpi_name[0] != '\0') return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type == PT_LOAD && (ph.p_flags & PF_W) && ph.p_memsz > 0) {
      uintptr_t begin = (info->dlpi_addr + ph.p_vaddr) & ~(kPage - 1);
      // Rounded up to the page: the tail of the last page of ld.so's segment is where
      // its startup allocator put the first DTV and link maps.
      uintptr_t end = (info->dlpi_addr + ph.p_vaddr + ph.p_memsz + kPage - 1) & ~(kPage - 1);
      scan->writable->Push({begin, end});
    } else if (ph.p_type == PT_TLS && info->dlpi_tls_data != nullptr && ph.p_memsz > 0) {
      auto data = reinterpret_cast<uintptr_t>(info->dlpi_tls_data);
      scan->tls->Push({data, data + ph.p_memsz});
      // Static TLS sits just below the thread pointer (x86-64's TLS variant II); a
      // dynamically allocated block is elsewhere.
      if (data < scan->tp && scan->tp - data < (uintptr_t{1} << 20)) {
        scan->static_tls_below = std::max(scan->static_tls_below, scan->tp - data);
      }
    }
  }
  return 0;
}

// Parses /proc/self/maps (read with read(2) into mmap'd memory).
bool ReadMappings(ScratchArray<Mapping>* out) {
  // Under ulimit -v a program that used all it could leaves little: a normal maps file
  // fits in a megabyte.
  size_t buffer_bytes = kMapsBufferBytes;
  char* text = static_cast<char*>(MapPages(buffer_bytes, /*reserve_only=*/true));
  if (text == nullptr) {
    buffer_bytes = size_t{1} << 20;
    text = static_cast<char*>(MapPages(buffer_bytes, /*reserve_only=*/true));
  }
  if (text == nullptr) return false;
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  size_t length = 0;
  if (fd >= 0) {
    while (length + 1 < buffer_bytes) {
      ssize_t n = read(fd, text + length, buffer_bytes - 1 - length);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      length += static_cast<size_t>(n);
    }
    close(fd);
  }
  text[length] = '\0';
  auto hex = [](const char*& p) {
    uintptr_t v = 0;
    for (;; ++p) {
      char c = *p;
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) return v;
      v = v * 16 + static_cast<uintptr_t>(d);
    }
  };
  for (const char* line = text; *line != '\0';) {
    const char* eol = strchr(line, '\n');
    if (eol == nullptr) eol = line + strlen(line);
    const char* p = line;
    Mapping m{};
    m.begin = hex(p);
    if (*p == '-') ++p;
    m.end = hex(p);
    while (*p == ' ') ++p;
    m.readable = p < eol && p[0] == 'r';
    m.writable = p + 1 < eol && p[1] == 'w';
    // Fields: perms offset dev inode [path]. The path starts after the inode.
    int field = 0;
    while (p < eol && field < 4) {
      while (p < eol && *p != ' ') ++p;
      while (p < eol && *p == ' ') ++p;
      ++field;
    }
    const char* path = p;
    size_t path_len = static_cast<size_t>(eol - path);
    if (path_len == 0) {
      m.kind = kMapAnonymous;
    } else if (path_len == 7 && memcmp(path, "[stack]", 7) == 0) {
      m.kind = kMapMainStack;
    } else if (path_len == 6 && memcmp(path, "[heap]", 6) == 0) {
      m.kind = kMapHeap;
    } else if (path_len > 6 && memcmp(path, "[anon:", 6) == 0) {
      m.kind = kMapAnonymous;
    } else {
      m.kind = kMapOther;
    }
    if (m.end > m.begin) out->Push(m);
    line = *eol ? eol + 1 : eol;
  }
  UnmapPages(text, buffer_bytes);
  return true;
}

// The mapping holding `address`, or nullptr.
const Mapping* FindMapping(ScratchArray<Mapping>& maps, uintptr_t address) {
  size_t lo = 0, hi = maps.size();
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (maps[mid].end <= address) {
      lo = mid + 1;
    } else if (maps[mid].begin > address) {
      hi = mid;
    } else {
      return &maps[mid];
    }
  }
  return nullptr;
}

// glibc's malloc puts the header of the next chunk 16 bytes before that chunk's user
// memory, and lends the header's first 8 bytes to the block before it. So the address
// of a neighbour's header -- what malloc's own top pointer and free lists (in libc's
// data, a root) hold -- can fall inside the last 8 bytes of a live block. Such a word
// says nothing about the block; it is ignored, for the system allocator.
inline uint64_t NextChunkHeaderOffset(uint64_t size) {
  uint64_t chunk = size + 8 + 15 < 32 ? 32 : (size + 8 + 15) & ~uint64_t{15};
  return chunk - 16;
}

class Marker {
 public:
  Marker(Candidate* blocks, size_t n, uint32_t* worklist, bool glibc_chunks)
      : blocks_(blocks), n_(n), worklist_(worklist), glibc_chunks_(glibc_chunks) {
    if (n_ > 0) {
      lo_ = blocks_[0].begin;
      for (size_t i = 0; i < n_; ++i) hi_ = std::max(hi_, blocks_[i].end);
    }
  }

  // The block containing `value`, or -1.
  long Find(uintptr_t value) const {
    if (value - lo_ >= hi_ - lo_) return -1;
    size_t l = 0, r = n_;
    while (r - l > 1) {
      size_t mid = l + (r - l) / 2;
      if (blocks_[mid].begin <= value) {
        l = mid;
      } else {
        r = mid;
      }
    }
    const Candidate& b = blocks_[l];
    if (value >= b.end) return -1;
    if (glibc_chunks_ && value == b.begin + NextChunkHeaderOffset(b.size)) return -1;
    return static_cast<long>(l);
  }

  // Marks every unreached block a word of [begin, end) points into as reachable.
  void ScanRoot(uintptr_t begin, uintptr_t end) {
    begin = (begin + 7) & ~uintptr_t{7};
    if (end <= begin) return;
    scanned_ += end - begin;
    for (uintptr_t p = begin; p + 8 <= end; p += 8) {
      long i = Find(*reinterpret_cast<const uintptr_t*>(p));
      if (i >= 0 && blocks_[i].state == kUnreached) {
        blocks_[i].state = kReachable;
        worklist_[top_++] = static_cast<uint32_t>(i);
      }
    }
  }

  // Marks block i reachable, a root of what it points to.
  void MarkReachable(size_t i) {
    if (blocks_[i].state != kUnreached) return;
    blocks_[i].state = kReachable;
    worklist_[top_++] = static_cast<uint32_t>(i);
  }

  // Marks everything reachable from the blocks on the worklist.
  void DrainReachable() {
    while (top_ > 0) {
      const Candidate& b = blocks_[worklist_[--top_]];
      if (b.readable) ScanRoot(b.begin, b.begin + (b.size & ~uint64_t{7}));
    }
  }

  // Splits the unreached blocks: each one not yet claimed leads a group and floods
  // what it reaches, which becomes indirect (a former leader it reaches included).
  void ClassifyUnreached() {
    for (size_t leader = 0; leader < n_; ++leader) {
      if (blocks_[leader].state != kUnreached) continue;
      blocks_[leader].state = kDirect;
      worklist_[top_++] = static_cast<uint32_t>(leader);
      while (top_ > 0) {
        const Candidate& b = blocks_[worklist_[--top_]];
        if (!b.readable) continue;
        uintptr_t end = b.begin + (b.size & ~uint64_t{7});
        scanned_ += end - b.begin;
        for (uintptr_t p = b.begin; p + 8 <= end; p += 8) {
          long i = Find(*reinterpret_cast<const uintptr_t*>(p));
          if (i < 0 || static_cast<size_t>(i) == leader) continue;
          uint8_t state = blocks_[i].state;
          if (state == kUnreached) {
            blocks_[i].state = kIndirect;
            worklist_[top_++] = static_cast<uint32_t>(i);
          } else if (state == kDirect) {
            blocks_[i].state = kIndirect;  // its own flood already ran
          }
        }
      }
    }
  }

  uint64_t scanned() const { return scanned_; }

 private:
  Candidate* blocks_;
  size_t n_;
  uint32_t* worklist_;
  size_t top_ = 0;
  uintptr_t lo_ = 0;
  uintptr_t hi_ = 0;
  uint64_t scanned_ = 0;
  bool glibc_chunks_;
};

// Scans the readable parts of [begin, end) as a root.
void ScanReadable(Marker& marker, ScratchArray<Mapping>& maps, uintptr_t begin, uintptr_t end,
                  uint64_t* root_bytes) {
  while (begin < end) {
    const Mapping* m = FindMapping(maps, begin);
    if (m == nullptr) {
      // Skip to the next mapping.
      uintptr_t next = end;
      for (size_t i = 0; i < maps.size(); ++i) {
        if (maps[i].begin > begin) {
          next = maps[i].begin;
          break;
        }
      }
      begin = next;
      continue;
    }
    uintptr_t stop = std::min(end, m->end);
    if (m->readable) {
      marker.ScanRoot(begin, stop);
      *root_bytes += stop - begin;
    }
    begin = stop;
  }
}

// A thread's stack from `sp` to the top of its mapping.
void ScanStack(Marker& marker, ScratchArray<Mapping>& maps, uintptr_t sp, uint64_t* root_bytes) {
  const Mapping* m = FindMapping(maps, sp);
  if (m != nullptr) ScanReadable(marker, maps, sp, m->end, root_bytes);
}

// Static TLS below the thread pointer, the TCB above it, and the DTV it points to (the
// table of dynamically allocated TLS blocks). The DTV layout is glibc's: tcb[1] points
// at entry 1 of an array of {val, to_free} pairs whose entry -1 holds the count.
void ScanThreadPointer(Marker& marker, ScratchArray<Mapping>& maps, uintptr_t tp,
                       uintptr_t static_tls_below, uint64_t* root_bytes) {
  const Mapping* m = FindMapping(maps, tp);
  if (m == nullptr || !m->readable) return;
  uintptr_t low = tp - static_tls_below >= m->begin ? tp - static_tls_below : m->begin;
  uintptr_t high = std::min(m->end, tp + kTcbScanBytes);
  ScanReadable(marker, maps, low, high, root_bytes);
  if (tp + 16 > m->end) return;
  uintptr_t dtv = reinterpret_cast<const uintptr_t*>(tp)[1];
  const Mapping* d = FindMapping(maps, dtv);
  if (dtv < 16 || d == nullptr || !d->readable || dtv - 16 < d->begin) return;
  uintptr_t entries = *reinterpret_cast<const uintptr_t*>(dtv - 16);
  if (entries > 65536) return;
  uintptr_t end = std::min(d->end, dtv + 16 * (entries + 1));
  ScanReadable(marker, maps, dtv - 16, end, root_bytes);
}

// A mapping laid out like a pthread stack: anonymous read-write, right above its guard.
bool LooksLikeThreadStack(ScratchArray<Mapping>& maps, size_t i) {
  const Mapping& m = maps[i];
  if (m.kind != kMapAnonymous || !m.readable || !m.writable || i == 0) return false;
  const Mapping& below = maps[i - 1];
  return below.end == m.begin && !below.readable && !below.writable;
}

// Step 1, before anything is stopped: what the scan starts from besides the threads.
struct Roots {
  ScratchArray<Range> writable;  // writable segments of the loaded modules
  ScratchArray<Range> tls;       // the calling thread's TLS blocks
  ScratchArray<Range> mapped;    // anonymous memory the program mapped itself
  ScratchArray<Mapping> maps;    // /proc/self/maps, read once the world has stopped
  ModuleScan modules{};
};

bool CollectRoots(Roots* roots) {
  if (!roots->writable.Init(kMaxRanges) || !roots->tls.Init(kMaxRanges) ||
      !roots->maps.Init(kMaxMappings) || !roots->mapped.Init(kMaxRanges)) {
    return false;
  }
  // dl_iterate_phdr takes the loader lock: never with the world stopped.
  static const char own_marker = 0;
  roots->modules = ModuleScan{&roots->writable, &roots->tls,
                              reinterpret_cast<uintptr_t>(&own_marker), ThreadPointer(), 0};
  dl_iterate_phdr(CollectModule, &roots->modules);
  // Anonymous memory the program mapped itself (CPython's arenas, allocators inside
  // libraries) holds pointers to heap blocks: a root, never a leak. Copied now, since
  // the region table's lock could be held by a thread stopped in mmap; checked against
  // /proc/self/maps once the world has stopped.
  for (uintptr_t from = 0;;) {
    MappedRegion batch[64];
    int got = CopyMappedRegions(from, batch, 64);
    for (int i = 0; i < got; ++i) roots->mapped.Push({batch[i].start, batch[i].end});
    if (got < 64) break;
    from = batch[got - 1].end;
  }
  return true;
}

// Step 2: every table lock, so that no thread stops half way through an update (the
// same order as the fork handler), released when the scope ends or on Release().
class TableLocks {
 public:
  explicit TableLocks(Recorder& recorder) ABSL_NO_THREAD_SAFETY_ANALYSIS
      : tags_(recorder.tags()), sites_(recorder.sites()), live_(recorder.live()) {
    tags_.lock().Lock();
    sites_.lock().Lock();
    live_.LockAll();
  }
  ~TableLocks() { Release(); }
  TableLocks(const TableLocks&) = delete;
  TableLocks& operator=(const TableLocks&) = delete;

  void Release() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    if (released_) return;
    released_ = true;
    live_.UnlockAll();
    sites_.lock().Unlock();
    tags_.lock().Unlock();
  }

 private:
  TagTable& tags_;
  SiteTable& sites_;
  LiveTable& live_;
  bool released_ = false;
};

// Step 3, with the world stopped: the live heap blocks, sorted by address, each marked
// readable only if it lies inside one readable mapping (a block freed behind
// heapwarden's back may have been unmapped).
void CollectCandidates(LiveTable& live, uint32_t site_count, ScratchArray<Mapping>& maps,
                       ScratchArray<Candidate>* blocks) {
  live.ForEachLocked([&](const LiveBlock& b) {
    if (b.kind == kAllocMapped || b.site >= site_count) return;
    uint64_t size = b.size;
    blocks->Push({b.address, b.address + (size ? size : 1), b.site, kUnreached, 0, b.birth_ms, size});
  });
  Candidate* c = blocks->data();
  const size_t n = blocks->size();
  std::sort(c, c + n, [](const Candidate& x, const Candidate& y) { return x.begin < y.begin; });
  // Both lists are sorted: one merge pass.
  for (size_t i = 0, m = 0; i < n; ++i) {
    while (m < maps.size() && maps[m].end <= c[i].begin) ++m;
    c[i].readable = m < maps.size() && maps[m].begin <= c[i].begin &&
                    c[i].begin + c[i].size <= maps[m].end && maps[m].readable;
  }
}

// The dynamic loader's own blocks (link maps, dependency lists, dynamic TLS of a
// dlopen) are glibc's to keep: glibc frees them only in __libc_freeres, which valgrind
// calls and a plain exit does not, and some hang from pointers the scan cannot see
// (one backtrace() call leaves a 56-byte list from _dl_map_object_deps). Like
// LeakSanitizer, a block whose innermost frame is in ld.so is reachable, and a root.
void MarkLoaderBlocks(Marker& marker, const Candidate* blocks, size_t n, SiteTable& sites,
                      Range loader) {
  if (loader.begin == 0) return;
  for (size_t i = 0; i < n; ++i) {
    const Stack& stack = sites.stack(sites.site(blocks[i].site).stack_id);
    if (stack.depth > 0 && stack.frames[0] >= loader.begin && stack.frames[0] < loader.end) {
      marker.MarkReachable(i);
    }
  }
}

// Step 4a: the modules' data, the program's own mappings, and the calling thread: its
// stack above heapwarden's frames, its TLS blocks (a dynamically allocated one counts
// as reached through its own address), its TCB.
void MarkFromOwnRoots(Marker& marker, Roots& roots, uintptr_t stack_top, uint64_t* root_bytes) {
  for (size_t i = 0; i < roots.writable.size(); ++i) {
    ScanReadable(marker, roots.maps, roots.writable[i].begin, roots.writable[i].end, root_bytes);
  }
  for (size_t i = 0; i < roots.mapped.size(); ++i) {
    ScanReadable(marker, roots.maps, roots.mapped[i].begin, roots.mapped[i].end, root_bytes);
  }
  ScanStack(marker, roots.maps, stack_top, root_bytes);
  for (size_t i = 0; i < roots.tls.size(); ++i) {
    uintptr_t address = roots.tls[i].begin;
    marker.ScanRoot(reinterpret_cast<uintptr_t>(&address), reinterpret_cast<uintptr_t>(&address + 1));
    if (marker.Find(address) < 0) ScanReadable(marker, roots.maps, roots.tls[i].begin, roots.tls[i].end, root_bytes);
  }
  ScanThreadPointer(marker, roots.maps, roots.modules.tp, roots.modules.static_tls_below, root_bytes);
}

// Step 4b: every other thread's stack and TLS. Returns true when some thread's stack
// pointer is unknown (it neither stopped nor was seen blocked).
bool MarkFromOtherThreads(Marker& marker, Roots& roots, ThreadSuspender& suspender,
                          size_t thread_count, uint64_t* root_bytes) {
  bool unknown_stack = false;
  for (size_t i = 0; i < thread_count; ++i) {
    const SuspendedThread& t = suspender.thread(i);
    const bool stopped = t.stopped.load(std::memory_order_acquire) == 1;
    // heapwarden's service thread holds nothing of the program's; known by its tid,
    // or by its stack when it was stopped before it could say who it is.
    if (t.own || ThreadSuspender::IsOwnStackAddress(stopped ? t.sp : t.blocked_sp)) continue;
    if (stopped) {
      ScanStack(marker, roots.maps, t.sp, root_bytes);
      const Mapping* stack = FindMapping(roots.maps, t.sp);
      // glibc keeps a pthread's TLS at the top of its stack, already scanned; the main
      // thread's (and a thread on a user-supplied stack's) lies elsewhere.
      if (stack == nullptr || t.tp < t.sp || t.tp >= stack->end) {
        ScanThreadPointer(marker, roots.maps, t.tp, roots.modules.static_tls_below, root_bytes);
      } else {
        ScanThreadPointer(marker, roots.maps, t.tp, 0, root_bytes);
      }
    } else if (t.blocked_sp != 0) {
      ScanStack(marker, roots.maps, t.blocked_sp, root_bytes);
    } else {
      unknown_stack = true;
    }
  }
  return unknown_stack;
}

// Step 4c, for a thread that could not be stopped and whose stack pointer is unknown:
// scan, whole, every mapping shaped like a thread stack that no known thread (this
// one, a stopped one, heapwarden's own) accounts for. Conservative: it can hide a
// leak, never invent one.
void MarkFromUnaccountedStacks(Marker& marker, ScratchArray<Mapping>& maps, uintptr_t stack_top,
                               ThreadSuspender& suspender, size_t thread_count,
                               uint64_t* root_bytes) {
  auto accounted = [&](const Mapping& m) {
    auto in = [&](uintptr_t a) { return a >= m.begin && a < m.end; };
    if (in(stack_top) || ThreadSuspender::IsOwnStackAddress(m.begin)) return true;
    for (size_t t = 0; t < thread_count; ++t) {
      const SuspendedThread& th = suspender.thread(t);
      if ((th.stopped.load(std::memory_order_acquire) == 1 && in(th.sp)) || in(th.blocked_sp)) {
        return true;
      }
    }
    return false;
  };
  for (size_t i = 0; i < maps.size(); ++i) {
    if (!(LooksLikeThreadStack(maps, i) || maps[i].kind == kMapMainStack)) continue;
    if (accounted(maps[i])) continue;
    ScanReadable(marker, maps, maps[i].begin, maps[i].end, root_bytes);
  }
}

// Step 5, the world running again: each block's verdict added to its site's counts.
void CountByKind(const Candidate* c, size_t n, const LeakBaseline* baseline, LeakClassification* out) {
  for (size_t i = 0; i < n; ++i) {
    if (baseline != nullptr && InBaseline(*baseline, c[i])) continue;
    LeakKind kind = c[i].state == kReachable ? kLeakReachable
                    : c[i].state == kIndirect ? kLeakIndirect
                                              : kLeakDirect;
    LeakCounts& counts = out->counts[c[i].site * kLeakKinds + kind];
    ++counts.blocks;
    counts.bytes += c[i].size;
    out->block_bytes += c[i].size;
  }
  out->blocks = n;
}

}  // namespace

bool TakeLeakBaseline(Recorder& recorder, LeakBaseline* out) {
  *out = LeakBaseline{};
  LiveTable& live = recorder.live();
  // Room for what is live now and for what other threads add while we copy.
  size_t capacity = live.mapped_bytes() / sizeof(LiveBlock) + 1024;
  out->mapped_bytes = (sizeof(BaselineBlock) * capacity + kPage - 1) & ~(kPage - 1);
  out->blocks = static_cast<BaselineBlock*>(MapPages(out->mapped_bytes, /*reserve_only=*/true));
  if (out->blocks == nullptr) return false;
  live.ForEach([&](const LiveBlock& b) {
    if (out->count < capacity && b.kind != kAllocMapped) {
      out->blocks[out->count++] = {b.address, b.site, b.birth_ms};
    }
  });
  std::sort(out->blocks, out->blocks + out->count,
            [](const BaselineBlock& a, const BaselineBlock& b) { return a.address < b.address; });
  return true;
}

void ReleaseLeakBaseline(LeakBaseline* baseline) {
  UnmapPages(baseline->blocks, baseline->mapped_bytes);
  *baseline = LeakBaseline{};
}

bool ClassifyLeaks(Recorder& recorder, uintptr_t stack_top, LeakClassification* out,
                   const LeakBaseline* baseline) {
  *out = LeakClassification{};
  const uint64_t start_ns = MonotonicNs();
  const uint64_t start_cpu_ns = ThreadCpuNs();
  RecursionGuard guard;
  if (stack_top == 0) stack_top = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));

  Roots roots;
  if (!CollectRoots(&roots)) return false;

  TableLocks locks(recorder);
  const uint32_t site_count = recorder.sites().site_count();
  const size_t live_count = recorder.live().CountLocked();
  ScratchArray<Candidate> blocks;
  ScratchArray<uint32_t> worklist;
  out->counts_bytes = (sizeof(LeakCounts) * kLeakKinds * (site_count + 1) + kPage - 1) & ~(kPage - 1);
  out->counts = static_cast<LeakCounts*>(MapPages(out->counts_bytes));
  if (out->counts == nullptr || !blocks.Init(live_count + 1) || !worklist.Init(live_count + 1)) {
    ReleaseLeakClassification(out);
    return false;
  }
  out->site_count = site_count;

  // From here until ResumeAll, no malloc: another thread may be stopped inside it.
  ThreadSuspender suspender;
  const bool suspended = suspender.SuspendAll(kStopTimeoutMs);
  const uint64_t stopped_ns = MonotonicNs();
  ReadMappings(&roots.maps);
  CollectCandidates(recorder.live(), site_count, roots.maps, &blocks);
  const size_t thread_count = suspended ? suspender.count() : 0;
  Marker marker(blocks.data(), blocks.size(), worklist.data(),
                recorder.options().backend == kBackendSystem);
  uint64_t root_bytes = 0;
  MarkLoaderBlocks(marker, blocks.data(), blocks.size(), recorder.sites(), roots.modules.loader);
  MarkFromOwnRoots(marker, roots, stack_top, &root_bytes);
  const bool unknown_stack = MarkFromOtherThreads(marker, roots, suspender, thread_count, &root_bytes);
  if (unknown_stack || !suspended) {
    MarkFromUnaccountedStacks(marker, roots.maps, stack_top, suspender, thread_count, &root_bytes);
  }
  marker.DrainReachable();
  marker.ClassifyUnreached();
  if (suspended) suspender.ResumeAll();
  const uint64_t resumed_ns = MonotonicNs();
  locks.Release();

  CountByKind(blocks.data(), blocks.size(), baseline, out);
  out->threads = thread_count;
  out->threads_not_stopped =
      suspended ? thread_count - suspender.stopped_count() - suspender.own_count() : 0;
  out->root_bytes = root_bytes;
  out->scanned_bytes = marker.scanned();
  out->stopped_ns = resumed_ns - stopped_ns;
  out->total_ns = MonotonicNs() - start_ns;
  out->cpu_ns = ThreadCpuNs() - start_cpu_ns;
  return true;
}

void ReleaseLeakClassification(LeakClassification* c) {
  if (c->counts != nullptr) UnmapPages(c->counts, c->counts_bytes);
  c->counts = nullptr;
  c->counts_bytes = 0;
  c->site_count = 0;
}

}  // namespace heapwarden::internal
