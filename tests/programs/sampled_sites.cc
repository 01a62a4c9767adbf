// sampled_sites.cc: ground truth for mode=sampled. Nine call sites, each in its own
// function, allocate known byte totals with the allocations interleaved, so that they
// share one stream of bytes as a real program's sites do. Totals (with R = 64 KiB,
// the sample_bytes the test uses): tiny 100 R, small 400 R, medium 200 R, large
// 400 R, huge 640 R, mixed sizes ~300 R, two sites through one wrapper (1200 R and
// 600 R), and a rare site of 5 R that the criterion does not cover. Almost everything
// is freed; a few blocks stay live.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "escape.h"

namespace {

constexpr size_t kR = 64 * 1024;

// Escape after the call keeps it a call (a tail call would leave no frame to name).
HW_NOINLINE void* AllocTiny() { void* p = malloc(64); Escape(p); return p; }
HW_NOINLINE void* AllocSmall() { void* p = malloc(200); Escape(p); return p; }
HW_NOINLINE void* AllocMedium() { void* p = malloc(3000); Escape(p); return p; }
HW_NOINLINE void* AllocLarge() { void* p = malloc(4 * kR); Escape(p); return p; }
HW_NOINLINE void* AllocHuge() { void* p = malloc(32 * kR); Escape(p); return p; }
HW_NOINLINE void* AllocMixed(size_t n) { void* p = malloc(n); Escape(p); return p; }
HW_NOINLINE void* AllocRare() { void* p = malloc(100); Escape(p); return p; }
// One wrapper, two callers: two sites with the same immediate caller of malloc, whose
// split the exact per-caller totals cannot tell (it stays a sampled estimate).
// (The nop keeps XMalloc from being folded into AllocMixed, whose code is the same.)
HW_NOINLINE void* XMalloc(size_t n) {
  __asm__ volatile("nop");
  void* p = malloc(n);
  Escape(p);
  return p;
}
HW_NOINLINE void* PathA() { void* p = XMalloc(96); Escape(p); return p; }
HW_NOINLINE void* PathB() { void* p = XMalloc(96); Escape(p); return p; }

struct Site {
  void* (*alloc)();
  size_t size;
  uint64_t target;  // bytes this site allocates in all
  uint64_t done = 0;
};

}  // namespace

int main() {
  Site sites[] = {
      {AllocTiny, 64, 100 * kR},   {AllocSmall, 200, 400 * kR}, {AllocMedium, 3000, 200 * kR},
      {AllocLarge, 4 * kR, 400 * kR}, {AllocHuge, 32 * kR, 640 * kR}, {AllocRare, 100, 5 * kR},
      {PathA, 96, 1200 * kR},         {PathB, 96, 600 * kR},
  };
  uint64_t mixed_target = 300 * kR, mixed_done = 0;
  uint64_t state = 12345;
  std::vector<void*> keep;
  uint64_t checksum = 0;
  for (bool more = true; more;) {
    more = false;
    // One round: each unfinished site allocates in proportion to its total, so that
    // all of them finish together and stay interleaved throughout.
    for (Site& s : sites) {
      if (s.done >= s.target) continue;
      more = true;
      uint64_t per_round = s.target / 2000 / s.size + 1;
      for (uint64_t i = 0; i < per_round && s.done < s.target; ++i) {
        char* p = static_cast<char*>(s.alloc());
        p[0] = 1;
        checksum += reinterpret_cast<uintptr_t>(p) & 1;
        Escape(p);
        s.done += s.size;
        if (keep.size() < 16 && (s.done / s.size) % 1000 == 1) {
          keep.push_back(p);
        } else {
          free(p);
        }
      }
    }
    for (int i = 0; i < 8 && mixed_done < mixed_target; ++i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      size_t n = 1 + (state >> 33) % 8192;
      char* p = static_cast<char*>(AllocMixed(n));
      p[0] = 1;
      Escape(p);
      mixed_done += n;
      free(p);
      more = true;
    }
  }
  printf("mixed %llu\n", static_cast<unsigned long long>(mixed_done));
  for (void* p : keep) free(p);
  return checksum == 0 ? 0 : 0;
}
