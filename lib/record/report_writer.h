// report_writer.h: turns the recorder's tables into the spec's JSON report, without
// symbols (frames carry module and offset; `heapwarden symbolize` adds the rest).
// Record side: builds the text in mmap'd memory and writes it with write(2) to a
// temporary file created O_EXCL|O_NOFOLLOW with mode 0600, then rename(2)s it over
// the destination, so a reader never sees half a report.
#ifndef HEAPWARDEN_LIB_RECORD_REPORT_WRITER_H_
#define HEAPWARDEN_LIB_RECORD_REPORT_WRITER_H_

namespace heapwarden::internal {

class Recorder;

// Returns 0, or an errno value when the file could not be written. `exit_status` is
// recorded when non-null. `complete` is false for a snapshot of a running process.
int WriteReportFile(Recorder& recorder, const char* path, bool complete, const int* exit_status);

// Writes `size` bytes to `path` atomically as described above. Returns 0 or errno.
int WriteFileAtomically(const char* path, const char* data, unsigned long size);

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_REPORT_WRITER_H_
