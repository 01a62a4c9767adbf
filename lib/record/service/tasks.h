// tasks.h: the service thread's periodic work, all registered in one place, and the
// figures the service layer adds to every report.
// Calling context: RegisterServiceTasks runs once at start-up (process.cc) with the
// recursion guard held, before the thread starts; the tasks run on the service thread;
// WriteServiceFiguresJson at report time, from the report writer.
#ifndef HEAPWARDEN_LIB_RECORD_SERVICE_TASKS_H_
#define HEAPWARDEN_LIB_RECORD_SERVICE_TASKS_H_

namespace heapwarden::internal {

class JsonBuffer;
class Recorder;
struct Options;
struct ServiceTick;

// RegisterServiceTasks()
//
// Registers what the options ask for: timeline samples (timeline_ms), crash-safe
// snapshots (snapshot_s), the high-water check (high_water_pct) and auto-trim
// (trim=auto). Once per process image: a fork child restarts the thread with the same
// tasks.
void RegisterServiceTasks(const Options& options);

// The timeline task: one sample of the process into recorder.timeline().
void TimelineTask(Recorder& recorder, const ServiceTick& tick);

// Members of the report's "heapwarden" object that the service layer knows:
// memory_limit_bytes, memory_limit_source, high_water_bytes, snapshots,
// high_water_snapshots, control_socket. Registered with SetServiceFiguresWriter
// (report_writer.h).
void WriteServiceFiguresJson(JsonBuffer& j, Recorder& recorder);

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_SERVICE_TASKS_H_
