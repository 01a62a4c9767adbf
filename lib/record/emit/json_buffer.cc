// json_buffer.cc: see json_buffer.h. Record side.
#include "record/emit/json_buffer.h"

#include <sys/mman.h>

#include <cstring>

#include "common/decimal.h"

namespace heapwarden::internal {
namespace {

// The length of the well-formed UTF-8 sequence at s[0..n) (RFC 3629, table 3-7 of
// Unicode): 0 for a stray continuation byte, an overlong form, a surrogate, a code
// point above U+10FFFF or a sequence cut short.
size_t Utf8SequenceLength(const char* s, size_t n) {
  const auto byte = [s](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(0);
  size_t len;
  unsigned char low = 0x80, high = 0xbf;  // the second byte's range
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    if (c == 0xe0) low = 0xa0;   // overlong below U+0800
    if (c == 0xed) high = 0x9f;  // surrogates U+D800..U+DFFF
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    if (c == 0xf0) low = 0x90;   // overlong below U+10000
    if (c == 0xf4) high = 0x8f;  // above U+10FFFF
  } else {
    return 0;
  }
  if (len > n || byte(1) < low || byte(1) > high) return 0;
  for (size_t k = 2; k < len; ++k) {
    if ((byte(k) & 0xc0) != 0x80) return 0;
  }
  return len;
}

bool NeedsNoEscape(unsigned char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; }

}  // namespace

JsonBuffer::~JsonBuffer() {
  if (data_ != nullptr) munmap(data_, mapped_);
}

void JsonBuffer::RawSlow(const char* s, size_t n) {
  // A failed buffer has no room (capacity_ == size_), so every write comes here and stops.
  if (!ok_) return;
  if (size_ + n > capacity_) {
    size_t capacity = capacity_ ? capacity_ : (1 << 20);
    while (capacity < size_ + n) capacity *= 2;
    void* grown = data_ == nullptr
                      ? mmap(nullptr, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                      : mremap(data_, mapped_, capacity, MREMAP_MAYMOVE);
    if (grown == MAP_FAILED) {
      ok_ = false;
      capacity_ = size_;
      return;
    }
    data_ = static_cast<char*>(grown);
    mapped_ = capacity_ = capacity;
  }
  memcpy(data_ + size_, s, n);
  size_ += n;
}

void JsonBuffer::Escaped(const char* s, size_t n) {
  Char('"');
  for (size_t i = 0; i < n; ++i) {
    // A run of bytes that need no escape (paths, names: nearly all of them) is copied
    // at once.
    size_t run = i;
    while (run < n && NeedsNoEscape(static_cast<unsigned char>(s[run]))) ++run;
    if (run > i) {
      Raw(s + i, run - i);
      i = run;
      if (i == n) break;
    }
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      Char('\\');
      Char(static_cast<char>(c));
    } else if (c == '\n') {
      Raw("\\n", 2);
    } else if (c == '\t') {
      Raw("\\t", 2);
    } else if (c < 0x20 || c == 0x7f) {
      char esc[7] = {'\\', 'u', '0', '0', "0123456789abcdef"[c >> 4], "0123456789abcdef"[c & 15], 0};
      Raw(esc, 6);
    } else if (c >= 0x80) {
      // Well-formed UTF-8 passes through: paths and argv are UTF-8 in practice. Any
      // other byte would make the document unreadable to a strict parser, so each
      // byte that starts no well-formed sequence becomes U+FFFD.
      const size_t len = Utf8SequenceLength(s + i, n - i);
      if (len == 0) {
        Raw("\\ufffd", 6);
        continue;
      }
      Raw(s + i, len);
      i += len - 1;
    } else {
      Char(static_cast<char>(c));
    }
  }
  Char('"');
}

void JsonBuffer::Prefix(const char* key) {
  uint64_t bit = uint64_t{1} << level_;
  if (level_ > 0) {
    if (has_member_ & bit) Char(',');
    has_member_ |= bit;
  }
  if (key != nullptr) {
    Escaped(key, strlen(key));
    Char(':');
  }
}

void JsonBuffer::BeginObject(const char* key) {
  Prefix(key);
  Char('{');
  ++level_;
  has_member_ &= ~(uint64_t{1} << level_);
}

void JsonBuffer::EndObject() {
  --level_;
  Char('}');
}

void JsonBuffer::BeginArray(const char* key) {
  Prefix(key);
  Char('[');
  ++level_;
  has_member_ &= ~(uint64_t{1} << level_);
}

void JsonBuffer::EndArray() {
  --level_;
  Char(']');
}

void JsonBuffer::String(const char* key, const char* value) {
  StringN(key, value ? value : "", value ? strlen(value) : 0);
}

void JsonBuffer::StringN(const char* key, const char* value, size_t len) {
  Prefix(key);
  Escaped(value, len);
}

// Two digits at a time from a table: a report of a Python program has a million
// numbers (frame ids, counters), and a division per digit showed in its profile.
void JsonBuffer::UnsignedDigits(uint64_t v) {
  static constexpr char kPairs[] =
      "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
      "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
      "8081828384858687888990919293949596979899";
  char digits[kMaxDecimalDigits];
  char* end = digits + sizeof(digits);
  char* p = end;
  while (v >= 100) {
    const uint64_t pair = v % 100;
    v /= 100;
    p -= 2;
    memcpy(p, kPairs + 2 * pair, 2);
  }
  if (v >= 10) {
    p -= 2;
    memcpy(p, kPairs + 2 * v, 2);
  } else {
    *--p = static_cast<char>('0' + v);
  }
  Raw(p, static_cast<size_t>(end - p));
}

void JsonBuffer::Uint(const char* key, uint64_t value) {
  Prefix(key);
  UnsignedDigits(value);
}

void JsonBuffer::Int(const char* key, int64_t value) {
  Prefix(key);
  if (value < 0) {
    Char('-');
    UnsignedDigits(static_cast<uint64_t>(-(value + 1)) + 1);
  } else {
    UnsignedDigits(static_cast<uint64_t>(value));
  }
}

void JsonBuffer::Bool(const char* key, bool value) {
  Prefix(key);
  Raw(value ? "true" : "false");
}

void JsonBuffer::Null(const char* key) {
  Prefix(key);
  Raw("null");
}

void JsonBuffer::Seconds(const char* key, double seconds) {
  Prefix(key);
  if (!(seconds >= 0)) seconds = 0;  // also catches NaN
  // Converting a double beyond uint64_t's range is undefined: clamp (31,700 years,
  // and +inf) to what the microseconds can hold.
  constexpr double kMaxSeconds = 1e12;
  if (seconds > kMaxSeconds) seconds = kMaxSeconds;
  uint64_t micros = static_cast<uint64_t>(seconds * 1e6 + 0.5);
  UnsignedDigits(micros / 1000000);
  char frac[8] = {'.', 0, 0, 0, 0, 0, 0, 0};
  uint64_t f = micros % 1000000;
  for (int i = 6; i >= 1; --i) {
    frac[i] = static_cast<char>('0' + f % 10);
    f /= 10;
  }
  Raw(frac, 7);
}

void JsonBuffer::Hex(const char* key, uint64_t value) {
  Prefix(key);
  // Filled from the end: "0x", up to 16 digits, the closing quote.
  char text[20];
  size_t start = sizeof(text) - 1;
  text[start] = '"';
  do {
    text[--start] = "0123456789abcdef"[value & 15];
    value >>= 4;
  } while (value != 0);
  text[--start] = 'x';
  text[--start] = '0';
  text[--start] = '"';
  Raw(text + start, sizeof(text) - start);
}

}  // namespace heapwarden::internal
