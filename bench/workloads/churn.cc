// churn: malloc/free churn with shallow stacks, the allocator-bound worst case for a
// heap tracker.
//
// A working set of slots holds live blocks. Each operation picks a random slot, retires
// the block in it and puts a freshly allocated block of a random size there (mostly
// 16..512 bytes, some up to 4 KiB, a few up to 64 KiB), writing its first bytes.
//
//   --threads 1   the same thread frees the retired block at once;
//   --threads 2   the allocating thread hands each retired block to a second thread
//                 (in batches, through a bounded mutex-protected queue) and that thread
//                 frees it: every free is a cross-thread free.
//
// Usage: heapwarden_work_churn [--threads 1|2] [--ops N] [--slots N] [--seed N]
// Prints one checksum line that depends only on the arguments (not on addresses, thread
// timing or the allocator), so plain and tracked runs can be compared byte for byte.
#include <condition_variable>
#include <deque>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <mutex>
#include <thread>
#include <vector>

#include "parse_count.h"

namespace {

constexpr std::uint64_t kDefaultOps = 24'000'000;
constexpr std::size_t kDefaultSlots = 4096;

struct Rng {  // xorshift64*: small, fast, deterministic
  std::uint64_t s;
  std::uint64_t Next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1DULL;
  }
};

std::size_t PickSize(Rng &rng) {
  const std::uint64_t r = rng.Next();
  const unsigned bucket = static_cast<unsigned>(r % 1000);
  const std::uint64_t v = r >> 20;
  if (bucket < 900) return 16 + v % (512 - 16 + 1);   // 90%: 16..512 B
  if (bucket < 990) return 513 + v % (4096 - 513 + 1);  // 9%: up to 4 KiB
  return 4097 + v % (65536 - 4097 + 1);                 // 1%: up to 64 KiB
}

// Every block starts with a header the consumer reads back before freeing it.
struct Header {
  std::uint64_t tag;
  std::uint64_t size;
};

constexpr std::size_t kTouch = 64;

void *MakeBlock(std::uint64_t op, std::size_t size) {
  auto *p = static_cast<unsigned char *>(std::malloc(size));
  if (p == nullptr) {
    std::fprintf(stderr, "churn: malloc(%zu) failed\n", size);
    std::exit(1);
  }
  std::memset(p, static_cast<int>(op & 0xff), size < kTouch ? size : kTouch);
  Header h{op * 0x9E3779B97F4A7C15ULL, size};
  std::memcpy(p, &h, sizeof h);
  return p;
}

// Reads a block back and frees it; returns its contribution to the checksum.
std::uint64_t Retire(void *block) {
  Header h;
  std::memcpy(&h, block, sizeof h);
  const unsigned char last = static_cast<unsigned char *>(block)[
      (h.size < kTouch ? h.size : kTouch) - 1];
  std::free(block);
  return (h.tag ^ h.size) + last;
}

// Hands retired blocks from the allocating thread to the freeing thread in batches of
// kBatch pointers through a bounded queue (a mutex and two condition variables, taken
// once per batch, so the handoff costs little next to the frees themselves).
class Handoff {
 public:
  static constexpr std::size_t kBatch = 256;
  static constexpr std::size_t kMaxBatches = 16;

  void Push(std::vector<void *> &&batch) {
    std::unique_lock<std::mutex> lock(mu_);
    not_full_.wait(lock, [&] { return queue_.size() < kMaxBatches; });
    queue_.push_back(std::move(batch));
    not_empty_.notify_one();
  }

  // Returns false once the producer has finished and everything was taken.
  bool Pop(std::vector<void *> &out) {
    std::unique_lock<std::mutex> lock(mu_);
    not_empty_.wait(lock, [&] { return !queue_.empty() || done_; });
    if (queue_.empty()) return false;
    out = std::move(queue_.front());
    queue_.pop_front();
    not_full_.notify_one();
    return true;
  }

  void Finish() {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    not_empty_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<std::vector<void *>> queue_;
  bool done_ = false;
};

[[noreturn]] void Usage(const char *msg) {
  std::fprintf(stderr, "churn: %s\nusage: heapwarden_work_churn [--threads 1|2] [--ops N] [--slots N] [--seed N]\n", msg);
  std::exit(2);
}

}  // namespace

int main(int argc, char **argv) {
  std::uint64_t threads = 1, ops = kDefaultOps, slots = kDefaultSlots, seed = 42;
  for (int i = 1; i < argc; ++i) {
    const char *a = argv[i];
    std::uint64_t *dst = nullptr;
    if (std::strcmp(a, "--threads") == 0) dst = &threads;
    else if (std::strcmp(a, "--ops") == 0) dst = &ops;
    else if (std::strcmp(a, "--slots") == 0) dst = &slots;
    else if (std::strcmp(a, "--seed") == 0) dst = &seed;
    else Usage((std::string("unknown argument '") + a + "'").c_str());
    if (i + 1 >= argc || !ParseU64(argv[i + 1], *dst))
      Usage((std::string(a) + ": expected a non-negative integer").c_str());
    ++i;
  }
  if (threads != 1 && threads != 2) Usage("--threads: expected 1 or 2");
  if (slots == 0) Usage("--slots: expected at least 1");
  if (seed == 0) seed = 1;

  Rng rng{seed};
  std::vector<void *> live(slots);
  for (std::uint64_t i = 0; i < slots; ++i) live[i] = MakeBlock(i, PickSize(rng));

  std::uint64_t sum = 0;
  if (threads == 1) {
    for (std::uint64_t op = 0; op < ops; ++op) {
      const std::size_t idx = rng.Next() % slots;
      sum += Retire(live[idx]);
      live[idx] = MakeBlock(slots + op, PickSize(rng));
    }
  } else {
    Handoff handoff;
    std::uint64_t consumer_sum = 0;
    std::thread consumer([&] {
      std::vector<void *> batch;
      while (handoff.Pop(batch))
        for (void *p : batch) consumer_sum += Retire(p);
    });
    std::vector<void *> batch;
    batch.reserve(Handoff::kBatch);
    for (std::uint64_t op = 0; op < ops; ++op) {
      const std::size_t idx = rng.Next() % slots;
      batch.push_back(live[idx]);
      live[idx] = MakeBlock(slots + op, PickSize(rng));
      if (batch.size() == Handoff::kBatch) {
        handoff.Push(std::move(batch));
        batch = std::vector<void *>();
        batch.reserve(Handoff::kBatch);
      }
    }
    if (!batch.empty()) handoff.Push(std::move(batch));
    handoff.Finish();
    consumer.join();
    sum += consumer_sum;
  }
  for (void *p : live) sum += Retire(p);
  std::printf("churn threads=%llu ops=%llu slots=%llu checksum=%016llx\n",
              static_cast<unsigned long long>(threads),
              static_cast<unsigned long long>(ops), static_cast<unsigned long long>(slots),
              static_cast<unsigned long long>(sum));
  return 0;
}
