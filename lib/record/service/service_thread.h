// service_thread.h: heapwarden's one background thread in the tracked process. It
// runs the periodic tasks (timeline samples, crash-safe snapshots, the high-water
// check, and auto-trim when another part registers it) and serves the control socket.
// Service thread. The thread starts with every signal blocked, runs all its life with
// the recursion guard held (its own allocations are served untracked and never wait
// on the hooks), and takes no lock the allocation path needs except, one shard at a
// time, the live table's while a report is written.
//
// Adding a periodic task: register it in RegisterServiceTasks() (tasks.h), which the
// start-up (process.cc) calls before StartServiceThread(). Tasks run one after another on
// the service thread, each no more often than its period; a slow task delays the
// others and the control socket, so keep each one to milliseconds.
#ifndef HEAPWARDEN_LIB_RECORD_SERVICE_SERVICE_THREAD_H_
#define HEAPWARDEN_LIB_RECORD_SERVICE_SERVICE_THREAD_H_

#include <cstdint>

namespace heapwarden::internal {

class Recorder;

// What every task of one wake-up sees, read once for all of them.
struct ServiceTick {
  uint64_t now_ns;      // clock.h time
  uint64_t rss_bytes;   // resident set now
  uint64_t live_bytes;  // live heap bytes now
};

using ServiceTaskFn = void (*)(Recorder& recorder, const ServiceTick& tick);

struct ServiceTask {
  const char* name;    // for messages
  uint32_t period_ms;  // runs when at least this long has passed since its last run
  ServiceTaskFn run;
  // Before the thread has started (see StartServiceThread), what the allocation path
  // does when the task is due: its work if that can run inside a hook (no report, no
  // lock held long), and true when the thread must start to do the rest. Null: the
  // task needs the thread whenever it is due.
  bool (*check_inline)(Recorder& recorder, const ServiceTick& tick) = nullptr;
};

inline constexpr int kMaxServiceTasks = 8;

// RegisterServiceTask()
//
// Adds a periodic task. Returns false when the table is full or period_ms is 0.
// Not thread-safe against itself: call it from Init, before StartServiceThread().
bool RegisterServiceTask(const ServiceTask& task);

// StartServiceThread()
//
// Sets the service up when there is anything to do (a task, or control=on): opens the
// control socket, and starts the thread when something must happen while the program
// sleeps -- periodic snapshots (snapshot_s), trim=auto, the control socket -- or the
// program already has threads. Otherwise (timeline and high-water check only, in a
// single-threaded program) no thread starts: a thread makes glibc lock its arenas on
// every malloc and free that misses its cache, for the rest of the process. The
// allocation path then checks on a coarse clock (Recorder::ArmServiceCheck): it takes
// the timeline's samples itself, and starts the thread when the program starts
// threads of its own, RSS crosses the high-water mark, or a free error needs a
// snapshot. Call with a RecursionGuard held: pthread_create allocates. False when
// there is nothing to do or the thread could not start.
bool StartServiceThread(Recorder& recorder);

// StopServiceThread()
//
// At exit: removes the control socket (if this process made it) and asks the thread
// to stop at its next wake-up. Does not wait for it. Idempotent.
void StopServiceThread();

// In a fork child (from the atfork child handler): the parent's thread does not exist
// here; forget it and close the inherited control socket without removing it.
void ServiceThreadAfterForkChild();

// RequestSnapshot()
//
// Asks the service thread to write a snapshot to the output path at once, for code
// inside a hook, which must never write one itself (the write takes the report lock
// and reads the allocator's statistics, which wait for locks the interrupted code may
// hold). Never blocks, allocates nothing; async-signal-safe. Returns a ticket for
// WaitForSnapshot, or 0 when there is no service thread to ask.
uint64_t RequestSnapshot();

// WaitForSnapshot()
//
// Sleeps until the snapshot of `ticket` is on disk, the service thread stops, or
// `timeout_ms` passes: for a hook that knows the process is about to die (an
// allocator about to abort), so a bounded wait costs the program nothing it keeps.
// True when the snapshot was written.
bool WaitForSnapshot(uint64_t ticket, int timeout_ms);

// True while a service thread of this process is running.
bool ServiceThreadRunning();

// The control socket's path, or "" when there is none.
const char* ControlSocketPathInUse();

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_SERVICE_SERVICE_THREAD_H_
