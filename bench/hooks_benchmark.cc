// hooks_benchmark.cc: the per-call cost of each allocation entry point, as the
// program sees it. Built without heapwarden; bench/hook_overhead.sh runs it plain and
// under the preload, so the ratio of the two runs is heapwarden's overhead per call.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <new>
#include <vector>

namespace {

// A few frames of real call stack, as allocation sites in applications have.
__attribute__((noinline)) void* AllocateDeep(size_t size, int depth) {
  if (depth == 0) {
    void* p = malloc(size);
    benchmark::DoNotOptimize(p);
    return p;
  }
  void* p = AllocateDeep(size, depth - 1);
  benchmark::DoNotOptimize(depth);
  return p;
}

void BM_MallocFree(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    void* p = malloc(size);
    benchmark::DoNotOptimize(p);
    free(p);
  }
}
BENCHMARK(BM_MallocFree)->Arg(16)->Arg(256)->Arg(4096);

void BM_MallocFreeDeepStack(benchmark::State& state) {
  const int depth = static_cast<int>(state.range(0));
  for (auto _ : state) free(AllocateDeep(64, depth));
}
BENCHMARK(BM_MallocFreeDeepStack)->Arg(4)->Arg(16)->Arg(28);

// Many blocks live at once: the live table is large and lookups miss the cache.
void BM_MallocFreeManyLive(benchmark::State& state) {
  std::vector<void*> slots(static_cast<size_t>(state.range(0)), nullptr);
  uint32_t x = 1;
  for (auto _ : state) {
    x = x * 1103515245u + 12345u;
    void*& slot = slots[(x >> 8) % slots.size()];
    free(slot);
    slot = malloc(16 + ((x >> 20) & 255));
    benchmark::DoNotOptimize(slot);
  }
  for (void* p : slots) free(p);
}
BENCHMARK(BM_MallocFreeManyLive)->Arg(1 << 10)->Arg(1 << 20);

void BM_NewDelete(benchmark::State& state) {
  for (auto _ : state) {
    auto* p = new int[16];
    benchmark::DoNotOptimize(p);
    delete[] p;
  }
}
BENCHMARK(BM_NewDelete);

void BM_Calloc(benchmark::State& state) {
  for (auto _ : state) {
    void* p = calloc(8, 32);
    benchmark::DoNotOptimize(p);
    free(p);
  }
}
BENCHMARK(BM_Calloc);

void BM_ReallocGrow(benchmark::State& state) {
  for (auto _ : state) {
    void* p = malloc(16);
    p = realloc(p, 64);
    p = realloc(p, 256);
    benchmark::DoNotOptimize(p);
    free(p);
  }
}
BENCHMARK(BM_ReallocGrow);

void BM_AlignedAlloc(benchmark::State& state) {
  for (auto _ : state) {
    void* p = aligned_alloc(64, 256);
    benchmark::DoNotOptimize(p);
    free(p);
  }
}
BENCHMARK(BM_AlignedAlloc);

// Two threads, each freeing what the other allocated.
void BM_CrossThreadFree(benchmark::State& state) {
  static std::vector<void*> shared(1024, nullptr);
  size_t i = static_cast<size_t>(state.thread_index()) * 512;
  for (auto _ : state) {
    void* p = malloc(48);
    benchmark::DoNotOptimize(p);
    void* old = __atomic_exchange_n(&shared[i % 1024], p, __ATOMIC_ACQ_REL);
    free(old);
    ++i;
  }
}
BENCHMARK(BM_CrossThreadFree)->Threads(2);

}  // namespace

BENCHMARK_MAIN();
