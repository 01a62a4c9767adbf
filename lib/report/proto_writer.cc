// proto_writer.cc: protocol-buffers wire encoding (varints, length-delimited fields).
// Report side.
#include "report/proto_writer.h"

namespace heapwarden::report {

void ProtoWriter::Varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void ProtoWriter::Tag(int field, int wire_type) {
  Varint(data_, (static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(wire_type));
}

void ProtoWriter::Uint(int field, uint64_t value) {
  if (value == 0) return;
  Tag(field, 0);
  Varint(data_, value);
}

void ProtoWriter::Bytes(int field, absl::string_view bytes) {
  Tag(field, 2);
  Varint(data_, bytes.size());
  data_.append(bytes.data(), bytes.size());
}

void ProtoWriter::PackedUint(int field, const std::vector<uint64_t>& values) {
  if (values.empty()) return;
  std::string packed;
  for (uint64_t value : values) Varint(packed, value);
  Bytes(field, packed);
}

void ProtoWriter::PackedInt(int field, const std::vector<int64_t>& values) {
  if (values.empty()) return;
  std::string packed;
  for (int64_t value : values) Varint(packed, static_cast<uint64_t>(value));
  Bytes(field, packed);
}

}  // namespace heapwarden::report
