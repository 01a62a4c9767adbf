// decimal.h: the decimal digits of an unsigned integer, for record-side code that may
// not call snprintf (it can allocate, and takes locale locks).
#ifndef HEAPWARDEN_LIB_COMMON_DECIMAL_H_
#define HEAPWARDEN_LIB_COMMON_DECIMAL_H_

#include <cstdint>

namespace heapwarden::internal {

// Longest uint64_t in decimal: 20 digits.
inline constexpr int kMaxDecimalDigits = 20;

// Writes the digits of `v`, most significant first, to out[0..n); returns n (>= 1).
inline int DecimalDigits(uint64_t v, char out[kMaxDecimalDigits]) {
  char reversed[kMaxDecimalDigits];
  int n = 0;
  do {
    reversed[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (int i = 0; i < n; ++i) out[i] = reversed[n - 1 - i];
  return n;
}

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_COMMON_DECIMAL_H_
