// service_thread.cc: see service_thread.h. Record side.
#include "record/service/service_thread.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>

#include "record/base/clock.h"
#include "record/service/control_socket.h"
#include "record/base/log.h"
#include "record/base/proc_stats.h"
#include "record/track/recorder.h"
#include "record/base/spin_lock.h"
#include "record/leaks/thread_suspender.h"
#include "record/base/thread_state.h"

namespace heapwarden::internal {
namespace {

ServiceTask g_tasks[kMaxServiceTasks];
int g_task_count = 0;
bool g_configured = false;
ControlSocket g_control;
// Orders the thread's Open against StopServiceThread's Remove, so a process that exits
// before its thread got going never leaves a socket file behind.
SpinLock g_control_lock;
std::atomic<bool> g_running{false};
std::atomic<bool> g_stop{false};

// Longest sleep between wake-ups when no task is due sooner: bounds how late a stop
// request or a vanished control socket is noticed.
constexpr uint64_t kMaxSleepMs = 1000;


void* ServiceMain(void* arg) {
  Recorder& recorder = *static_cast<Recorder*>(arg);
  // Held for the thread's whole life: what it allocates is never recorded.
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
  bool control = false;
  if (recorder.options().control == kControlOn) {
    SpinLockHolder hold(g_control_lock);
    if (!g_stop.load(std::memory_order_acquire)) control = g_control.Open();
  }
  uint64_t next_due[kMaxServiceTasks];
  const uint64_t start = NowNs();
  for (int i = 0; i < g_task_count; ++i) next_due[i] = start + g_tasks[i].period_ms * 1000000ull;

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
    pollfd p = {control ? g_control.fd() : -1, POLLIN, 0};
    int ready = poll(&p, 1, static_cast<int>(sleep_ms));
    if (ready > 0 && (p.revents & POLLIN) && !g_stop.load(std::memory_order_acquire)) {
      g_control.ServeOne(recorder);
    }
  }
  g_running.store(false, std::memory_order_release);
  return nullptr;
}

}  // namespace

bool RegisterServiceTask(const ServiceTask& task) {
  if (g_task_count >= kMaxServiceTasks || task.period_ms == 0 || task.run == nullptr) return false;
  g_tasks[g_task_count++] = task;
  return true;
}

bool StartServiceThread(Recorder& recorder) {
  if (!g_configured) {
    g_configured = true;
    // XDG_RUNTIME_DIR is read now, while the process has one thread.
    g_control.Configure(getenv("XDG_RUNTIME_DIR"));
  }
  if (g_running.load(std::memory_order_acquire)) return true;
  if (g_task_count == 0 && recorder.options().control != kControlOn) return false;
  g_stop.store(false, std::memory_order_release);
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0) return false;
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 1 << 20);
  // No signal is ever delivered to heapwarden's thread: the program's handlers run
  // on the program's threads, as they did without heapwarden.
  sigset_t all;
  sigfillset(&all);
  pthread_attr_setsigmask_np(&attr, &all);
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

void StopServiceThread() {
  g_stop.store(true, std::memory_order_release);
  SpinLockHolder hold(g_control_lock);
  g_control.Remove();
}

void ServiceThreadAfterForkChild() {
  g_running.store(false, std::memory_order_relaxed);
  g_stop.store(false, std::memory_order_relaxed);
  g_control_lock.ResetAfterFork();
  g_control.ForgetAfterFork();
}

bool ServiceThreadRunning() { return g_running.load(std::memory_order_acquire); }

const char* ControlSocketPathInUse() { return g_control.path(); }

}  // namespace heapwarden::internal
