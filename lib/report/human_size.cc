// human_size.cc: renders byte counts for people.
// Report side.
#include "report/human_size.h"

#include "absl/strings/str_format.h"

namespace heapwarden::report {

std::string HumanBytes(int64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  const char* sign = bytes < 0 ? "-" : "";
  // Work in unsigned so that INT64_MIN does not overflow on negation.
  uint64_t magnitude = bytes < 0 ? 0 - static_cast<uint64_t>(bytes) : static_cast<uint64_t>(bytes);
  if (magnitude < 1024) return absl::StrFormat("%s%d B", sign, magnitude);
  double value = static_cast<double>(magnitude);
  size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(kUnits)) {
    value /= 1024.0;
    ++unit;
  }
  // 1023.96 KiB would print as "1024.0 KiB"; move such values up a unit.
  if (value >= 1023.95 && unit + 1 < std::size(kUnits)) {
    value /= 1024.0;
    ++unit;
  }
  return absl::StrFormat("%s%.1f %s", sign, value, kUnits[unit]);
}

std::string BytesWithExact(int64_t bytes) {
  if (bytes > -1024 && bytes < 1024) return absl::StrFormat("%d bytes", bytes);
  return absl::StrFormat("%s (%d bytes)", HumanBytes(bytes), bytes);
}

}  // namespace heapwarden::report
