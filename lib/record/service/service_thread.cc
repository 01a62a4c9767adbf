// service_thread.cc: see service_thread.h. Record side.
#include "record/service/service_thread.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/single_threaded.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include "record/base/clock.h"
#include "record/service/control_socket.h"
#include "record/service/snapshot_writer.h"
#include "record/base/log.h"
#include "record/base/proc_stats.h"
#include "record/track/recorder.h"
#include "record/base/spin_lock.h"
#include "record/leaks/thread_suspender.h"
#include "record/base/thread_state.h"

namespace heapwarden::internal {
namespace {

// constinit: filled from the preload's constructor, before any dynamic initializer of
// this file would run (and wipe what it registered).
constinit ServiceTask g_tasks[kMaxServiceTasks] = {};
int g_task_count = 0;
bool g_configured = false;
ControlSocket g_control;
// Orders the thread's Open against StopServiceThread's Remove, so a process that exits
// before its thread got going never leaves a socket file behind.
SpinLock g_control_lock;
std::atomic<bool> g_running{false};
std::atomic<bool> g_stop{false};
// RequestSnapshot: tickets handed out and served; the eventfd wakes the thread's poll.
std::atomic<uint64_t> g_snapshot_requested{0};
std::atomic<uint64_t> g_snapshot_served{0};
std::atomic<int> g_wake_fd{-1};

// Longest sleep between wake-ups when no task is due sooner: bounds how late a stop
// request or a vanished control socket is noticed.
constexpr uint64_t kMaxSleepMs = 1000;

// Whether the thread's Open succeeded.
bool g_control_open = false;
// The tasks' schedule, shared by the allocation path's checks (before the thread
// starts) and the thread (after): a task run inline is not run again at once.
constinit uint64_t g_next_due[kMaxServiceTasks] = {};
// Armed: the thread is wanted but not started (single-threaded program, nothing due).
std::atomic<bool> g_armed{false};

void OpenControlSocket(Recorder& recorder) {
  if (g_control_open || recorder.options().control != kControlOn) return;
  SpinLockHolder hold(g_control_lock);
  if (!g_stop.load(std::memory_order_acquire)) g_control_open = g_control.Open();
}


// The thread's work until it is asked to stop. Returns true instead when it is the
// process's last thread (see ServiceMain).
bool Serve(Recorder& recorder) {
  // Held while serving: what this thread allocates is never recorded.
  RecursionGuard guard;
  pthread_setname_np(pthread_self(), "heapwarden");
  // The exit-time leak scan stops this thread but does not take its stack for a root.
  ThreadSuspender::MarkOwnThread();
  // Every signal stays blocked (see StartServiceThread) except heapwarden's own
  // thread-stop signal: the exit-time leak scan must be able to park this thread like
  // any other instead of waiting out its timeout for it.
  sigset_t stop_signal;
  sigemptyset(&stop_signal);
  sigaddset(&stop_signal, ThreadSuspender::SuspendSignal());
  pthread_sigmask(SIG_UNBLOCK, &stop_signal, nullptr);
  OpenControlSocket(recorder);
  bool control = g_control_open;
  // The schedule the allocation path kept while the thread was not started.
  uint64_t* next_due = g_next_due;

  while (!g_stop.load(std::memory_order_acquire)) {
    uint64_t now = NowNs();
    bool tick_read = false;
    ServiceTick tick = {now, 0, 0};
    for (int i = 0; i < g_task_count; ++i) {
      if (now < next_due[i]) continue;
      if (!tick_read) {
        tick.rss_bytes = ReadRssBytes();
        tick.live_bytes = recorder.live_bytes();
        tick_read = true;
      }
      g_tasks[i].run(recorder, tick);
      // Fixed rate while on time; after a late run, start counting again from now.
      next_due[i] += g_tasks[i].period_ms * 1000000ull;
      if (next_due[i] <= now) next_due[i] = now + g_tasks[i].period_ms * 1000000ull;
    }
    now = NowNs();
    uint64_t sleep_ms = kMaxSleepMs;
    for (int i = 0; i < g_task_count; ++i) {
      uint64_t ms = next_due[i] > now ? (next_due[i] - now + 999999) / 1000000 : 0;
      if (ms < sleep_ms) sleep_ms = ms;
    }
    if (control && !g_control.StillOurs()) control = false;  // the program closed it
    pollfd p[2] = {{control ? g_control.fd() : -1, POLLIN, 0},
                   {g_wake_fd.load(std::memory_order_relaxed), POLLIN, 0}};
    int ready = poll(p, 2, static_cast<int>(sleep_ms));
    if (ready > 0 && (p[1].revents & POLLIN)) {
      uint64_t count;
      (void)!read(p[1].fd, &count, sizeof(count));
    }
    const uint64_t requested = g_snapshot_requested.load(std::memory_order_acquire);
    if (requested != g_snapshot_served.load(std::memory_order_relaxed) &&
        !g_stop.load(std::memory_order_acquire)) {
      WriteOutputSnapshot(recorder);
      g_snapshot_served.store(requested, std::memory_order_release);
    }
    if (ready > 0 && (p[0].revents & POLLIN) && !g_stop.load(std::memory_order_acquire)) {
      g_control.ServeOne(recorder);
    }
    if (ReadLiveThreadCount() == 1) return true;
  }
  return false;
}

void* ServiceMain(void* arg) {
  Recorder& recorder = *static_cast<Recorder*>(arg);
  const bool last_thread = Serve(recorder);
  g_running.store(false, std::memory_order_release);
  if (last_thread) {
    // glibc ends the process with exit(0) when the last thread returns, but it
    // counts this thread among the program's: after main's pthread_exit, or in a
    // child forked from a non-main thread, the program's last thread returned and
    // the process would live on as this thread alone. Do what glibc would have
    // done, with the program's exit handlers tracked and its signals deliverable.
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, nullptr);
    exit(0);
  }
  return nullptr;
}

}  // namespace

