// gzip.h: gzip-compresses a byte string with zlib (pprof profiles are stored gzip'd).
// Report side.
#ifndef HEAPWARDEN_LIB_REPORT_GZIP_H_
#define HEAPWARDEN_LIB_REPORT_GZIP_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace heapwarden::report {

// Gzip()
//
// The gzip member (RFC 1952) holding `data`, at zlib's default level. Fails only when
// zlib cannot allocate.
absl::StatusOr<std::string> Gzip(absl::string_view data);

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_GZIP_H_
