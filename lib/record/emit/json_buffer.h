// json_buffer.h: builds JSON text in mmap'd memory.
// Report time (a snapshot, the API, the final report): no malloc and no stdio, so a report can be written from the exit path,
// the snapshot thread, or a process whose heap is in trouble.
#ifndef HEAPWARDEN_LIB_RECORD_EMIT_JSON_BUFFER_H_
#define HEAPWARDEN_LIB_RECORD_EMIT_JSON_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace heapwarden::internal {

class JsonBuffer {
 public:
  JsonBuffer() = default;
  ~JsonBuffer();
  JsonBuffer(const JsonBuffer&) = delete;
  JsonBuffer& operator=(const JsonBuffer&) = delete;

  // Structure. Commas between members and elements are inserted automatically.
  void BeginObject(const char* key = nullptr);
  void EndObject();
  void BeginArray(const char* key = nullptr);
  void EndArray();

  // Values; `key` is nullptr inside arrays. Strings are escaped for JSON; a byte that
  // starts no well-formed UTF-8 sequence is written as U+FFFD.
  void String(const char* key, const char* value);
  void StringN(const char* key, const char* value, size_t len);
  void Uint(const char* key, uint64_t value);
  void Int(const char* key, int64_t value);
  void Bool(const char* key, bool value);
  // Fixed, 6 decimals; negative and NaN print as 0, above 1e12 (and +inf) as 1e12.
  void Seconds(const char* key, double seconds);
  void Hex(const char* key, uint64_t value);      // "0x..." string
  void Null(const char* key);
  void Newline() { Char('\n'); }

  const char* data() const { return data_; }
  size_t size() const { return size_; }
  // False once an mmap failed: the text is incomplete and must not be written out.
  bool ok() const { return ok_; }

 private:
  // The text is built a byte or a few at a time (a report of a Python program has
  // millions of numbers): the common case, room in the buffer, stays inline.
  void Raw(const char* s, size_t n) {
    if (n <= capacity_ - size_) {
      memcpy(data_ + size_, s, n);
      size_ += n;
    } else {
      RawSlow(s, n);
    }
  }
  void Raw(const char* s) { Raw(s, strlen(s)); }
  void Char(char c) {
    if (size_ < capacity_) {
      data_[size_++] = c;
    } else {
      RawSlow(&c, 1);
    }
  }
  void RawSlow(const char* s, size_t n);  // grows the buffer first
  void Escaped(const char* s, size_t n);
  void Prefix(const char* key);
  void UnsignedDigits(uint64_t v);

  char* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;  // room for the text: mapped_, or size_ once a mapping failed
  size_t mapped_ = 0;
  bool ok_ = true;
  // One bit per nesting level: does the current container already have a member?
  uint64_t has_member_ = 0;
  int level_ = 0;
};

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_EMIT_JSON_BUFFER_H_
