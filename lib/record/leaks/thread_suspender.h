// thread_suspender.h: stops every other thread of the process for the exit-time leak
// scan, records where each one's stack and thread pointer are, and lets them go again.
// Exit, with the world stopped: nothing here allocates (a stopped thread may hold glibc's malloc lock),
// nothing uses stdio. /proc/self/task is listed with getdents64, each thread gets
// kSuspendSignal through tgkill, and the handler publishes its stack pointer and thread
// pointer, acknowledges through an atomic and parks on a futex until released.
#ifndef HEAPWARDEN_LIB_RECORD_LEAKS_THREAD_SUSPENDER_H_
#define HEAPWARDEN_LIB_RECORD_LEAKS_THREAD_SUSPENDER_H_

#include <pthread.h>
#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace heapwarden::internal {

struct SuspendedThread {
  pid_t tid;
  // The handler's stack pointer: everything from here to the top of the thread's
  // stack is live, including the signal frame with the interrupted registers.
  uintptr_t sp;
  // The thread pointer (%fs base): the TCB, with static TLS just below it.
  uintptr_t tp;
  // 1 once the thread is parked in the handler; 0 when it never answered.
  std::atomic<int> stopped;
  // heapwarden's own thread (MarkOwnThread): stopped like the others, but its stack
  // holds heapwarden's data, not the program's, and is no root.
  bool own;
  // The stop signal was sent to it (heapwarden's own threads known by tid get none).
  bool signalled;
  // For a thread that never answered: the stack pointer of the system call it is
  // blocked in, read from /proc/self/task/TID/syscall (0 if it is running or unknown).
  uintptr_t blocked_sp;
};

// ThreadSuspender
//
// One at a time per process (a second SuspendAll while one is active fails). The
// caller must not allocate through malloc between SuspendAll and ResumeAll.
class ThreadSuspender {
 public:
  // The real-time signal used to stop threads: SIGRTMAX-3, which glibc and the common
  // runtimes leave alone (glibc uses 32/33, Boehm GC SIGPWR/SIGXCPU). Its previous
  // disposition is restored by ResumeAll when every signalled thread has answered.
  static int SuspendSignal();

  // MarkOwnThread()
  //
  // Called by each of heapwarden's own threads (the service thread) when it starts, so
  // the leak scan does not take its stack for the program's. Async-signal-safe; at
  // most kMaxOwnThreads per process.
  static void MarkOwnThread();
  // The same from the thread that created it, right after pthread_create: registers its
  // stack, so that it is known as heapwarden's even before it runs its first line.
  static void MarkOwnThread(pthread_t thread);
  // True when `address` lies in the stack of one of heapwarden's own threads.
  static bool IsOwnStackAddress(uintptr_t address);
  static constexpr int kMaxOwnThreads = 8;
  // The name MarkOwnThread(pthread_t) gives a thread (15 characters at most).
  static constexpr char kOwnThreadName[] = "heapwarden";

  // SuspendAll()
  //
  // Stops every thread but the caller and heapwarden's own (listed with own = true). A thread that does not answer within
  // `timeout_ms` (it blocks the signal, is stopped by a debugger, or is a zombie) is
  // left running and listed with stopped == 0. Threads created while this runs are
  // found by listing /proc/self/task again until no new one appears. Returns false
  // when it could not start (no memory, signal not installable, already active);
  // nothing is stopped then.
  bool SuspendAll(int timeout_ms);

  // ResumeAll()
  //
  // Releases every stopped thread and waits (briefly) until each has left the
  // handler; restores the signal's previous disposition unless a thread never
  // answered (its signal may still arrive: the handler then stays, inert).
  void ResumeAll();

  size_t count() const { return count_; }
  const SuspendedThread& thread(size_t i) const { return threads_[i]; }
  size_t stopped_count() const;
  // heapwarden's own threads not stopped (known by their tid: left running).
  size_t own_count() const;

 private:
  // The steps of SuspendAll: the slots and the handler; one listing of
  // /proc/self/task that signals each thread not yet listed (returns how many);
  // waiting for the signalled ones to park; and marking those that did not answer.
  bool InstallHandler();
  size_t SignalUnlistedThreads();
  void WaitUntilParked(int timeout_ms) const;
  void SettleUnanswered();

  SuspendedThread* threads_ = nullptr;
  size_t capacity_ = 0;
  size_t count_ = 0;
  bool installed_ = false;
};

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_LEAKS_THREAD_SUSPENDER_H_
