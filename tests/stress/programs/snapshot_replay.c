// snapshot_replay.c: 4 threads allocate from three call sites and free what their
// neighbours allocated, in rounds; between rounds, with every worker parked at a
// barrier, the program writes its own count of what each site holds
// (DIR/expected.ROUND: "site live_blocks live_bytes" lines) and takes a snapshot
// (heapwarden_snapshot, to DIR/snap.ROUND.json). Under heapwarden in exact mode each
// snapshot's sites must hold exactly those figures: whatever the tracker batches or
// defers must be applied before a report is read.
//   usage: snapshot_replay DIR [ROUNDS]
// Plain, the snapshots fail (no heapwarden) and only the expected files are written.
#include <heapwarden/heapwarden.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define kThreads 4
#define kSlots 512
#define kOpsPerRound 6000
#define kSites 3

static const char* const kSiteNames[kSites] = {"SiteSmall", "SiteMedium", "SiteLarge"};

struct Header {  // at the start of every block: who made it and how big it is
  uint32_t site;
  uint32_t size;
};

static void* _Atomic g_slots[kThreads][kSlots];
static atomic_long g_live_blocks[kSites];
static atomic_long g_live_bytes[kSites];
static pthread_barrier_t g_barrier;
static int g_rounds = 20;

static void* Stamp(void* p, uint32_t site, uint32_t size) {
  if (p == NULL) abort();
  struct Header h = {site, size};
  memcpy(p, &h, sizeof(h));
  atomic_fetch_add(&g_live_blocks[site], 1);
  atomic_fetch_add(&g_live_bytes[site], size);
  return p;
}

__attribute__((noinline)) static void* SiteSmall(uint32_t n) { return Stamp(malloc(n), 0, n); }
__attribute__((noinline)) static void* SiteMedium(uint32_t n) { return Stamp(malloc(n), 1, n); }
__attribute__((noinline)) static void* SiteLarge(uint32_t n) { return Stamp(calloc(1, n), 2, n); }

static void Release(void* p) {
  if (p == NULL) return;
  struct Header h;
  memcpy(&h, p, sizeof(h));
  // Counted before the free: another thread's malloc may get the address at once.
  atomic_fetch_sub(&g_live_blocks[h.site], 1);
  atomic_fetch_sub(&g_live_bytes[h.site], h.size);
  free(p);
}

static void* Worker(void* arg) {
  const int self = (int)(long)arg;
  const int next = (self + 1) % kThreads;
  uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(self + 1);
  for (int round = 0; round < g_rounds; ++round) {
    for (int i = 0; i < kOpsPerRound; ++i) {
      rng ^= rng << 13;
      rng ^= rng >> 7;
      rng ^= rng << 17;
      const uint32_t pick = (uint32_t)(rng >> 40);
      void* block;
      switch (pick % 8) {
        case 0: block = SiteLarge(4096 + pick % 70000); break;
        case 1: case 2: block = SiteMedium(256 + pick % 1024); break;
        default: block = SiteSmall(16 + pick % 200); break;
      }
      Release(atomic_exchange(&g_slots[self][pick % kSlots], block));
      // Cross-thread: free one of the neighbour's blocks now and then.
      if ((pick & 3) == 0) Release(atomic_exchange(&g_slots[next][(pick >> 9) % kSlots], NULL));
    }
    pthread_barrier_wait(&g_barrier);  // quiescent: main counts and snapshots
    pthread_barrier_wait(&g_barrier);  // main is done: next round
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: snapshot_replay DIR [ROUNDS]\n");
    return 2;
  }
  if (argc > 2) g_rounds = atoi(argv[2]);
  pthread_barrier_init(&g_barrier, NULL, kThreads + 1);
  pthread_t threads[kThreads];
  for (long i = 0; i < kThreads; ++i) pthread_create(&threads[i], NULL, Worker, (void*)i);
  int snapshots = 0;
  char path[4096];
  for (int round = 0; round < g_rounds; ++round) {
    pthread_barrier_wait(&g_barrier);
    // The figures first: the file's own buffer is no block of these sites.
    long blocks[kSites], bytes[kSites];
    for (int s = 0; s < kSites; ++s) {
      blocks[s] = atomic_load(&g_live_blocks[s]);
      bytes[s] = atomic_load(&g_live_bytes[s]);
    }
    snprintf(path, sizeof(path), "%s/snap.%d.json", argv[1], round);
    if (heapwarden_snapshot(path) == 0) ++snapshots;
    snprintf(path, sizeof(path), "%s/expected.%d", argv[1], round);
    FILE* f = fopen(path, "w");
    if (f == NULL) return 3;
    for (int s = 0; s < kSites; ++s) fprintf(f, "%s %ld %ld\n", kSiteNames[s], blocks[s], bytes[s]);
    fclose(f);
    pthread_barrier_wait(&g_barrier);
  }
  for (int i = 0; i < kThreads; ++i) pthread_join(threads[i], NULL);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kSlots; ++i) Release(atomic_exchange(&g_slots[t][i], NULL));
  }
  // Same output plain and tracked: the snapshot count goes to stderr.
  fprintf(stderr, "snapshots written: %d\n", snapshots);
  printf("rounds %d\n", g_rounds);
  return 0;
}
