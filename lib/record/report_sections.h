// report_sections.h: the report's sections about memory over time -- "tags", "peak",
// "timeline" -- and heapwarden's own figures (own memory, memory limit, snapshots).
// Record side: called by report_writer.cc while it builds the JSON; scratch space
// comes from mmap and is returned before each function ends.
#ifndef HEAPWARDEN_LIB_RECORD_REPORT_SECTIONS_H_
#define HEAPWARDEN_LIB_RECORD_REPORT_SECTIONS_H_

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

// Members of the "heapwarden" object: own_bytes, peak_captures, timeline_interval_s,
// memory_limit_bytes, memory_limit_source, high_water_bytes, snapshots,
// high_water_snapshots, control_socket.
void WriteServiceFiguresJson(JsonBuffer& j, Recorder& r);

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_REPORT_SECTIONS_H_
