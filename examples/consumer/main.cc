// consumer: a small application that links heapwarden the way docs/cpp.md describes.
// It tags its phases, gives its containers heapwarden::Allocator, puts its cache on a
// heapwarden::Resource with a budget, and prints what heapwarden::stats() and
// heapwarden::tag_stats() say. Built against an installed heapwarden, with CMake
// (CMakeLists.txt) or with pkg-config (Makefile).
//
//   ./consumer                                   tracking off: runs as if unlinked
//   HEAPWARDEN_OPTIONS=output=r.json ./consumer  tracks the whole process, report r.json
//   ./consumer --start                           switches tracking on from code
#include <cstdio>
#include <cstring>
#include <map>
#include <memory_resource>
#include <string>
#include <vector>

#include "heapwarden/heapwarden.hpp"

namespace {

using Embedding = std::vector<float, heapwarden::Allocator<float>>;
using Index = std::map<int, int, std::less<int>, heapwarden::Allocator<std::pair<const int, int>>>;

void Report(const char* tag) {
  heapwarden::TagStats t = heapwarden::tag_stats(tag);
  std::printf("  tag %-11s live %7llu  peak %7llu%s\n", tag,
              static_cast<unsigned long long>(t.live_bytes),
              static_cast<unsigned long long>(t.peak_live_bytes),
              t.found ? "" : "  (not tracked)");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--start") == 0) {
    std::printf("start: %s\n", heapwarden::start("output=consumer.%p.json") ? "on" : "failed");
  }
  std::printf("heapwarden active: %s\n", heapwarden::active() ? "yes" : "no");

  Embedding embeddings{heapwarden::Allocator<float>("embeddings")};
  embeddings.reserve(4096);  // 16384 bytes under "embeddings"
  for (int i = 0; i < 4096; ++i) embeddings.push_back(static_cast<float>(i) * 0.5f);

  Index index{heapwarden::Allocator<std::pair<const int, int>>("index")};
  {
    HEAPWARDEN_TAG("load");  // the index is built during the "load" phase
    for (int i = 0; i < 100; ++i) index[i] = i * i;
  }

  // A cache that may hold 64 KiB; the handler refuses and counts what does not fit.
  int refused = 0;
  heapwarden::Resource cache_memory("cache", 64 * 1024,
                                    [&refused](const heapwarden::BudgetExceeded&) {
                                      ++refused;
                                      return heapwarden::BudgetAction::kRefuse;
                                    });
  std::pmr::vector<std::pmr::string> cache(&cache_memory);
  cache.reserve(64);
  for (int i = 0; i < 64; ++i) {
    try {
      cache.emplace_back(std::string(2000, static_cast<char>('a' + i % 26)));
    } catch (const std::bad_alloc&) {
      break;  // full: a real cache would evict here
    }
  }

  float sum = 0;
  for (float f : embeddings) sum += f;
  std::printf("embeddings sum %.1f, index[99] %d, cache holds %zu entries (%d refused)\n", sum,
              index[99], cache.size(), refused);
  std::printf("cache resource: live %zu, peak %zu, budget %zu\n", cache_memory.live_bytes(),
              cache_memory.peak_bytes(), cache_memory.budget());

  heapwarden::Stats s = heapwarden::stats();
  std::printf("process: live %llu bytes in %llu blocks, peak %llu\n",
              static_cast<unsigned long long>(s.live_bytes),
              static_cast<unsigned long long>(s.live_blocks),
              static_cast<unsigned long long>(s.peak_live_bytes));
  Report("embeddings");
  Report("load/index");
  Report("cache");
  return 0;
}
