// leak_scan_cost.c: measures the exit-time leak scan. Builds MIB mebibytes of live heap
// as linked records of 64..1024 bytes (each holding pointers to others, like real
// data structures: the scan follows every pointer), keeps half reachable from a global
// and drops the other half, then exits. The report's heapwarden.leak_scan says how
// long the scan took and how much it read.
//
// Usage: leak_scan_cost MIB   (e.g. heapwarden run -o r.json -- leak_scan_cost 256)

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct record {
  struct record *next;
  struct record *other;
  uint64_t payload[];
};

struct record *g_kept;

int main(int argc, char **argv) {
  long mib = argc > 1 ? atol(argv[1]) : 64;
  uint64_t budget = (uint64_t)mib << 20, used = 0;
  struct record *kept = NULL, *dropped = NULL;
  uint64_t seed = 88172645463325252ull;
  for (long i = 0; used < budget; ++i) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    size_t size = 64 + (size_t)(seed % 961);
    struct record *r = malloc(size);
    size_t words = (size - sizeof(struct record)) / 8;
    for (size_t w = 0; w < words; ++w) r->payload[w] = seed * (w + 1);  // mostly not pointers
    if (i & 1) {
      r->next = kept;
      r->other = kept != NULL ? kept->next : NULL;
      kept = r;
    } else {
      r->next = dropped;
      r->other = kept;
      dropped = r;
    }
    used += size;
  }
  g_kept = kept;
  dropped = NULL;
  printf("leak_scan_cost: %ld MiB live\n", mib);
  return 0;
}
