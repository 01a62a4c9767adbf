// containers: C++ standard containers built and destroyed at the bottom of deep call
// stacks, the case where a heap tracker's stack capture dominates.
//
// Each iteration descends a chain of kDepth distinct noinline functions (Level<kDepth>
// down to Level<1>, each one its own template instance, so each frame has its own return
// address), and at the bottom builds, queries and destroys one of:
//   std::map<std::string, std::uint64_t>, std::unordered_map<std::uint64_t, std::string>,
//   std::vector<std::string> (grown by push_back, then sorted), std::list<std::string>.
// Every sixth level takes one of two call sites depending on the iteration number, so
// the program allocates from 2^4 x 4 distinct deep stacks, as real code does.
// Built with -O2 -g and no frame pointers: a tracker has to unwind with DWARF CFI.
//
// Usage: heapwarden_work_containers [--iters N] [--elems N]
// Prints one checksum line that depends only on the arguments.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <list>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "parse_count.h"

namespace {

constexpr int kDepth = 24;
constexpr std::uint64_t kDefaultIters = 14'000;
constexpr std::uint64_t kDefaultElems = 160;

struct Work {
  std::uint64_t iter = 0;
  std::uint64_t elems = 0;
  std::uint64_t sum = 0;
  std::uint64_t path = 0;  // which call sites the descent took
};

// Keys long enough to leave the small-string buffer: every string is a heap block.
std::string Key(std::uint64_t i, std::uint64_t salt) {
  std::string s = "key/";
  s += std::to_string(salt % 97);
  s += "/element-";
  s += std::to_string(i * 2654435761u % 100003);
  return s;
}

std::uint64_t Hash(const std::string &s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

[[gnu::noinline]] std::uint64_t BuildMap(const Work &w) {
  std::map<std::string, std::uint64_t> m;
  for (std::uint64_t i = 0; i < w.elems; ++i) m.emplace(Key(i, w.iter), i);
  std::uint64_t sum = m.size();
  for (std::uint64_t i = 0; i < w.elems; i += 3) {
    auto it = m.find(Key(i, w.iter));
    if (it != m.end()) sum += it->second;
  }
  sum += Hash(m.begin()->first) + Hash(m.rbegin()->first);
  return sum;
}

[[gnu::noinline]] std::uint64_t BuildUnorderedMap(const Work &w) {
  std::unordered_map<std::uint64_t, std::string> m;
  for (std::uint64_t i = 0; i < w.elems; ++i) m.emplace(i * 7919 + w.iter, Key(i, w.iter + 1));
  std::uint64_t sum = m.size();
  for (std::uint64_t i = 0; i < w.elems; i += 2) {
    auto it = m.find(i * 7919 + w.iter);
    if (it != m.end()) sum += it->second.size() + static_cast<unsigned char>(it->second.back());
  }
  return sum;
}

[[gnu::noinline]] std::uint64_t BuildVector(const Work &w) {
  std::vector<std::string> v;  // no reserve: growth reallocates, as real code does
  for (std::uint64_t i = 0; i < w.elems; ++i) v.push_back(Key(w.elems - i, w.iter + 2));
  std::sort(v.begin(), v.end());
  return v.size() + Hash(v.front()) + Hash(v[v.size() / 2]);
}

[[gnu::noinline]] std::uint64_t BuildList(const Work &w) {
  std::list<std::string> l;
  for (std::uint64_t i = 0; i < w.elems; ++i) {
    if (i % 2) l.push_back(Key(i, w.iter + 3));
    else l.push_front(Key(i, w.iter + 3));
  }
  l.remove_if([](const std::string &s) { return s.back() == '7'; });
  std::uint64_t sum = l.size();
  for (const std::string &s : l) sum += static_cast<unsigned char>(s[s.size() - 2]);
  return sum;
}

[[gnu::noinline]] void Leaf(Work &w) {
  switch (w.iter % 4) {
    case 0: w.sum += BuildMap(w); break;
    case 1: w.sum += BuildUnorderedMap(w); break;
    case 2: w.sum += BuildVector(w); break;
    default: w.sum += BuildList(w); break;
  }
}

template <int N>
[[gnu::noinline]] void Level(Work &w);

template <>
[[gnu::noinline]] void Level<0>(Work &w) {
  Leaf(w);
  asm volatile("" ::: "memory");
}

template <int N>
[[gnu::noinline]] void Level(Work &w) {
  if constexpr (N % 6 == 0) {
    // Two call sites, so two return addresses in this frame.
    if ((w.iter >> (N / 6)) & 1) {
      w.path = w.path * 3 + 1;
      Level<N - 1>(w);
      w.sum += N;
    } else {
      w.path = w.path * 5 + 2;
      Level<N - 1>(w);
      w.sum ^= N;
    }
  } else {
    Level<N - 1>(w);
    w.sum += static_cast<std::uint64_t>(N) * (w.iter & 1);  // work after the call: no tail call
  }
  asm volatile("" ::: "memory");
}

[[noreturn]] void Usage(const std::string &msg) {
  std::fprintf(stderr, "containers: %s\nusage: heapwarden_work_containers [--iters N] [--elems N]\n",
               msg.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char **argv) {
  std::uint64_t iters = kDefaultIters, elems = kDefaultElems;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    std::uint64_t *dst = nullptr;
    if (a == "--iters") dst = &iters;
    else if (a == "--elems") dst = &elems;
    else Usage("unknown argument '" + a + "'");
    if (i + 1 >= argc || !ParseU64(argv[i + 1], *dst)) Usage(a + ": expected a non-negative integer");
    ++i;
  }
  if (elems == 0) Usage("--elems: expected at least 1");
  Work w;
  w.elems = elems;
  for (std::uint64_t it = 0; it < iters; ++it) {
    w.iter = it;
    w.path = 0;
    Level<kDepth>(w);
    w.sum += w.path;
  }
  std::printf("containers depth=%d iters=%llu elems=%llu checksum=%016llx\n", kDepth,
              static_cast<unsigned long long>(iters), static_cast<unsigned long long>(elems),
              static_cast<unsigned long long>(w.sum));
  return 0;
}
