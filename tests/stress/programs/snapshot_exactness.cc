// snapshot_exactness.cc: the ground truth of tests/stress/snapshot_exactness_test.cc.
// Four workers allocate from seventeen call sites (malloc, calloc, new, new[], aligned
// new, aligned_alloc, posix_memalign, realloc; shallow stacks, a ten-deep chain, one
// leaf reached by two paths, one recursive function at two depths, three functions
// reached from a second caller) and free blocks on other threads through queues, in
// phases; in each phase a short-lived thread allocates from an eighteenth site and
// exits, leaving blocks live and in the workers' queues. Every block starts with a header naming its
// site, kind and size, so whichever thread frees it counts it against the right site.
//
// Each worker counts, per site, four monotonic tallies in blocks and bytes: allocations
// started (before the call), done (after it returns), frees started, frees done. Then:
//  - at a barrier (every worker parked) a site's live figures are exactly
//    sum(alloc done) - sum(free done): written to DIR/expected.K, with a snapshot taken
//    by heapwarden_snapshot() to DIR/snap.K.json; on some barriers the program also
//    waits for a snapshot from outside (writes DIR/ready.K, waits for DIR/go.K);
//  - while the workers run (odd phases), main takes a snapshot (DIR/during.K.json) and
//    brackets it: a site's live count at any instant of the call lies in
//    [alloc done before - frees started after, alloc started after - frees done before]
//    whatever the interleaving: DIR/bounds.K. Meanwhile only the three hot sites
//    change, so the others' bounds are one value;
//  - at exit, what is still live (blocks kept in slots and queues) is DIR/expected.final,
//    for the report written at exit.
// DIR/sites lists each site's key (its stack's functions, innermost first, '<'-joined,
// up to the thread's entry Worker_) and the smallest and largest block it makes;
// DIR/pid the process id.
//   usage: snapshot_exactness DIR [PHASES [OPS [OUTSIDE]]]
// OUTSIDE (0/1, default 0): wait for the outside snapshots. Prints "phases N" on stdout.
#include <heapwarden/heapwarden.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <new>

// No inlining and no cloning: a clone would be named "Recurse.constprop.0".
#if defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noinline, noclone))
#endif

