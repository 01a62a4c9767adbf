// report_sections.h: the report's sections that report_writer.cc does not write itself:
// memory over time ("tags", "peak", "timeline"), what the leak scan and the free
// checks found ("leaks", "errors"), and heapwarden's own figures.
// Calling context: report time, with the report lock held (report_writer.h); never
// inside malloc. Scratch space comes from mmap and is returned before each function ends.
#ifndef HEAPWARDEN_LIB_RECORD_EMIT_REPORT_SECTIONS_H_
#define HEAPWARDEN_LIB_RECORD_EMIT_REPORT_SECTIONS_H_

#include <cstdint>

namespace heapwarden::internal {

class JsonBuffer;
class Recorder;

// "tags": [{"tag", "allocations", "bytes_allocated", "live_bytes", "peak_live_bytes",
//           "total_allocations", "total_bytes_allocated", "total_live_bytes",
//           "total_peak_live_bytes"}]: the tag's own figures, and its totals with every
// tag path below it ("load" with "load/map").
// One pass over the sites (not one per tag).
void WriteTagsJson(JsonBuffer& j, Recorder& r);

// "peak": {"time", "live_bytes", "captured_time", "captured_live_bytes",
//          "sites": [{"stack", "tag", "live_blocks", "live_bytes"}]}
// time/live_bytes are the exact peak; the sites are the last capture (peak_tracker.h),
// whose total captured_live_bytes is within 1% of it. Heap sites only, largest first.
void WritePeakJson(JsonBuffer& j, Recorder& r);

// "timeline": [{"t", "live_bytes", "rss_bytes", "tags": [{"tag", "live_bytes"}]}]
void WriteTimelineJson(JsonBuffer& j, Recorder& r);

// Members of the "heapwarden" object that the recorder knows: own_bytes,
// peak_captures, timeline_interval_s.
void WriteRecorderFiguresJson(JsonBuffer& j, Recorder& r);

// "leaks": the elements, one per site and kind (leak_classifier.h); with no
// classification, the live blocks of each heap site as "unclassified".
struct LeakClassification;
void WriteLeaksJson(JsonBuffer& j, Recorder& recorder, const LeakClassification* c);

// The "leak_scan" member of the "heapwarden" object: what the exit-time scan cost.
void WriteLeakScanJson(JsonBuffer& j, const LeakClassification* c);

// "errors": the elements, one per free error recorded (free_checker.h).
void WriteErrorsJson(JsonBuffer& j, Recorder& recorder);

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_EMIT_REPORT_SECTIONS_H_
