// api_inactive.cc: a program that uses the whole C++ API, built with the headers only
// (heapwarden::headers: no heapwarden library linked). Run without heapwarden it must
// do its work unchanged and every call must answer "inactive"; run under the preload,
// the same calls reach the tracker.
//
// Prints "work ..." lines (the same with or without heapwarden), "api NAME VALUE" lines
// (what each call answered) and "cost_ns N" (mean cost of an inactive tag push+pop).
#include <chrono>
#include <cstdio>
#include <list>
#include <map>
#include <memory_resource>
#include <string>
#include <vector>

#include "heapwarden/heapwarden.hpp"

int main() {
  // The work: containers with the allocator and a budgeted resource.
  std::vector<int, heapwarden::Allocator<int>> v{heapwarden::Allocator<int>("numbers")};
  for (int i = 0; i < 1000; ++i) v.push_back(i * 3);
  std::list<std::string, heapwarden::Allocator<std::string>> names{
      heapwarden::Allocator<std::string>("names")};
  for (int i = 0; i < 10; ++i) names.push_back("name-" + std::to_string(i));
  heapwarden::Resource resource("resource", 1 << 16);
  std::pmr::map<int, int> m(&resource);
  for (int i = 0; i < 100; ++i) m[i] = i + 1;
  long sum = 0;
  for (int x : v) sum += x;
  for (auto& [k, val] : m) sum += k * val;
  {
    HEAPWARDEN_TAG("phase");
    heapwarden::ScopedTag inner("inner");
    std::vector<char> scratch(4096, 'x');
    sum += scratch[100];
  }
  std::printf("work sum %ld names %zu resource_live %zu\n", sum, names.size(),
              resource.live_bytes());

  // The API's answers.
  std::printf("api active %d\n", heapwarden::active() ? 1 : 0);
  heapwarden::Stats s = heapwarden::stats();
  std::printf("api stats.active %d\n", s.active ? 1 : 0);
  std::printf("api stats.live_bytes_zero %d\n", s.live_bytes == 0 ? 1 : 0);
  heapwarden::TagStats t = heapwarden::tag_stats("numbers");
  std::printf("api tag_stats.found %d\n", t.found ? 1 : 0);
  heapwarden::TrimResult trim = heapwarden::trim();
  std::printf("api trim.ok %d\n", trim.ok ? 1 : 0);
  std::printf("api snapshot %d\n", heapwarden::snapshot("/nonexistent-dir/x.json") ? 1 : 0);
  struct heapwarden_stats raw;
  std::printf("api c_stats %d\n", heapwarden_stats(&raw));
  std::printf("api start %d\n", heapwarden::start() ? 1 : 0);

  // What an inactive call costs.
  constexpr int kCalls = 1000000;
  auto begin = std::chrono::steady_clock::now();
  for (int i = 0; i < kCalls; ++i) {
    heapwarden_tag_push("hot");
    heapwarden_tag_pop();
  }
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                                 begin)
                .count();
  std::printf("cost_ns %.2f\n", static_cast<double>(ns) / kCalls);
  return 0;
}
