// thread_suspender_test.cc: stopping the other threads for the leak scan: every thread
// parks with a stack pointer inside its own stack and a thread pointer, a thread that
// blocks the signal is reported (with the stack pointer of the call it sleeps in) and
// not waited for, and everything runs on after ResumeAll. Record side.
#include "record/leaks/thread_suspender.h"

#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace heapwarden::internal {
namespace {

struct Worker {
  std::atomic<pid_t> tid{0};
  std::atomic<uintptr_t> stack_low{0};
  std::atomic<uintptr_t> stack_high{0};
  std::atomic<uint64_t> spins{0};
};

std::atomic<bool> g_stop{false};

void RecordStack(Worker* w) {
  pthread_attr_t attr;
  pthread_getattr_np(pthread_self(), &attr);
  void* base;
  size_t size;
  pthread_attr_getstack(&attr, &base, &size);
  pthread_attr_destroy(&attr);
  w->stack_low = reinterpret_cast<uintptr_t>(base);
  w->stack_high = reinterpret_cast<uintptr_t>(base) + size;
  w->tid = gettid();
}

void Spin(Worker* w) {
  RecordStack(w);
  while (!g_stop.load()) w->spins.fetch_add(1);
}

int g_pipe[2];

// Polls `done` until it holds or 10 s have passed; true if it held.
template <typename Done>
bool WaitUntil(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    usleep(200);
  }
  return true;
}

// True once thread `tid` of this process sleeps in read(2): /proc's syscall file
// starts with the number of the call a blocked thread is in (0 on x86-64).
bool SleepsInRead(pid_t tid) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", static_cast<int>(tid));
  FILE* f = fopen(path, "r");
  if (f == nullptr) return false;
  long number = -1;
  const bool read_one = fscanf(f, "%ld", &number) == 1;
  fclose(f);
  return read_one && number == SYS_read;
}

// Blocks every signal, then sleeps in read() until the test writes a byte.
void SleepBlockingEverySignal(Worker* w) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  RecordStack(w);
  char c;
  while (read(g_pipe[0], &c, 1) < 0) {
  }
}

const SuspendedThread* Find(const ThreadSuspender& s, pid_t tid) {
  for (size_t i = 0; i < s.count(); ++i) {
    if (s.thread(i).tid == tid) return &s.thread(i);
  }
  return nullptr;
}

TEST(ThreadSuspenderTest, StopsEveryThreadAndLetsThemGo) {
  g_stop = false;
  ASSERT_EQ(pipe(g_pipe), 0);
  std::vector<Worker> workers(4);
  Worker blocker;
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back(Spin, &w);
  threads.emplace_back(SleepBlockingEverySignal, &blocker);
  for (auto& w : workers) ASSERT_TRUE(WaitUntil([&] { return w.tid != 0; }));
  ASSERT_TRUE(WaitUntil([&] { return blocker.tid != 0; }));
  ASSERT_TRUE(WaitUntil([&] { return SleepsInRead(blocker.tid); })) << "the blocker never reached read()";

  ThreadSuspender suspender;
  ASSERT_TRUE(suspender.SuspendAll(200));
  // While stopped, the spinners do not move.
  std::vector<uint64_t> before;
  for (auto& w : workers) before.push_back(w.spins.load());
  usleep(20000);  // a window in which nothing may happen: no condition to wait for
  for (size_t i = 0; i < workers.size(); ++i) EXPECT_EQ(workers[i].spins.load(), before[i]);

  for (auto& w : workers) {
    const SuspendedThread* t = Find(suspender, w.tid);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->stopped.load(), 1);
    EXPECT_GE(t->sp, w.stack_low.load());
    EXPECT_LT(t->sp, w.stack_high.load());
    EXPECT_NE(t->tp, 0u);
    EXPECT_FALSE(t->own);
  }
  const SuspendedThread* b = Find(suspender, blocker.tid);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->stopped.load(), 0);
  // Asleep in a system call: its stack pointer comes from /proc.
  EXPECT_GE(b->blocked_sp, blocker.stack_low.load());
  EXPECT_LT(b->blocked_sp, blocker.stack_high.load());
  EXPECT_EQ(suspender.stopped_count(), workers.size());
  suspender.ResumeAll();

  for (size_t i = 0; i < workers.size(); ++i) {
    EXPECT_TRUE(WaitUntil([&] { return workers[i].spins.load() > before[i]; })) << "worker " << i;
  }
  g_stop = true;
  ASSERT_EQ(write(g_pipe[1], "x", 1), 1);
  for (auto& t : threads) t.join();
  close(g_pipe[0]);
  close(g_pipe[1]);
}

TEST(ThreadSuspenderTest, RestoresThePreviousHandler) {
  static std::atomic<int> calls{0};
  struct sigaction mine = {};
  mine.sa_handler = [](int) { calls.fetch_add(1); };
  ASSERT_EQ(sigaction(ThreadSuspender::SuspendSignal(), &mine, nullptr), 0);
  ThreadSuspender suspender;
  ASSERT_TRUE(suspender.SuspendAll(200));
  suspender.ResumeAll();
  struct sigaction now = {};
  sigaction(ThreadSuspender::SuspendSignal(), nullptr, &now);
  EXPECT_EQ(now.sa_handler, mine.sa_handler);
  raise(ThreadSuspender::SuspendSignal());
  EXPECT_EQ(calls.load(), 1);
  signal(ThreadSuspender::SuspendSignal(), SIG_DFL);
}

}  // namespace
}  // namespace heapwarden::internal
