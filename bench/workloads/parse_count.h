// parse_count.h: the workloads' one argument parser: a decimal count, no sign, no junk.
#ifndef HEAPWARDEN_BENCH_WORKLOADS_PARSE_COUNT_H_
#define HEAPWARDEN_BENCH_WORKLOADS_PARSE_COUNT_H_

#include <cerrno>
#include <cstdint>
#include <cstdlib>

inline bool ParseU64(const char *s, std::uint64_t &out) {
  if (s == nullptr || *s == '\0' || *s == '-') return false;
  char *end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0') return false;
  out = v;
  return true;
}

#endif  // HEAPWARDEN_BENCH_WORKLOADS_PARSE_COUNT_H_
