// churn.cc: the same work for as long as asked: allocate and free blocks from a
// handful of call sites, holding a few. Its report and heapwarden's own memory must not
// grow with how long it runs.
//   usage: churn SECONDS
#include <chrono>
#include <cstdlib>
#include <thread>

#include "../../programs/escape.h"

namespace {

HW_NOINLINE void* churn_small() { return malloc(48); }
HW_NOINLINE void* churn_medium() { return malloc(4000); }
HW_NOINLINE void* churn_large() { return malloc(200000); }

}  // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 1;
  const auto end = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(static_cast<long>(seconds * 1000));
  void* ring[256] = {};
  unsigned i = 0;
  while (std::chrono::steady_clock::now() < end) {
    for (int k = 0; k < 100; ++k, ++i) {
      void*& slot = ring[i % 256];
      free(slot);
      slot = (i % 3 == 0) ? churn_small() : (i % 3 == 1) ? churn_medium() : churn_large();
      Escape(slot);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  for (void*& p : ring) free(p);
  return 0;
}