bool RegisterServiceTask(const ServiceTask& task) {
  if (g_task_count >= kMaxServiceTasks || task.period_ms == 0 || task.run == nullptr) return false;
  g_tasks[g_task_count++] = task;
  return true;
}

namespace {

uint32_t NsToMsCoarse(uint64_t ns) { return static_cast<uint32_t>(ns / 1000000u); }

bool StartThreadNow(Recorder& recorder);

// The allocation path's check while the thread is armed but not started (registered
// with the recorder; runs inside a hook with the recursion guard held, one thread at a
// time). Runs the tasks that can run here (the timeline's sample), and starts the
// thread when it is really needed: the program has threads of its own (so glibc locks
// its arenas anyway), a snapshot is asked for, or the high-water mark is crossed.
// Otherwise sets the next check.
void ServiceDue(Recorder& recorder, uint32_t) {
  if (!g_armed.load(std::memory_order_acquire) || g_stop.load(std::memory_order_acquire)) return;
  bool start = __libc_single_threaded == 0 ||
               g_snapshot_requested.load(std::memory_order_acquire) !=
                   g_snapshot_served.load(std::memory_order_relaxed);
  const uint64_t now = NowNs();
  if (!start) {
    ServiceTick tick = {now, 0, 0};
    bool tick_read = false;
    for (int i = 0; i < g_task_count && !start; ++i) {
      if (now < g_next_due[i]) continue;
      if (g_tasks[i].check_inline == nullptr) {
        start = true;
        break;
      }
      if (!tick_read) {
        tick.rss_bytes = ReadRssBytes();
        tick.live_bytes = recorder.live_bytes();
        tick_read = true;
      }
      start = g_tasks[i].check_inline(recorder, tick);
      if (start) break;
      g_next_due[i] += g_tasks[i].period_ms * 1000000ull;
      if (g_next_due[i] <= now) g_next_due[i] = now + g_tasks[i].period_ms * 1000000ull;
    }
  }
  if (start) {
    if (g_armed.exchange(false, std::memory_order_acq_rel)) StartThreadNow(recorder);
    return;
  }
  uint64_t due = now + kMaxSleepMs * 1000000ull;
  for (int i = 0; i < g_task_count; ++i) {
    if (g_next_due[i] < due) due = g_next_due[i];
  }
  recorder.SetServiceDue(NsToMsCoarse(due));
}

bool StartThreadNow(Recorder& recorder) {
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0) return false;
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 1 << 20);
  // No signal is ever delivered to heapwarden's thread: the program's handlers run
  // on the program's threads, as they did without heapwarden.
  sigset_t all;
  sigfillset(&all);
  pthread_attr_setsigmask_np(&attr, &all);
  if (g_wake_fd.load(std::memory_order_relaxed) < 0) {
    g_wake_fd.store(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), std::memory_order_relaxed);
  }
  pthread_t thread;
  g_running.store(true, std::memory_order_release);
  int err = pthread_create(&thread, &attr, ServiceMain, &recorder);
  pthread_attr_destroy(&attr);
  if (err == 0) ThreadSuspender::MarkOwnThread(thread);  // its stack is no leak-scan root
  if (err != 0) {
    g_running.store(false, std::memory_order_release);
    Warn("cannot start the service thread (errno %d): no timeline, snapshots or control socket",
         err);
    return false;
  }
  return true;
}

}  // namespace

