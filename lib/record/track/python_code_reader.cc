// python_code_reader.cc: see python_code_reader.h. Record side.
#include "record/track/python_code_reader.h"

#include <sys/uio.h>
#include <unistd.h>

#include <cstring>

namespace heapwarden::internal {
namespace {

pid_t g_pid = 0;

// Longest name or file name copied, and longest line table read: far beyond what real
// code has, and small enough that a misread length cannot make a read run away.
constexpr size_t kMaxStringChars = 1024;
constexpr size_t kMaxLineTableBytes = 1 << 20;

template <typename T>
T Field(const unsigned char* object, uint32_t offset) {
  T value;
  memcpy(&value, object + offset, sizeof(T));
  return value;
}

// Reads a line table front to back through a small window, refilled with SafeCopy.
class TableReader {
 public:
  TableReader(uintptr_t data, size_t size) : data_(data), size_(size) {}
  // The next byte, or -1 at the end or when the memory cannot be read.
  int Next() {
    if (pos_ >= size_) return -1;
    if (pos_ >= window_start_ + window_len_ || pos_ < window_start_) {
      size_t n = size_ - pos_ < sizeof(window_) ? size_ - pos_ : sizeof(window_);
      if (!SafeCopy(window_, data_ + pos_, n)) return -1;
      window_start_ = pos_;
      window_len_ = n;
    }
    return window_[pos_++ - window_start_];
  }
  int Peek() {
    int b = Next();
    if (b >= 0) --pos_;
    return b;
  }
  bool Varint(uint32_t* out) {
    uint32_t value = 0;
    for (int shift = 0; shift < 32; shift += 6) {
      int b = Next();
      if (b < 0) return false;
      value |= static_cast<uint32_t>(b & 63) << shift;
      if ((b & 64) == 0) {
        *out = value;
        return true;
      }
    }
    return false;
  }
  bool SignedVarint(int32_t* out) {
    uint32_t u;
    if (!Varint(&u)) return false;
    *out = (u & 1) ? -static_cast<int32_t>(u >> 1) : static_cast<int32_t>(u >> 1);
    return true;
  }

