// snapshot_writer.h: reports of a process that is still running ("complete": false),
// written to its output path every snapshot_s seconds and at once when RSS crosses
// the high-water mark, so that a process the OOM killer ends (it gives no warning)
// still leaves its last state behind. `heapwarden run` turns that file into the
// report when the child dies by a signal; the final report overwrites it otherwise.
// Service thread (and an error found in a hook): runs on the service thread; the report itself is report_writer's.
#ifndef HEAPWARDEN_LIB_RECORD_SERVICE_SNAPSHOT_WRITER_H_
#define HEAPWARDEN_LIB_RECORD_SERVICE_SNAPSHOT_WRITER_H_

#include <cstddef>
#include <cstdint>

namespace heapwarden::internal {

class Recorder;
struct ServiceTick;

// WriteOutputSnapshot()
//
// Writes a snapshot to the output path (options().output, expanded), unless the
// final report has been written: a snapshot never replaces it. Thread-safe
// (serialised with every other report). Returns 0, ECANCELED after the final
// report, or an errno value.
int WriteOutputSnapshot(Recorder& recorder);

// The service thread's periodic tasks.
// Every snapshot_s; skipped while the process is idle (no allocation, free, trim or
// new stack, RSS within 1 MiB) since the last one it wrote.
void PeriodicSnapshotTask(Recorder& recorder, const ServiceTick& tick);
void HighWaterTask(Recorder& recorder, const ServiceTick& tick);          // every ~50 ms
// The high-water task's test alone (no snapshot): true when it would write one. Also
// what the allocation path runs before the service thread has started.
bool HighWaterCrossed(Recorder& recorder, const ServiceTick& tick);

// In a fork child: frees the writer's lock if the parent's service thread held it.
void ResetSnapshotWriterAfterFork();

// What the high-water check found, for the report's "heapwarden" object. 0 / "" until
// the first check.
uint64_t MemoryLimitBytes();
void CopyMemoryLimitSource(char* out, size_t size);  // the file the limit came from
uint64_t HighWaterBytes();
uint64_t SnapshotsWritten();
uint64_t HighWaterSnapshots();

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_SERVICE_SNAPSHOT_WRITER_H_
