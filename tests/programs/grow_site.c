// grow_site.c: ground truth for `heapwarden diff`. KeepBuffers keeps N MiB (N from
// argv[1], blocks of 1 MiB) live in a global until exit; everything else the program
// does is the same whatever N is. Two runs with N = 1 and N = 9 differ by +8 MiB at one
// site: KeepBuffers.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

enum { kMiB = 1 << 20, kMaxBlocks = 64 };

static void* g_kept[kMaxBlocks];

HW_NOINLINE static void KeepBuffers(int mebibytes) {
  for (int i = 0; i < mebibytes && i < kMaxBlocks; ++i) {
    g_kept[i] = malloc(kMiB);
    Escape(g_kept[i]);
    memset(g_kept[i], 1, kMiB);
  }
}

// The same few temporary allocations in every run, so the other sites match.
HW_NOINLINE static void Churn(void) {
  for (int i = 0; i < 100; ++i) {
    char* p = malloc(64 + i);
    Escape(p);
    free(p);
  }
}

int main(int argc, char** argv) {
  int mebibytes = argc > 1 ? atoi(argv[1]) : 1;
  Churn();
  KeepBuffers(mebibytes);
  printf("grow_site: kept %d MiB\n", mebibytes);
  return 0;
}
