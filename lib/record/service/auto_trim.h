// auto_trim.h: trim=auto: the service thread trims when the memory the allocator
// retains stays above trim_retained_mb, at most once per trim_interval_s; each trim is
// recorded with trigger "auto". Never on the allocation path.
// Service thread: runs on the service thread (service_thread.h) with its guard held.
//
// The signal is the memory view's trimmable_bytes (memory_view.h): resident memory
// that is neither a live block nor the program's own mapping, capped by what the
// allocator itself counts as free. A trim is due when the signal has been above the
// threshold for kTicksAbove ticks in a row and the interval has passed since the last
// one. After a trim that released less than a quarter of the threshold (free memory
// pinned by live blocks, or a mimalloc heap of another thread), the interval doubles,
// up to 64 times, until the signal falls below the threshold again: a trim that
// cannot help is not repeated every interval.
#ifndef HEAPWARDEN_LIB_RECORD_SERVICE_AUTO_TRIM_H_
#define HEAPWARDEN_LIB_RECORD_SERVICE_AUTO_TRIM_H_

#include <cstdint>

namespace heapwarden::internal {

class Recorder;
struct Options;
struct ServiceTick;

struct AutoTrimPolicy {
  uint64_t threshold_bytes;
  uint64_t interval_ns;
  int ticks_above = 2;
};

struct AutoTrimState {
  int ticks_above = 0;
  bool trimmed = false;
  uint64_t last_trim_ns = 0;
  int backoff_shift = 0;
};

inline constexpr int kMaxAutoTrimBackoffShift = 6;

// AutoTrimDue()
//
// The policy alone, for one tick with signal `trimmable_bytes`: true when a trim is
// due now. Updates *state's counters.
bool AutoTrimDue(const AutoTrimPolicy& policy, AutoTrimState* state, uint64_t now_ns,
                 uint64_t trimmable_bytes);

// AutoTrimDone()
//
// Tells the policy that a trim ran at `now_ns` and released `released_bytes`.
void AutoTrimDone(const AutoTrimPolicy& policy, AutoTrimState* state, uint64_t now_ns,
                  uint64_t released_bytes);

// The policy from the options (trim_retained_mb, trim_interval_s).
AutoTrimPolicy AutoTrimPolicyFromOptions(const Options& options);

// AutoTrimTick()
//
// One tick on the process's recorder with the options' policy: reads the cheap memory
// view (rss_bytes: a fresh reading, or 0), and trims (trigger auto) when due. Returns
// true when it trimmed. Does nothing unless trim=auto. Not thread-safe against itself:
// the service thread is its one caller (tests may call it directly instead).
bool AutoTrimTick(Recorder& recorder, uint64_t now_ns, uint64_t rss_bytes = 0);

// The service task wrapping AutoTrimTick.
void AutoTrimTask(Recorder& recorder, const ServiceTick& tick);

// RegisterAutoTrimTask()
//
// With trim=auto, registers AutoTrimTask with the service thread. Call from
// Recorder::Init before StartServiceThread().
void RegisterAutoTrimTask(const Options& options);

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_SERVICE_AUTO_TRIM_H_
