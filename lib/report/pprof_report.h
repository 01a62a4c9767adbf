// pprof_report.h: renders a version-2 report as a pprof profile (profile.proto), the
// format `go tool pprof`, Pyroscope, Parca and Google Cloud Profiler read.
// Report side.
#ifndef HEAPWARDEN_LIB_REPORT_PPROF_REPORT_H_
#define HEAPWARDEN_LIB_REPORT_PPROF_REPORT_H_

#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace heapwarden::report {

// RenderPprofProto()
//
// The serialized, uncompressed perftools.profiles.Profile: one sample per site with
// the values [alloc_objects (count), alloc_space (bytes), inuse_objects (count),
// inuse_space (bytes)], "inuse" meaning live when the report was written (at exit, or
// at the snapshot); the site's tag as the string label "tag" and mapped memory as the
// label "source"="mapped". One mapping per module (the executable first), one function
// per (name, file), one location per call address whose lines list the calls inlined
// there innermost first, as profile.proto prescribes. Python frames get a location of
// their own with no mapping. The default sample type is inuse_space.
std::string RenderPprofProto(const nlohmann::json& v2);

// RenderPprof()
//
// RenderPprofProto(), gzip'd: what a .pb.gz profile file holds.
absl::StatusOr<std::string> RenderPprof(const nlohmann::json& v2);

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_PPROF_REPORT_H_
