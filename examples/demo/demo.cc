// demo.cc: a small program with known leaks, to show what `heapwarden run` reports.
//
// It loads a "config", builds some records, runs a little cache, and frees almost
// everything. Three things are left behind on purpose:
//   1. LoadConfigName() strdup()s the config name and nobody frees it        (1 block)
//   2. BuildRecords() new[]s an array of 128 records and forgets it          (1 block)
//   3. Cache::Insert() nodes of a linked list that is dropped without freeing (64 blocks)
// Everything else (strings, vectors, maps, scratch buffers) is freed.
//
// Run it: build/bin/heapwarden run -o build/demo-report.json -- build/bin/heapwarden_demo

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

struct Record {
  int id;
  double score;
  char label[48];
};

struct CacheNode {
  CacheNode *next;
  int key;
  char payload[116];
};

// Leak 1: the config name is copied with strdup() and the copy is never freed.
__attribute__((noinline)) const char *LoadConfigName() {
  const char *from_environment = std::getenv("DEMO_CONFIG_NAME");
  char *name = strdup(from_environment != nullptr ? from_environment : "heapwarden-demo.conf");
  if (name == nullptr) std::abort();  // (also keeps strdup from being a tail call)
  return name;
}

// Leak 2: an array of records made with new[]; the caller only keeps a sum of it.
__attribute__((noinline)) Record *BuildRecords(int count) {
  Record *records = new Record[count];
  for (int i = 0; i < count; ++i) {
    records[i].id = i;
    records[i].score = i * 0.5;
    std::snprintf(records[i].label, sizeof records[i].label, "record-%d", i);
  }
  return records;
}

// Leak 3: a cache whose nodes are never freed: Reset() forgets the list head.
class Cache {
 public:
  __attribute__((noinline)) void Insert(int key) {
    auto *node = static_cast<CacheNode *>(std::malloc(sizeof(CacheNode)));
    node->key = key;
    std::snprintf(node->payload, sizeof node->payload, "value of %d", key);
    node->next = head_;
    head_ = node;
    ++size_;
  }
  int size() const { return size_; }
  void Reset() {  // the bug: drops the list without freeing it
    head_ = nullptr;
    size_ = 0;
  }

 private:
  CacheNode *head_ = nullptr;
  int size_ = 0;
};

// Freed work: plenty of allocations that all go away again.
__attribute__((noinline)) long DoFreedWork() {
  long checksum = 0;
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string> words;
    for (int i = 0; i < 50; ++i) {
      words.push_back("word number " + std::to_string(round * 50 + i) + " with some padding");
    }
    std::map<std::string, int> counts;
    for (const auto &w : words) counts[w.substr(0, 8)] += 1;
    auto scratch = std::make_unique<char[]>(4096 + round);
    std::memset(scratch.get(), round & 0xff, 4096 + round);
    checksum += scratch[round] + static_cast<long>(counts.size()) + static_cast<long>(words.size());
    void *buffer = std::malloc(100 + round * 10);
    std::memset(buffer, 0, 100 + round * 10);
    std::free(buffer);
  }
  return checksum;
}

}  // namespace

int main() {
  const char *config_name = LoadConfigName();
  std::printf("demo: loaded config %s\n", config_name);

  Record *records = BuildRecords(128);
  double total = 0;
  for (int i = 0; i < 128; ++i) total += records[i].score;
  std::printf("demo: 128 records, total score %.1f\n", total);

  Cache cache;
  for (int key = 0; key < 64; ++key) cache.Insert(key);
  std::printf("demo: cache holds %d entries\n", cache.size());
  cache.Reset();

  std::printf("demo: freed work checksum %ld\n", DoFreedWork());
  std::printf("demo: done (leaked: the config name, the records array, 64 cache nodes)\n");
  return 0;
}
