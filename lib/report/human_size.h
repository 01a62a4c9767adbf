// human_size.h: renders byte counts for people ("5.2 MiB"), next to the exact number
// where a reader may want to compare or grep it.
// Report side.
#ifndef HEAPWARDEN_LIB_REPORT_HUMAN_SIZE_H_
#define HEAPWARDEN_LIB_REPORT_HUMAN_SIZE_H_

#include <cstdint>
#include <string>

namespace heapwarden::report {

// HumanBytes()
//
// "512 B", "1.3 KiB", "5.2 MiB", "1.0 GiB" (binary units, one decimal). Negative
// counts (which a well-formed report never holds) are rendered with a sign.
std::string HumanBytes(int64_t bytes);

// BytesWithExact()
//
// "1337 bytes" below 1 KiB; "5.2 MiB (5452595 bytes)" from there on, so the rounded
// figure is readable and the exact one still greppable.
std::string BytesWithExact(int64_t bytes);

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_HUMAN_SIZE_H_
