// log.h: warnings from inside someone else's process.
// Any context: formats into a stack buffer and write(2)s it to stderr; no stdio, no
// allocation. Capped, so a broken environment cannot flood the program's stderr.
#ifndef HEAPWARDEN_LIB_RECORD_BASE_LOG_H_
#define HEAPWARDEN_LIB_RECORD_BASE_LOG_H_

#include <cstddef>

namespace heapwarden::internal {

// Writes "heapwarden: <message>\n" to fd 2. printf-like, understanding only %s, %d,
// %u, %ld, %lu, %zu, %x and %%. At most kMaxWarnings lines per process.
void Warn(const char* format, ...) __attribute__((format(printf, 1, 2)));

// Formats like Warn into buf (always NUL-terminated); returns the length.
size_t FormatTo(char* buf, size_t size, const char* format, ...)
    __attribute__((format(printf, 3, 4)));

inline constexpr int kMaxWarnings = 16;

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_BASE_LOG_H_
