// gzip.cc: gzip compression through zlib's deflate with a gzip wrapper.
// Report side.
#include "report/gzip.h"

#include <zlib.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace heapwarden::report {

absl::StatusOr<std::string> Gzip(absl::string_view data) {
  // One deflate() call takes at most 4 GiB (uInt); a profile is far smaller.
  if (data.size() > 0xffffffffu - 1024) return absl::ResourceExhaustedError("gzip: input too large");
  z_stream stream{};
  // windowBits 15 + 16 asks deflate for a gzip header and trailer instead of zlib's.
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return absl::ResourceExhaustedError("gzip: cannot initialise zlib");
  }
  std::string out(deflateBound(&stream, data.size()) + 32, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  int status = deflate(&stream, Z_FINISH);
  size_t written = stream.total_out;
  deflateEnd(&stream);
  if (status != Z_STREAM_END) {
    return absl::InternalError(absl::StrCat("gzip: deflate failed (zlib status ", status, ")"));
  }
  out.resize(written);
  return out;
}

}  // namespace heapwarden::report
