// clock.cc: see clock.h. Record side.
#include "record/base/clock.h"

#include <time.h>

namespace heapwarden::internal {
namespace {

uint64_t g_start_ns = 0;
uint64_t g_start_coarse_ns = 0;

uint64_t Read(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

void StartClock() {
  g_start_ns = Read(CLOCK_MONOTONIC);
  g_start_coarse_ns = Read(CLOCK_MONOTONIC_COARSE);
}

uint64_t NowNs() { return Read(CLOCK_MONOTONIC) - g_start_ns; }

uint32_t NowMsCoarse() {
  uint64_t now = Read(CLOCK_MONOTONIC_COARSE);
  return now > g_start_coarse_ns ? static_cast<uint32_t>((now - g_start_coarse_ns) / 1000000u) : 0;
}

}  // namespace heapwarden::internal
