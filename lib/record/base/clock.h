// clock.h: time since the recorder started, cheap enough for every allocation.
// Any context, the hot path included: clock_gettime through the vDSO, no allocation.
#ifndef HEAPWARDEN_LIB_RECORD_BASE_CLOCK_H_
#define HEAPWARDEN_LIB_RECORD_BASE_CLOCK_H_

#include <cstdint>

namespace heapwarden::internal {

// Records "now" as time zero. Called once by the recorder's Init().
void StartClock();

// Nanoseconds since StartClock(), precise (CLOCK_MONOTONIC).
uint64_t NowNs();

// Milliseconds since StartClock(), coarse (CLOCK_MONOTONIC_COARSE, a few ms of
// resolution): what a block's birth time needs, at a fraction of the cost.
uint32_t NowMsCoarse();

inline double NsToSeconds(uint64_t ns) { return static_cast<double>(ns) / 1e9; }

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_BASE_CLOCK_H_
