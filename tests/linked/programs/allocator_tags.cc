// allocator_tags.cc: containers with heapwarden::Allocator under two tags, and a
// heapwarden::Resource under a third, with the exact bytes each tag must show.
//
//   "embeddings"  std::vector<float>, reserve(2500): one block of 10000 bytes
//   "index"       std::map<int, Row> of 50 rows: nodes of an implementation-defined size;
//                 the expected bytes come from a twin map whose allocator counts
//   "arena"       heapwarden::Resource: 3000 + 1000 bytes through std::pmr
//   "load"        2000 bytes of its own, and "load/map" under it 3000: tag_stats("load")
//                 says 2000 own and 5000 in total ("totals TAG OWN TOTAL TOTAL_PEAK")
//
// Usage: allocator_tags SNAPSHOT_PATH
// Writes a snapshot while everything is live, then prints one "expect TAG BYTES" line per
// tag and what heapwarden::tag_stats() says ("inprocess TAG LIVE PEAK FOUND"), frees all
// and exits 0. Runs alike with or without heapwarden (then the snapshot is not written).
#include <array>
#include <cstdio>
#include <map>
#include <memory_resource>
#include <vector>

#include "heapwarden/heapwarden.hpp"

namespace {

using Row = std::array<char, 100>;

size_t g_counted_bytes = 0;

// The twin of heapwarden::Allocator for ground truth: std::allocator that counts.
template <class T>
struct CountingAllocator {
  using value_type = T;
  CountingAllocator() = default;
  template <class U>
  CountingAllocator(const CountingAllocator<U>&) {}
  T* allocate(size_t n) {
    g_counted_bytes += n * sizeof(T);
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, size_t n) { std::allocator<T>().deallocate(p, n); }
  friend bool operator==(const CountingAllocator&, const CountingAllocator&) { return true; }
  friend bool operator!=(const CountingAllocator&, const CountingAllocator&) { return false; }
};

template <class Map>
void Fill(Map& map) {
  for (int i = 0; i < 50; ++i) map[i * 7].fill(static_cast<char>(i));
}

void PrintInProcess(const char* tag) {
  heapwarden::TagStats t = heapwarden::tag_stats(tag);
  std::printf("inprocess %s %llu %llu %d\n", tag, static_cast<unsigned long long>(t.live_bytes),
              static_cast<unsigned long long>(t.peak_live_bytes), t.found ? 1 : 0);
}

void PrintTotals(const char* what, const char* tag) {
  heapwarden::TagStats t = heapwarden::tag_stats(tag);
  std::printf("%s %s %llu %llu %llu\n", what, tag, static_cast<unsigned long long>(t.live_bytes),
              static_cast<unsigned long long>(t.total_live_bytes),
              static_cast<unsigned long long>(t.total_peak_live_bytes));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: allocator_tags SNAPSHOT_PATH\n");
    return 2;
  }
  std::vector<float, heapwarden::Allocator<float>> embeddings{
      heapwarden::Allocator<float>("embeddings")};
  embeddings.reserve(2500);

  using IndexAllocator = heapwarden::Allocator<std::pair<const int, Row>>;
  std::map<int, Row, std::less<int>, IndexAllocator> index{IndexAllocator("index")};
  Fill(index);
  std::map<int, Row, std::less<int>, CountingAllocator<std::pair<const int, Row>>> twin;
  Fill(twin);

  heapwarden::Resource arena("arena");
  void* a = arena.allocate(3000);
  void* b = arena.allocate(1000, 64);

  void* load_own;
  void* load_map;
  {
    heapwarden::ScopedTag load("load");
    load_own = ::operator new(2000);
    heapwarden::ScopedTag map("map");
    load_map = ::operator new(3000);
  }

  const bool snapshot = heapwarden::snapshot(argv[1]);
  std::printf("snapshot %d\n", snapshot ? 1 : 0);
  std::printf("expect embeddings %zu\n", embeddings.capacity() * sizeof(float));
  std::printf("expect index %zu\n", g_counted_bytes);
  std::printf("expect arena %zu\n", arena.live_bytes());
  PrintInProcess("embeddings");
  PrintInProcess("index");
  PrintInProcess("arena");

  PrintTotals("totals", "load");
  PrintTotals("totals", "load/map");
  ::operator delete(load_map);
  PrintTotals("freed", "load");  // the child freed: the total peak stays
  ::operator delete(load_own);

  arena.deallocate(b, 1000, 64);
  arena.deallocate(a, 3000);
  return 0;
}