bool StartServiceThread(Recorder& recorder) {
  if (!g_configured) {
    g_configured = true;
    // XDG_RUNTIME_DIR is read now, while the process has one thread.
    g_control.Configure(getenv("XDG_RUNTIME_DIR"));
  }
  if (g_running.load(std::memory_order_acquire) || g_armed.load(std::memory_order_acquire)) return true;
  if (g_task_count == 0 && recorder.options().control != kControlOn) return false;
  g_stop.store(false, std::memory_order_release);
  const uint64_t start = NowNs();
  for (int i = 0; i < g_task_count; ++i) g_next_due[i] = start + g_tasks[i].period_ms * 1000000ull;
  // The thread starts now when something must happen while the program sleeps (the
  // allocation path does not run then): periodic snapshots (a process killed while it
  // sleeps must leave the last one), a trim timer, the control socket. And in a program
  // with threads of its own, which pays for glibc's arena locks anyway.
  bool needed_now = __libc_single_threaded == 0 || recorder.options().control == kControlOn;
  for (int i = 0; i < g_task_count; ++i) needed_now = needed_now || g_tasks[i].check_inline == nullptr;
  if (needed_now) return StartThreadNow(recorder);
  g_armed.store(true, std::memory_order_release);
  recorder.ArmServiceCheck(ServiceDue, NsToMsCoarse(start));
  return true;
}

void StopServiceThread() {
  g_stop.store(true, std::memory_order_release);
  SpinLockHolder hold(g_control_lock);
  g_control.Remove();
}

uint64_t RequestSnapshot() {
  const int fd = g_wake_fd.load(std::memory_order_relaxed);
  if (!g_running.load(std::memory_order_acquire) || g_stop.load(std::memory_order_acquire) ||
      fd < 0) {
    return 0;
  }
  const uint64_t ticket = g_snapshot_requested.fetch_add(1, std::memory_order_acq_rel) + 1;
  const uint64_t one = 1;
  (void)!write(fd, &one, sizeof(one));
  return ticket;
}

bool WaitForSnapshot(uint64_t ticket, int timeout_ms) {
  if (ticket == 0) return false;
  for (int waited = 0; waited < timeout_ms; ++waited) {
    if (g_snapshot_served.load(std::memory_order_acquire) >= ticket) return true;
    if (!g_running.load(std::memory_order_acquire) || g_stop.load(std::memory_order_acquire)) {
      return false;
    }
    const timespec ms = {0, 1000000};
    nanosleep(&ms, nullptr);
  }
  return false;
}

void ServiceThreadAfterForkChild() {
  g_running.store(false, std::memory_order_relaxed);
  g_armed.store(false, std::memory_order_relaxed);
  g_control_open = false;
  // The parent's eventfd would wake the parent's thread; the child gets its own.
  const int wake = g_wake_fd.exchange(-1, std::memory_order_relaxed);
  if (wake >= 0) close(wake);
  g_snapshot_served.store(g_snapshot_requested.load(std::memory_order_relaxed),
                          std::memory_order_relaxed);
  g_stop.store(false, std::memory_order_relaxed);
  g_control_lock.ResetAfterFork();
  g_control.ForgetAfterFork();
}

bool ServiceThreadRunning() { return g_running.load(std::memory_order_acquire); }

const char* ControlSocketPathInUse() { return g_control.path(); }

}  // namespace heapwarden::internal
