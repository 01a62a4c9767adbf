// tagged_threads.cc: threads with different tags, through the C++ API.
//   thread 1, tag "alpha": 10 x 100003 bytes, frees 4   -> live 600018, peak 1000030
//             nested "alpha/inner": 2 x 4242 bytes       -> live 8484, peak 8484
//   thread 2, tag "beta": 7 x 77777 bytes, all kept      -> live 544439, peak 544439
//   thread 3, tag "gamma": 1 x 1337 bytes, freed by main -> live 0, peak 1337
// Prints "tag_stats gamma live=L peak=P" as heapwarden::tag_stats sees it at the end.
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "../../programs/escape.h"
#include "heapwarden/heapwarden.hpp"

namespace {

std::vector<void*> g_kept;  // filled only outside tagged scopes' accounting (reserved)

HW_NOINLINE void alpha_work(void** out) {
  HEAPWARDEN_TAG("alpha");
  void* blocks[10];
  for (auto& b : blocks) {
    b = malloc(100003);
    Escape(b);
  }
  for (int i = 0; i < 4; ++i) free(blocks[i]);
  for (int i = 4; i < 10; ++i) out[i - 4] = blocks[i];
  {
    heapwarden::ScopedTag inner("inner");
    out[6] = malloc(4242);
    out[7] = malloc(4242);
    Escape(out[6]);
    Escape(out[7]);
  }
}

HW_NOINLINE void beta_work(void** out) {
  HEAPWARDEN_TAG("beta");
  for (int i = 0; i < 7; ++i) {
    out[i] = malloc(77777);
    Escape(out[i]);
  }
}

HW_NOINLINE void gamma_work(void** out) {
  HEAPWARDEN_TAG("gamma");
  *out = malloc(1337);
  Escape(*out);
}

}  // namespace

int main() {
  // Finds heapwarden (a dlsym) before any thread tags anything.
  std::printf("active=%d\n", heapwarden::active() ? 1 : 0);
  static void* alpha_blocks[8];
  static void* beta_blocks[7];
  static void* gamma_block;
  std::thread a(alpha_work, alpha_blocks);
  std::thread b(beta_work, beta_blocks);
  std::thread c(gamma_work, &gamma_block);
  a.join();
  b.join();
  c.join();
  free(gamma_block);  // freed on another thread than the one that tagged it
  heapwarden::TagStats gamma = heapwarden::tag_stats("gamma");
  heapwarden::TagStats alpha = heapwarden::tag_stats(std::string("alpha"));
  std::printf("tag_stats gamma found=%d live=%llu peak=%llu\n", gamma.found ? 1 : 0,
              static_cast<unsigned long long>(gamma.live_bytes),
              static_cast<unsigned long long>(gamma.peak_live_bytes));
  std::printf("tag_stats alpha found=%d live=%llu peak=%llu\n", alpha.found ? 1 : 0,
              static_cast<unsigned long long>(alpha.live_bytes),
              static_cast<unsigned long long>(alpha.peak_live_bytes));
  heapwarden::Stats stats = heapwarden::stats();
  std::printf("stats active=%d live>=%d\n", stats.active ? 1 : 0,
              stats.live_bytes >= 600018 + 8484 + 544439 ? 1 : 0);
  (void)g_kept;
  return 0;
}
