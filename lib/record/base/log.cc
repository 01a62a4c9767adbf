// log.cc: see log.h. Record side.
#include "record/base/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <cstdint>
#include <cstring>

namespace heapwarden::internal {
namespace {

std::atomic<int> g_warnings{0};

class Out {
 public:
  Out(char* buf, size_t size) : buf_(buf), size_(size) {}
  void Put(char c) {
    if (len_ + 1 < size_) buf_[len_++] = c;
  }
  void Puts(const char* s) {
    if (s == nullptr) s = "(null)";
    while (*s) Put(*s++);
  }
  void PutUnsigned(uint64_t v, unsigned base) {
    char digits[24];
    int n = 0;
    do {
      digits[n++] = "0123456789abcdef"[v % base];
      v /= base;
    } while (v != 0);
    while (n > 0) Put(digits[--n]);
  }
  void PutSigned(int64_t v) {
    if (v < 0) {
      Put('-');
      PutUnsigned(static_cast<uint64_t>(-(v + 1)) + 1, 10);
    } else {
      PutUnsigned(static_cast<uint64_t>(v), 10);
    }
  }
  size_t Finish() {
    buf_[len_] = '\0';
    return len_;
  }

 private:
  char* buf_;
  size_t size_;
  size_t len_ = 0;
};

size_t VFormat(char* buf, size_t size, const char* format, va_list args) {
  Out out(buf, size);
  for (const char* p = format; *p; ++p) {
    if (*p != '%') {
      out.Put(*p);
      continue;
    }
    ++p;
    bool is_long = false;
    bool is_size = false;
    if (*p == 'l') {
      is_long = true;
      ++p;
    } else if (*p == 'z') {
      is_size = true;
      ++p;
    }
    switch (*p) {
      case 's':
        out.Puts(va_arg(args, const char*));
        break;
      case 'd':
        out.PutSigned(is_long ? va_arg(args, long) : va_arg(args, int));
        break;
      case 'u':
        out.PutUnsigned(is_long || is_size ? va_arg(args, unsigned long) : va_arg(args, unsigned), 10);
        break;
      case 'x':
        out.PutUnsigned(is_long || is_size ? va_arg(args, unsigned long) : va_arg(args, unsigned), 16);
        break;
      case '%':
        out.Put('%');
        break;
      case '\0':
        --p;
        break;
      default:
        out.Put('?');
    }
  }
  return out.Finish();
}

}  // namespace

size_t FormatTo(char* buf, size_t size, const char* format, ...) {
  va_list args;
  va_start(args, format);
  size_t n = VFormat(buf, size, format, args);
  va_end(args);
  return n;
}

void Warn(const char* format, ...) {
  if (g_warnings.fetch_add(1, std::memory_order_relaxed) >= kMaxWarnings) return;
  char buf[512];
  static constexpr char kPrefix[] = "heapwarden: ";
  memcpy(buf, kPrefix, sizeof(kPrefix) - 1);
  va_list args;
  va_start(args, format);
  size_t n = sizeof(kPrefix) - 1 +
             VFormat(buf + sizeof(kPrefix) - 1, sizeof(buf) - sizeof(kPrefix), format, args);
  va_end(args);
  buf[n++] = '\n';
  for (size_t off = 0; off < n;) {
    ssize_t w = write(2, buf + off, n - off);
    if (w <= 0) break;
    off += static_cast<size_t>(w);
  }
}

}  // namespace heapwarden::internal
