// known_peak.c: ground truth for the reports. HoldPeak holds 64 MiB (64 blocks of
// 1 MiB) under the tag "phase/load" and frees it all: that is the peak. HoldLater then
// holds 8 MiB (8 blocks of 1 MiB) under "phase/later" in a global until exit, so it is
// live at the end (still reachable, not a leak) but never near the peak.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "heapwarden/heapwarden.h"

enum { kMiB = 1 << 20, kPeakBlocks = 64, kLaterBlocks = 8 };

static void* g_later[kLaterBlocks];

HW_NOINLINE static void* AllocPeakBlock(void) {
  void* p = malloc(kMiB);
  Escape(p);
  return p;
}

HW_NOINLINE static unsigned long HoldPeak(void) {
  void* blocks[kPeakBlocks];
  unsigned long sum = 0;
  heapwarden_tag_push("phase");
  heapwarden_tag_push("load");
  for (int i = 0; i < kPeakBlocks; ++i) {
    blocks[i] = AllocPeakBlock();
    memset(blocks[i], i, kMiB);
  }
  for (int i = 0; i < kPeakBlocks; ++i) sum += ((unsigned char*)blocks[i])[i];
  for (int i = 0; i < kPeakBlocks; ++i) free(blocks[i]);
  heapwarden_tag_pop();
  heapwarden_tag_pop();
  return sum;
}

HW_NOINLINE static void HoldLater(void) {
  heapwarden_tag_push("phase");
  heapwarden_tag_push("later");
  for (int i = 0; i < kLaterBlocks; ++i) {
    g_later[i] = malloc(kMiB);
    Escape(g_later[i]);
    memset(g_later[i], 1, kMiB);
  }
  heapwarden_tag_pop();
  heapwarden_tag_pop();
}

int main(void) {
  unsigned long sum = HoldPeak();
  HoldLater();
  printf("known_peak: %lu\n", sum);
  return 0;
}
