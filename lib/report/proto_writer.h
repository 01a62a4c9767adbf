// proto_writer.h: the protocol-buffers wire encoding, enough to write a message whose
// fields are varints, length-delimited bytes, nested messages and packed varints
// (what profile.proto uses). Report side.
#ifndef HEAPWARDEN_LIB_REPORT_PROTO_WRITER_H_
#define HEAPWARDEN_LIB_REPORT_PROTO_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace heapwarden::report {

// ProtoWriter
//
// Appends fields to a byte string in the order they are written. Zero-valued scalars
// are skipped, as proto3 does: a reader cannot tell them from absent fields anyway.
class ProtoWriter {
 public:
  // A varint field (wire type 0): uint64, or int64 as its two's complement.
  void Uint(int field, uint64_t value);
  void Int(int field, int64_t value) { Uint(field, static_cast<uint64_t>(value)); }
  void Bool(int field, bool value) { Uint(field, value ? 1 : 0); }

  // A length-delimited field (wire type 2), written even when empty (string_table[0]
  // must be "").
  void Bytes(int field, absl::string_view bytes);
  void Message(int field, const ProtoWriter& message) { Bytes(field, message.data()); }

  // A repeated varint field, packed into one length-delimited field; nothing when empty.
  void PackedUint(int field, const std::vector<uint64_t>& values);
  void PackedInt(int field, const std::vector<int64_t>& values);

  const std::string& data() const { return data_; }

 private:
  void Tag(int field, int wire_type);
  static void Varint(std::string& out, uint64_t value);

  std::string data_;
};

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_PROTO_WRITER_H_