namespace {

// The optimiser must keep each call where it is and never turn one into a jump: a tail
// call would drop the caller's frame from the recorded stack.
inline void Keep(const void* p) { __asm__ volatile("" : : "g"(p) : "memory"); }

constexpr int kWorkers = 4;
constexpr int kSlots = 256;
constexpr int kQueueSize = 512;
constexpr int kHotSlots = 64;

enum Site {
  kSmallMalloc,
  kZeroedCalloc,
  kNewObject,
  kNewArray,
  kAlignedNew,
  kAlignedAlloc,
  kPosixMemalign,
  kBigMalloc,
  kRegrow,
  kLeafViaA,
  kLeafViaB,
  kRecurseShallow,
  kRecurseDeep,
  kChain,
  kHotSmall,  // the hot sites: from AllocateHot
  kHotNew,
  kHotLeaf,
  kEphemeral,  // from a short-lived thread per phase
  kSites
};

struct SiteInfo {
  const char* key;
  uint32_t min_size;
  uint32_t max_size;
};

// BigMalloc's blocks are at least 24 x 4096 bytes: sampled mode with sample_bytes=4096
// sees every one of them (misses one with probability e^-24).
const SiteInfo kSiteInfo[kSites] = {
    {"SmallMalloc<AllocateSomewhere<Step<Worker_", 16, 271},
    {"ZeroedCalloc<AllocateSomewhere<Step<Worker_", 24, 384},
    {"NewObject<AllocateSomewhere<Step<Worker_", 32, 543},
    {"NewArray<AllocateSomewhere<Step<Worker_", 64, 2111},
    {"AlignedNew<AllocateSomewhere<Step<Worker_", 128, 1151},
    {"AlignedAlloc<AllocateSomewhere<Step<Worker_", 64, 4096},
    {"PosixMemalign<AllocateSomewhere<Step<Worker_", 100, 3099},
    {"BigMalloc<AllocateSomewhere<Step<Worker_", 98304, 196607},
    {"Regrow<Step<Worker_", 16, 4111},
    {"Leaf<PathA<AllocateSomewhere<Step<Worker_", 40, 167},
    {"Leaf<PathB<AllocateSomewhere<Step<Worker_", 40, 167},
    {"Recurse<Recurse<Recurse<RecurseEntry<AllocateSomewhere<Step<Worker_", 48, 111},
    {"Recurse<Recurse<Recurse<Recurse<Recurse<Recurse<Recurse<RecurseEntry<AllocateSomewhere<Step<Worker_", 48, 111},
    {"Chain9<Chain8<Chain7<Chain6<Chain5<Chain4<Chain3<Chain2<Chain1<Chain0<AllocateSomewhere<Step<Worker_", 200, 327},
    {"SmallMalloc<AllocateHot<HotStep<Worker_", 16, 271},
    {"NewObject<AllocateHot<HotStep<Worker_", 32, 543},
    {"Leaf<PathA<AllocateHot<HotStep<Worker_", 40, 167},
    {"EphemeralAlloc<Ephemeral_", 24, 800},
};

enum Kind : uint16_t { kMalloc, kNew, kNewArr, kNewAligned, kPlainAligned };

struct Header {  // at the start of every block
  uint16_t site;
  uint16_t kind;
  uint32_t size;
};

enum Tally {
  kAllocStartBlocks,
  kAllocStartBytes,
  kAllocDoneBlocks,
  kAllocDoneBytes,
  kFreeStartBlocks,
  kFreeStartBytes,
  kFreeDoneBlocks,
  kFreeDoneBytes,
  kTallies
};

struct alignas(64) Worker {
  int self = 0;
  uint64_t rng = 0;
  std::atomic<int64_t> tally[kSites][kTallies] = {};
  void* slots[kSlots] = {};
  void* hot_slots[kHotSlots] = {};  // blocks of the hot sites only
  std::atomic<int64_t> ops{0};
};

struct Queue {  // blocks handed to a worker for it to free; fixed storage, no malloc
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  void* items[kQueueSize] = {};
  int head = 0;
  int count = 0;
};

Worker g_workers[kWorkers];
// The short-lived threads (one per phase, one at a time) share its tallies and slots.
Worker g_ephemeral;
Queue g_queues[kWorkers];
pthread_barrier_t g_barrier;
std::atomic<int> g_at_gate{0};
std::atomic<int> g_gate_open{-1};  // the phase whose workers may pass half way
std::atomic<int> g_snapshot_done{-1};  // the phase whose snapshot call has returned
int g_phases = 8;
int g_ops = 12000;

uint32_t Next(Worker& w) {
  w.rng ^= w.rng << 13;
  w.rng ^= w.rng >> 7;
  w.rng ^= w.rng << 17;
  return static_cast<uint32_t>(w.rng >> 32);
}

uint32_t SizeFor(Worker& w, Site site) {
  const SiteInfo& info = kSiteInfo[site];
  uint32_t size = info.min_size + Next(w) % (info.max_size - info.min_size + 1);
  if (site == kAlignedAlloc) size = (size + 63) / 64 * 64;  // aligned_alloc wants a multiple
  if (size > info.max_size) size -= 64;
  return size;
}

inline void Add(Worker& w, Site site, Tally blocks, uint32_t size) {
  w.tally[site][blocks].fetch_add(1);
  w.tally[site][blocks + 1].fetch_add(size);
}

// The allocation's tallies around the call: started before, done after, header written.
inline void Started(Worker& w, Site site, uint32_t size) { Add(w, site, kAllocStartBlocks, size); }
inline void* Done(Worker& w, Site site, Kind kind, void* p, uint32_t size) {
  if (p == nullptr) abort();
  Header h = {static_cast<uint16_t>(site), kind, size};
  memcpy(p, &h, sizeof(h));
  Add(w, site, kAllocDoneBlocks, size);
  return p;
}

NOINLINE void* SmallMalloc(Worker& w, Site site) {
  const uint32_t n = SizeFor(w, site);
  Started(w, site, n);
  return Done(w, site, kMalloc, malloc(n), n);
}

NOINLINE void* ZeroedCalloc(Worker& w) {
  const uint32_t count = 1 + Next(w) % 16;
  const uint32_t n = count * 24;
  Started(w, kZeroedCalloc, n);
  return Done(w, kZeroedCalloc, kMalloc, calloc(count, 24), n);
}

NOINLINE void* NewObject(Worker& w, Site site) {
  const uint32_t n = SizeFor(w, site);
  Started(w, site, n);
  return Done(w, site, kNew, ::operator new(n), n);
}

NOINLINE void* NewArray(Worker& w) {
  const uint32_t n = SizeFor(w, kNewArray);
  Started(w, kNewArray, n);
  return Done(w, kNewArray, kNewArr, new char[n], n);
}

NOINLINE void* AlignedNew(Worker& w) {
  const uint32_t n = SizeFor(w, kAlignedNew);
  Started(w, kAlignedNew, n);
  return Done(w, kAlignedNew, kNewAligned, ::operator new(n, std::align_val_t(128)), n);
}

NOINLINE void* AlignedAlloc(Worker& w) {
  const uint32_t n = SizeFor(w, kAlignedAlloc);
  Started(w, kAlignedAlloc, n);
  return Done(w, kAlignedAlloc, kPlainAligned, aligned_alloc(64, n), n);
}

NOINLINE void* PosixMemalign(Worker& w) {
  const uint32_t n = SizeFor(w, kPosixMemalign);
  Started(w, kPosixMemalign, n);
  void* p = nullptr;
  if (posix_memalign(&p, 256, n) != 0) abort();
  return Done(w, kPosixMemalign, kPlainAligned, p, n);
}

NOINLINE void* BigMalloc(Worker& w) {
  const uint32_t n = SizeFor(w, kBigMalloc);
  Started(w, kBigMalloc, n);
  return Done(w, kBigMalloc, kMalloc, malloc(n), n);
}

// Its own body: identical code folding (-O2) would merge it with SmallMalloc, and the
// report would name both after one of them.
NOINLINE void* Leaf(Worker& w, Site site) {
  const uint32_t n = SizeFor(w, site);
  Started(w, site, n);
  void* p = malloc(n);
  Keep(p);
  return Done(w, site, kMalloc, p, n);
}
NOINLINE void* PathA(Worker& w, Site site) {
  void* p = Leaf(w, site);
  Keep(p);
  return p;
}
NOINLINE void* PathB(Worker& w) {
  void* p = Leaf(w, kLeafViaB);
  Keep(p);
  return p;
}

// Both depths allocate from one return address: only the outer frames tell them apart.
NOINLINE void* Recurse(Worker& w, Site site, int levels) {
  void* p;
  if (levels > 1) {
    p = Recurse(w, site, levels - 1);
  } else {
    const uint32_t n = SizeFor(w, site);
    Started(w, site, n);
    p = Done(w, site, kMalloc, malloc(n), n);
  }
  Keep(p);
  return p;
}
NOINLINE void* RecurseEntry(Worker& w, Site site, int levels) {
  void* p = Recurse(w, site, levels);
  Keep(p);
  return p;
}

NOINLINE void* EphemeralAlloc(Worker& w) {
  const uint32_t n = SizeFor(w, kEphemeral);
  Started(w, kEphemeral, n);
  return Done(w, kEphemeral, kMalloc, malloc(n), n);
}

NOINLINE void* Chain9(Worker& w) {
  const uint32_t n = SizeFor(w, kChain);
  Started(w, kChain, n);
  return Done(w, kChain, kMalloc, malloc(n), n);
}
#define CHAIN_LINK(name, next)   \
  NOINLINE void* name(Worker& w) { \
    void* p = next(w);             \
    Keep(p);                       \
    return p;                      \
  }
CHAIN_LINK(Chain8, Chain9)
CHAIN_LINK(Chain7, Chain8)
CHAIN_LINK(Chain6, Chain7)
CHAIN_LINK(Chain5, Chain6)
CHAIN_LINK(Chain4, Chain5)
CHAIN_LINK(Chain3, Chain4)
CHAIN_LINK(Chain2, Chain3)
CHAIN_LINK(Chain1, Chain2)
CHAIN_LINK(Chain0, Chain1)

void Release(Worker& w, void* p) {
  if (p == nullptr) return;
  Header h;
  memcpy(&h, p, sizeof(h));
  const Site site = static_cast<Site>(h.site);
  // Counted as started before the call: another thread's malloc may get the address
  // the moment it is freed.
  Add(w, site, kFreeStartBlocks, h.size);
  switch (h.kind) {
    case kMalloc:
    case kPlainAligned: free(p); break;
    case kNew: ::operator delete(p); break;
    case kNewArr: delete[] static_cast<char*>(p); break;
    case kNewAligned: ::operator delete(p, std::align_val_t(128)); break;
    default: abort();
  }
  Add(w, site, kFreeDoneBlocks, h.size);
}

// realloc moves a block of the malloc family to the Regrow site, whatever site made it.
NOINLINE void* Regrow(Worker& w, void* old) {
  Header h;
  memcpy(&h, old, sizeof(h));
  const uint32_t n = SizeFor(w, kRegrow);
  Add(w, static_cast<Site>(h.site), kFreeStartBlocks, h.size);
  Started(w, kRegrow, n);
  void* p = realloc(old, n);
  if (p == nullptr) abort();
  Add(w, static_cast<Site>(h.site), kFreeDoneBlocks, h.size);
  return Done(w, kRegrow, kMalloc, p, n);
}

// The 4th worker's neighbour is the 1st: every block crosses a thread before it is freed
// unless the queue is full.
void HandOff(Worker& w, void* p) {
  if (p == nullptr) return;
  Queue& q = g_queues[(w.self + 1) % kWorkers];
  pthread_mutex_lock(&q.lock);
  const bool queued = q.count < kQueueSize;
  if (queued) q.items[(q.head + q.count++) % kQueueSize] = p;
  pthread_mutex_unlock(&q.lock);
  if (!queued) Release(w, p);
}

void DrainOwnQueue(Worker& w, int most) {
  Queue& q = g_queues[w.self];
  void* taken[64];
  int n = 0;
  pthread_mutex_lock(&q.lock);
  while (q.count > 0 && n < most && n < 64) {
    taken[n++] = q.items[q.head];
    q.head = (q.head + 1) % kQueueSize;
    --q.count;
  }
  pthread_mutex_unlock(&q.lock);
  for (int i = 0; i < n; ++i) Release(w, taken[i]);
}

bool Reallocatable(const void* p) {
  Header h;
  memcpy(&h, p, sizeof(h));
  return h.kind == kMalloc;
}

NOINLINE void* AllocateSomewhere(Worker& w, uint32_t pick);

// One step; `keep_pct` is how often a new block goes to a slot (else the slot empties).
NOINLINE void Step(Worker& w, int keep_pct) {
  const uint32_t pick = Next(w);
  const int slot = static_cast<int>(pick % kSlots);
  void* old = w.slots[slot];
  const uint32_t what = (pick >> 8) % 100;
  if (what < 6 && old != nullptr && Reallocatable(old)) {
    w.slots[slot] = Regrow(w, old);
  } else if (what < 6 + static_cast<uint32_t>(keep_pct)) {
    w.slots[slot] = AllocateSomewhere(w, pick >> 16);
    if ((pick >> 28) & 1) {
      HandOff(w, old);
    } else {
      Release(w, old);
    }
  } else {
    w.slots[slot] = nullptr;
    HandOff(w, old);
  }
  if ((pick & 7) == 0) DrainOwnQueue(w, 8);
  w.ops.fetch_add(1, std::memory_order_relaxed);
}

NOINLINE void* AllocateSomewhere(Worker& w, uint32_t pick) {
  void* p;
  switch (pick % 32) {
    case 0: case 1: case 2: case 3: case 4: case 5: p = SmallMalloc(w, kSmallMalloc); break;
    case 6: case 7: p = ZeroedCalloc(w); break;
    case 8: case 9: case 10: p = NewObject(w, kNewObject); break;
    case 11: case 12: p = NewArray(w); break;
    case 13: case 14: p = AlignedNew(w); break;
    case 15: case 16: p = AlignedAlloc(w); break;
    case 17: case 18: p = PosixMemalign(w); break;
    case 19: p = (pick >> 5) % 4 == 0 ? BigMalloc(w) : SmallMalloc(w, kSmallMalloc); break;
    case 20: case 21: p = PathA(w, kLeafViaA); break;
    case 22: case 23: p = PathB(w); break;
    case 24: case 25: p = RecurseEntry(w, kRecurseShallow, 3); break;
    case 26: case 27: p = RecurseEntry(w, kRecurseDeep, 7); break;
    default: p = Chain0(w); break;
  }
  Keep(p);
  return p;
}

// Phases: 0, 3, 6 fill the slots, 2, 5 empty them, the others churn. Half way through an
// odd phase each worker waits at a gate; main opens it, lets the workers get going, and
// takes its snapshot of the running workers while they step through the hot sites.
int KeepPercent(int phase) {
  switch (phase % 3) {
    case 0: return 90;
    case 1: return 60;
    default: return 20;
  }
}

// While main's snapshot of the running workers is taken, only three sites (one per
// allocating function: malloc, operator new, malloc two calls down) change, and no queue
// is drained: every other site's figures are known exactly even then.
NOINLINE void* AllocateHot(Worker& w, uint32_t pick) {
  void* p;
  switch (pick % 3) {
    case 0: p = SmallMalloc(w, kHotSmall); break;
    case 1: p = NewObject(w, kHotNew); break;
    default: p = PathA(w, kHotLeaf); break;
  }
  Keep(p);
  return p;
}

NOINLINE void HotStep(Worker& w) {
  const uint32_t pick = Next(w);
  void** slot = &w.hot_slots[pick % kHotSlots];
  void* old = *slot;
  *slot = AllocateHot(w, pick >> 8);
  if ((pick >> 28) & 1) {
    HandOff(w, old);
  } else {
    Release(w, old);
  }
  w.ops.fetch_add(1, std::memory_order_relaxed);
}

// A thread that lives for 200 allocations: what it leaves live, and what it hands to the
// workers to free, must be counted after it has exited (whatever it kept per thread).
void* Ephemeral_(void*) {
  Worker& w = g_ephemeral;
  for (int i = 0; i < 200; ++i) {
    const uint32_t pick = Next(w);
    void** slot = &w.slots[pick % kSlots];
    void* old = *slot;
    *slot = EphemeralAlloc(w);
    if ((pick >> 28) & 1) {
      HandOff(w, old);
    } else {
      Release(w, old);
    }
  }
  return nullptr;
}

void* Worker_(void* arg) {
  Worker& w = *static_cast<Worker*>(arg);
  for (int phase = 0; phase < g_phases; ++phase) {
    pthread_barrier_wait(&g_barrier);  // main: go
    const int keep = KeepPercent(phase);
    const bool snapshot_phase = phase % 2 == 1;
    for (int i = 0; i < g_ops / 2; ++i) Step(w, keep);
    if (snapshot_phase) {
      g_at_gate.fetch_add(1);
      while (g_gate_open.load() != phase) sched_yield();
      for (int i = 0; i < g_ops / 2; ++i) HotStep(w);
      // Until main's snapshot call has returned (its symbolizer runs after the figures
      // are read): slowly, so as not to take the cores from it.
      while (g_snapshot_done.load() != phase) {
        HotStep(w);
        usleep(200);
      }
    } else {
      for (int i = g_ops / 2; i < g_ops; ++i) Step(w, keep);
    }
    pthread_barrier_wait(&g_barrier);  // parked: main counts and snapshots
  }
  pthread_barrier_wait(&g_barrier);  // main is done with the last phase
  // Leave a quarter of the slots and whatever the queues hold live at exit.
  for (int i = 0; i < kSlots; ++i) {
    if (i % 4 != 0) {
      Release(w, w.slots[i]);
      w.slots[i] = nullptr;
    }
  }
  for (int i = 0; i < kHotSlots; ++i) {
    if (i % 4 != 0) {
      Release(w, w.hot_slots[i]);
      w.hot_slots[i] = nullptr;
    }
  }
  return nullptr;
}

// Sums one tally over the workers. Each term is monotonic, so a sum read before an
// instant is at most its value then, and one read after is at least.
int64_t Sum(int site, Tally t) {
  int64_t total = 0;
  for (const Worker& w : g_workers) total += w.tally[site][t].load();
  return total + g_ephemeral.tally[site][t].load();
}

FILE* Create(const char* dir, const char* name, int phase) {
  char path[4096];
  if (phase >= 0) {
    snprintf(path, sizeof(path), "%s/%s.%d", dir, name, phase);
  } else {
    snprintf(path, sizeof(path), "%s/%s", dir, name);
  }
  FILE* f = fopen(path, "w");
  if (f == nullptr) {
    fprintf(stderr, "snapshot_exactness: cannot write %s: %s\n", path, strerror(errno));
    exit(3);
  }
  return f;
}

// With every worker parked: the exact live figures per site.
void WriteExpected(const char* dir, const char* name, int phase) {
  int64_t blocks[kSites], bytes[kSites];
  for (int s = 0; s < kSites; ++s) {
    for (Tally started : {kAllocStartBlocks, kAllocStartBytes, kFreeStartBlocks, kFreeStartBytes}) {
      if (Sum(s, started) != Sum(s, static_cast<Tally>(started + 2))) {
        fprintf(stderr, "snapshot_exactness: a call still under way at a barrier\n");
        exit(4);
      }
    }
    blocks[s] = Sum(s, kAllocDoneBlocks) - Sum(s, kFreeDoneBlocks);
    bytes[s] = Sum(s, kAllocDoneBytes) - Sum(s, kFreeDoneBytes);
  }
  FILE* f = Create(dir, name, phase);
  for (int s = 0; s < kSites; ++s) fprintf(f, "%s\t%lld\t%lld\n", kSiteInfo[s].key,
                                           (long long)blocks[s], (long long)bytes[s]);
  fclose(f);
}

void WaitForFile(const char* dir, const char* name, int phase) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s.%d", dir, name, phase);
  for (int i = 0; i < 60000; ++i) {  // 60 s at most: the test failing must not hang
    if (access(path, F_OK) == 0) return;
    usleep(1000);
  }
  fprintf(stderr, "snapshot_exactness: nobody wrote %s\n", path);
  exit(5);
}

