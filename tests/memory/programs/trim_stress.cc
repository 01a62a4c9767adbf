// trim_stress.cc: two threads allocate, check and free without pause while a third
// asks heapwarden to trim, over and over, for SECONDS (default 4). Every block is
// filled with a pattern made from its address and size and checked before it is
// freed or reallocated; calloc'd blocks must read zero. Exits 1 at the first
// corrupted byte, else prints "trim_stress: ok" with the counts.
//
//   trim_stress [SECONDS]
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "heapwarden/heapwarden.h"

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_corrupt{false};
std::atomic<uint64_t> g_ops{0};

unsigned char PatternByte(const void* p, size_t size, size_t i) {
  auto a = reinterpret_cast<uintptr_t>(p);
  return static_cast<unsigned char>((a >> 4) ^ size ^ (i * 131));
}

void Fill(void* p, size_t size) {
  auto* b = static_cast<unsigned char*>(p);
  // The whole of small blocks; head, middle and tail of big ones (speed).
  if (size <= 4096) {
    for (size_t i = 0; i < size; ++i) b[i] = PatternByte(p, size, i);
    return;
  }
  for (size_t i = 0; i < 1024; ++i) b[i] = PatternByte(p, size, i);
  for (size_t i = size / 2; i < size / 2 + 64; ++i) b[i] = PatternByte(p, size, i);
  for (size_t i = size - 1024; i < size; ++i) b[i] = PatternByte(p, size, i);
}

bool Check(const void* p, size_t size) {
  const auto* b = static_cast<const unsigned char*>(p);
  auto ok = [&](size_t i) { return b[i] == PatternByte(p, size, i); };
  if (size <= 4096) {
    for (size_t i = 0; i < size; ++i)
      if (!ok(i)) return false;
    return true;
  }
  for (size_t i = 0; i < 1024; ++i)
    if (!ok(i)) return false;
  for (size_t i = size / 2; i < size / 2 + 64; ++i)
    if (!ok(i)) return false;
  for (size_t i = size - 1024; i < size; ++i)
    if (!ok(i)) return false;
  return true;
}

struct Slot {
  void* p = nullptr;
  size_t size = 0;
};

void Worker(unsigned seed) {
  std::vector<Slot> slots(8192);
  uint64_t x = seed;
  auto next = [&x]() {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  uint64_t ops = 0;
  while (!g_stop.load(std::memory_order_relaxed)) {
    Slot& s = slots[next() % slots.size()];
    if (s.p != nullptr) {
      if (!Check(s.p, s.size)) {
        g_corrupt = true;
        std::printf("corrupt block %p size %zu\n", s.p, s.size);
        return;
      }
      if (next() % 4 == 0) {
        size_t size = 16 + next() % 20000;
        void* q = std::realloc(s.p, size);
        if (q == nullptr) std::abort();
        size_t kept = size < s.size ? size : s.size;
        // The prefix survives a realloc: check what the old pattern left.
        const auto* b = static_cast<const unsigned char*>(q);
        size_t probe = kept < 256 ? kept : 256;
        for (size_t i = 0; i < probe; ++i) {
          if (b[i] != PatternByte(s.p, s.size, i) && s.size <= 4096) {
            g_corrupt = true;
            std::printf("realloc lost data\n");
            return;
          }
        }
        s.p = q;
        s.size = size;
        Fill(s.p, s.size);
      } else {
        std::free(s.p);
        s.p = nullptr;
      }
    } else {
      uint64_t r = next() % 100;
      size_t size = r < 70 ? 16 + next() % 1024 : r < 97 ? 1024 + next() % 65536 : 262144 + next() % (2 << 20);
      if (r % 10 == 0) {
        auto* z = static_cast<unsigned char*>(std::calloc(1, size));
        if (z == nullptr) std::abort();
        for (size_t i = 0; i < size; i += 4093) {
          if (z[i] != 0) {
            g_corrupt = true;
            std::printf("calloc not zeroed\n");
            return;
          }
        }
        s.p = z;
      } else {
        s.p = std::malloc(size);
        if (s.p == nullptr) std::abort();
      }
      s.size = size;
      Fill(s.p, s.size);
    }
    ++ops;
  }
  for (Slot& s : slots) {
    if (s.p != nullptr && !Check(s.p, s.size)) g_corrupt = true;
    std::free(s.p);
  }
  g_ops += ops;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 4.0;
  std::thread a(Worker, 0x9e3779b9u);
  std::thread b(Worker, 0x85ebca6bu);
  uint64_t trims = 0, released = 0;
  int active = heapwarden_active();
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end && !g_corrupt) {
    heapwarden_trim_result r = heapwarden_trim();
    if (!active) malloc_trim(0);
    trims += 1;
    released += r.released_bytes;
    usleep(2000);
  }
  g_stop = true;
  a.join();
  b.join();
  if (g_corrupt) {
    std::printf("trim_stress: CORRUPTED\n");
    return 1;
  }
  std::printf("trim_stress: ok, %llu trims, %llu operations, heapwarden %s\n",
              static_cast<unsigned long long>(trims), static_cast<unsigned long long>(g_ops.load()),
              active ? "active" : "inactive");
  return 0;
}
