// leak_summary.h: the leak figures of a report and the CI gate on them.
// Report side. `heapwarden run --fail-on-leak` and `heapwarden check` share this, so a
// saved report gives the same verdict as the run that wrote it.
#ifndef HEAPWARDEN_LIB_REPORT_LEAK_SUMMARY_H_
#define HEAPWARDEN_LIB_REPORT_LEAK_SUMMARY_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "common/report_format.h"
#include "nlohmann/json.hpp"

namespace heapwarden::report {

// The exit status of a failed leak gate unless leak_exitcode says otherwise.
inline constexpr int kDefaultLeakExitCode = kLeakExitCode;  // common/report_format.h

struct LeakSummary {
  // Unsuppressed groups, by kind.
  int64_t direct_bytes = 0, direct_blocks = 0;
  int64_t indirect_bytes = 0, indirect_blocks = 0;
  // Live blocks of a report whose scan did not run: counted as leaks, to be safe.
  int64_t unclassified_bytes = 0, unclassified_blocks = 0;
  int64_t reachable_bytes = 0, reachable_blocks = 0, reachable_groups = 0;
  // Direct, indirect or unclassified groups a suppression accepted.
  int64_t suppressed_bytes = 0, suppressed_blocks = 0, suppressed_groups = 0;

  // What --fail-on-leak counts: unsuppressed direct + indirect (+ unclassified).
  int64_t leaked_bytes() const { return direct_bytes + indirect_bytes + unclassified_bytes; }
  int64_t leaked_blocks() const { return direct_blocks + indirect_blocks + unclassified_blocks; }
};

// SummarizeLeaks()
//
// Sums the report's "leaks" by kind, honouring each group's "suppressed" flag. Never
// throws; malformed entries count as nothing.
LeakSummary SummarizeLeaks(const nlohmann::json& report);

// The leak gate's settings: the HEAPWARDEN_OPTIONS keys fail_on_leak, max_leak_bytes,
// leak_exitcode and suppressions.
struct LeakGateOptions {
  bool fail_on_leak = false;
  int64_t max_leak_bytes = 0;
  int exit_code = kDefaultLeakExitCode;
  std::string suppressions;  // a suppressions file, "" for the built-in rules only
};

// ParseLeakGateOptions()
//
// Reads the gate's keys from HEAPWARDEN_OPTIONS text ("key=value:key=value", later
// keys win) into *out, leaving other keys and malformed values alone: the preload has
// already warned about those. Used on the tool's environment and on a report's
// heapwarden.options (what the process ran with).
void ParseLeakGateOptions(std::string_view options_text, LeakGateOptions* out);

// LeakGateFails()
//
// True when the leaked bytes exceed `max_leak_bytes`.
inline bool LeakGateFails(const LeakSummary& summary, int64_t max_leak_bytes) {
  return summary.leaked_bytes() > max_leak_bytes;
}

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_LEAK_SUMMARY_H_
