// report_writer.h: turns the recorder's tables into the report, version 2, raw: native
// frames carry module and offset, no symbols (`heapwarden symbolize` adds the rest);
// Python frames are named already (stack_tables.h).
// Calling context: report time -- a snapshot from the service thread or the API, or
// the final report at exit with the leak classification done -- always with the
// recorder's report lock held (Recorder::WriteReport takes it); never inside malloc.
// The text is built in mmap'd memory (json_buffer.h) and written with
// WriteFileAtomically (common/atomic_file.h), so a reader never sees half a report.
#ifndef HEAPWARDEN_LIB_RECORD_EMIT_REPORT_WRITER_H_
#define HEAPWARDEN_LIB_RECORD_EMIT_REPORT_WRITER_H_

namespace heapwarden::internal {

class JsonBuffer;
class Recorder;

// WriteReportFile()
//
// Returns 0, or an errno value when the file could not be written. `exit_status` is
// recorded when non-null. `complete` is false for a snapshot of a running process.
// Call with recorder.report_lock() held.
int WriteReportFile(Recorder& recorder, const char* path, bool complete, const int* exit_status);

// SetServiceFiguresWriter()
//
// The service layer (above this one) adds its figures -- memory limit, high water,
// snapshots written, the control socket -- to the report's "heapwarden" object by
// registering a writer once at start. Without one, those members are absent.
using ServiceFiguresWriter = void (*)(JsonBuffer& j, Recorder& recorder);
void SetServiceFiguresWriter(ServiceFiguresWriter writer);

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_EMIT_REPORT_WRITER_H_