 private:
  uintptr_t data_;
  size_t size_;
  size_t pos_ = 0;
  size_t window_start_ = 0;
  size_t window_len_ = 0;
  unsigned char window_[256];
};

size_t PutUtf8(uint32_t c, char* out) {
  if (c < 0x80) {
    out[0] = static_cast<char>(c);
    return 1;
  }
  if (c < 0x800) {
    out[0] = static_cast<char>(0xc0 | (c >> 6));
    out[1] = static_cast<char>(0x80 | (c & 63));
    return 2;
  }
  if (c < 0x10000) {
    out[0] = static_cast<char>(0xe0 | (c >> 12));
    out[1] = static_cast<char>(0x80 | ((c >> 6) & 63));
    out[2] = static_cast<char>(0x80 | (c & 63));
    return 3;
  }
  if (c > 0x10ffff) c = 0xfffd;
  out[0] = static_cast<char>(0xf0 | (c >> 18));
  out[1] = static_cast<char>(0x80 | ((c >> 12) & 63));
  out[2] = static_cast<char>(0x80 | ((c >> 6) & 63));
  out[3] = static_cast<char>(0x80 | (c & 63));
  return 4;
}

}  // namespace

bool SafeCopy(void* dst, uintptr_t address, size_t n) {
  if (n == 0) return true;
  // User-space addresses only: anything else is not an object of this process.
  if (address < 4096 || address >= (uintptr_t{1} << 47) || n > (uintptr_t{1} << 47) - address) return false;
  iovec local{dst, n};
  iovec remote{reinterpret_cast<void*>(address), n};
  return process_vm_readv(g_pid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(n);
}

bool InitSafeCopy() {
  g_pid = getpid();
  static const uint64_t probe = 0x5afec0b1;
  uint64_t copy = 0;
  return SafeCopy(&copy, reinterpret_cast<uintptr_t>(&probe), sizeof(copy)) && copy == probe &&
         !SafeCopy(&copy, 4096, sizeof(copy));
}

bool ReadPythonString(const PythonLayout& layout, const PythonTypes& types, uintptr_t object,
                      char* out, size_t cap, size_t* length) {
  *length = 0;
  if (cap == 0) return false;
  out[0] = '\0';
  unsigned char head[128];
  if (layout.unicode_compact_data > sizeof(head) || !SafeCopy(head, object, layout.unicode_compact_data)) {
    return false;
  }
  if (Field<uintptr_t>(head, layout.object_type) != types.unicode) return false;
  const int64_t chars = Field<int64_t>(head, layout.unicode_length);
  const uint32_t state = Field<uint32_t>(head, layout.unicode_state);
  // PyASCIIObject.state: interned:2, kind:3, compact:1, ascii:1, ready:1.
  const uint32_t kind = (state >> 2) & 7;
  const bool compact = (state >> 5) & 1;
  const bool ascii = (state >> 6) & 1;
  if (!compact || chars < 0 || static_cast<size_t>(chars) > kMaxStringChars) return false;
  if (ascii) {
    size_t n = static_cast<size_t>(chars) < cap - 1 ? static_cast<size_t>(chars) : cap - 1;
    if (!SafeCopy(out, object + layout.unicode_ascii_data, n)) return false;
    for (size_t i = 0; i < n; ++i) {
      if (static_cast<unsigned char>(out[i]) >= 0x80) return false;
    }
    out[n] = '\0';
    *length = n;
    return true;
  }
  if (kind != 1 && kind != 2 && kind != 4) return false;
  // Decode the code points ourselves: the cached UTF-8 copy exists only once something
  // asked for it.
  unsigned char units[kMaxStringChars * 4];
  const size_t bytes = static_cast<size_t>(chars) * kind;
  if (!SafeCopy(units, object + layout.unicode_compact_data, bytes)) return false;
  size_t n = 0;
  for (int64_t i = 0; i < chars; ++i) {
    uint32_t c;
    if (kind == 1) {
      c = units[i];
    } else if (kind == 2) {
      uint16_t u;
      memcpy(&u, units + i * 2, 2);
      c = u;
    } else {
      memcpy(&c, units + i * 4, 4);
    }
    char encoded[4];
    size_t len = PutUtf8(c, encoded);
    if (n + len >= cap) break;
    memcpy(out + n, encoded, len);
    n += len;
  }
  out[n] = '\0';
  *length = n;
  return true;
}

int PythonLineOf(const PythonLayout& layout, const PythonTypes& types, uintptr_t linetable,
                 int first_line, int instr) {
  unsigned char head[64];
  if (layout.bytes_data > sizeof(head) || !SafeCopy(head, linetable, layout.bytes_data)) return -1;
  if (Field<uintptr_t>(head, layout.object_type) != types.bytes) return -1;
  const int64_t size = Field<int64_t>(head, layout.var_size);
  if (size < 0 || static_cast<size_t>(size) > kMaxLineTableBytes) return -1;
  if (instr < 0) return first_line;  // what PyCode_Addr2Line answers before the first instruction
  TableReader table(linetable + layout.bytes_data, static_cast<size_t>(size));
  int line = first_line;
  int64_t end = 0;
  for (;;) {
    const int first = table.Next();
    if (first < 0) return -1;           // ran off the table: not an instruction of this code
    if ((first & 0x80) == 0) return -1;  // every entry starts with its high bit set
    const int code = (first >> 3) & 15;
    end += (first & 7) + 1;
    int32_t delta = 0;
    if (code == 14 || code == 13) {  // long form, or no columns: a signed line delta first
      if (!table.SignedVarint(&delta)) return -1;
    } else if (code >= 10 && code <= 12) {  // one-line forms: the delta is in the code
      delta = code - 10;
    }
    line += delta;
    if (instr < end) return code == 15 ? 0 : line;  // 15: no location
    // The rest of this entry's bytes (columns) up to the next entry's first byte.
    for (int b = table.Peek(); b >= 0 && (b & 0x80) == 0; b = table.Peek()) table.Next();
  }
}

}  // namespace heapwarden::internal