// A snapshot while the workers run, bracketed by the tallies.
void SnapshotDuringPhase(const char* dir, int phase) {
  while (g_at_gate.load() != kWorkers) sched_yield();
  g_at_gate.store(0);
  int64_t ops_at_gate = 0;
  for (const Worker& w : g_workers) ops_at_gate += w.ops.load();
  g_gate_open.store(phase);
  // Into the snapshot with the workers under way, not still waking from the gate.
  for (int64_t ops = 0; ops < ops_at_gate + g_ops / 4;) {
    sched_yield();
    ops = 0;
    for (const Worker& w : g_workers) ops += w.ops.load();
  }
  int64_t before[kSites][kTallies];
  for (int s = 0; s < kSites; ++s) {
    for (int t = 0; t < kTallies; ++t) before[s][t] = Sum(s, static_cast<Tally>(t));
  }
  int64_t ops_before = 0;
  for (const Worker& w : g_workers) ops_before += w.ops.load();
  char path[4096];
  snprintf(path, sizeof(path), "%s/during.%d.json", dir, phase);
  const int written = heapwarden_snapshot(path);
  int64_t ops_after = 0;
  for (const Worker& w : g_workers) ops_after += w.ops.load();
  g_snapshot_done.store(phase);
  FILE* f = Create(dir, "bounds", phase);
  fprintf(f, "# written %d, worker steps during the snapshot call: %lld\n", written == 0,
          (long long)(ops_after - ops_before));
  for (int s = 0; s < kSites; ++s) {
    const int64_t lo_blocks = before[s][kAllocDoneBlocks] - Sum(s, kFreeStartBlocks);
    const int64_t hi_blocks = Sum(s, kAllocStartBlocks) - before[s][kFreeDoneBlocks];
    const int64_t lo_bytes = before[s][kAllocDoneBytes] - Sum(s, kFreeStartBytes);
    const int64_t hi_bytes = Sum(s, kAllocStartBytes) - before[s][kFreeDoneBytes];
    // Then the live bytes the tallies said just before the call (not a bound: a hint
    // for whether the snapshot saw the workers move).
    const int64_t before_bytes = before[s][kAllocDoneBytes] - before[s][kFreeDoneBytes];
    fprintf(f, "%s\t%lld\t%lld\t%lld\t%lld\t%lld\n", kSiteInfo[s].key, (long long)lo_blocks,
            (long long)hi_blocks, (long long)lo_bytes, (long long)hi_bytes, (long long)before_bytes);
  }
  fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: snapshot_exactness DIR [PHASES [OPS [OUTSIDE]]]\n");
    return 2;
  }
  const char* dir = argv[1];
  if (argc > 2) g_phases = atoi(argv[2]);
  if (argc > 3) g_ops = atoi(argv[3]);
  const bool outside = argc > 4 && atoi(argv[4]) != 0;
  if (g_phases < 1 || g_ops < 2) {
    fprintf(stderr, "snapshot_exactness: PHASES >= 1 and OPS >= 2\n");
    return 2;
  }
  FILE* f = Create(dir, "sites", -1);
  for (const SiteInfo& info : kSiteInfo) {
    fprintf(f, "%s\t%u\t%u\n", info.key, info.min_size, info.max_size);
  }
  fclose(f);
  f = Create(dir, "pid", -1);
  fprintf(f, "%d\n", static_cast<int>(getpid()));
  fclose(f);

  pthread_barrier_init(&g_barrier, nullptr, kWorkers + 1);
  pthread_t threads[kWorkers];
  g_ephemeral.self = kWorkers;  // hands its blocks to the second worker
  g_ephemeral.rng = 0x2545f4914f6cdd1dull;
  for (int i = 0; i < kWorkers; ++i) {
    g_workers[i].self = i;
    g_workers[i].rng = 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(i + 1);
    pthread_create(&threads[i], nullptr, Worker_, &g_workers[i]);
  }
  int snapshots = 0;
  for (int phase = 0; phase < g_phases; ++phase) {
    pthread_barrier_wait(&g_barrier);  // go
    pthread_t ephemeral;
    pthread_create(&ephemeral, nullptr, Ephemeral_, nullptr);
    pthread_join(ephemeral, nullptr);  // before the snapshot: its site stays still then
    if (phase % 2 == 1) SnapshotDuringPhase(dir, phase);
    pthread_barrier_wait(&g_barrier);  // every worker parked
    char path[4096];
    snprintf(path, sizeof(path), "%s/snap.%d.json", dir, phase);
    if (heapwarden_snapshot(path) == 0) ++snapshots;
    WriteExpected(dir, "expected", phase);
    if (outside && phase % 3 == 1) {
      fclose(Create(dir, "ready", phase));
      WaitForFile(dir, "go", phase);
    }
  }
  pthread_barrier_wait(&g_barrier);
  for (pthread_t t : threads) pthread_join(t, nullptr);
  WriteExpected(dir, "expected.final", -1);
  // Same stdout plain and tracked; how many snapshots were written goes to stderr.
  fprintf(stderr, "snapshots written: %d\n", snapshots);
  printf("phases %d\n", g_phases);
  return 0;
}
