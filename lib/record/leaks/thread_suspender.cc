// thread_suspender.cc: see thread_suspender.h. Record side.
#include "record/leaks/thread_suspender.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "record/base/clock.h"
#include "record/base/log.h"
#include "record/base/mmap_arena.h"
#include "record/base/proc_stats.h"
#include "record/base/thread_state.h"

namespace heapwarden::internal {
namespace {

constexpr size_t kMaxThreads = 32768;
constexpr int kMaxListRounds = 16;

// What the handler shares with the suspending thread. Only one suspension runs at a
// time; `active` says whether a signal that arrives now belongs to it.
struct SuspendState {
  std::atomic<int> active{0};
  std::atomic<uint32_t> release{0};  // futex word: 0 = stay parked, 1 = go
  std::atomic<int> inside{0};        // threads currently running the handler
  std::atomic<size_t> count{0};
  SuspendedThread* threads = nullptr;
  pid_t pid = 0;
  bool have_previous = false;
  struct sigaction previous = {};
};

constinit SuspendState g_state;

// heapwarden's own threads, as pid << 32 | tid (a fork child's pid differs, so the
// parent's entries never match there).
constinit std::atomic<uint64_t> g_own_threads[ThreadSuspender::kMaxOwnThreads] = {};

// And their stacks, registered by the creating thread: [low, high) with the pid, so a
// fork child (whose copy of the parent's threads is gone) never matches.
struct OwnStack {
  std::atomic<uint64_t> pid;
  std::atomic<uintptr_t> low;
  std::atomic<uintptr_t> high;
};
constinit OwnStack g_own_stacks[ThreadSuspender::kMaxOwnThreads] = {};

bool IsOwnThread(pid_t pid, pid_t tid) {
  const uint64_t key = static_cast<uint64_t>(pid) << 32 | static_cast<uint32_t>(tid);
  for (auto& slot : g_own_threads) {
    if (slot.load(std::memory_order_acquire) == key) return true;
  }
  return false;
}

bool IsOwnStack(pid_t pid, uintptr_t sp) {
  for (auto& s : g_own_stacks) {
    if (s.pid.load(std::memory_order_acquire) == static_cast<uint64_t>(pid) &&
        sp >= s.low.load(std::memory_order_relaxed) && sp < s.high.load(std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}
constinit std::atomic<int> g_busy{0};  // a suspension is between SuspendAll and ResumeAll

pid_t GetTid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

void FutexWait(std::atomic<uint32_t>* word, uint32_t expected) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, nullptr,
          nullptr, 0);
}

void FutexWakeAll(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, 0x7fffffff, nullptr,
          nullptr, 0);
}

// Someone else's signal arrived while our handler was installed: hand it on.
void Forward(int sig, siginfo_t* info, void* context) {
  if (!g_state.have_previous) return;
  const struct sigaction& prev = g_state.previous;
  if (prev.sa_flags & SA_SIGINFO) {
    if (prev.sa_sigaction != nullptr) prev.sa_sigaction(sig, info, context);
    return;
  }
  // SIG_DFL would terminate the process for a real-time signal; during the few
  // milliseconds of a scan at exit we drop it instead (documented in docs/leaks.md).
  if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) prev.sa_handler(sig);
}

// Runs on the stopped thread. Async-signal-safe: atomics, gettid and futex only.
void SuspendHandler(int sig, siginfo_t* info, void* context) {
  int saved_errno = errno;
  if (info == nullptr || info->si_code != SI_TKILL || info->si_pid != g_state.pid) {
    Forward(sig, info, context);
    errno = saved_errno;
    return;
  }
  g_state.inside.fetch_add(1, std::memory_order_acq_rel);
  if (g_state.active.load(std::memory_order_acquire)) {
    const pid_t tid = GetTid();
    const size_t count = g_state.count.load(std::memory_order_acquire);
    SuspendedThread* slot = nullptr;
    for (size_t i = 0; i < count; ++i) {
      if (g_state.threads[i].tid == tid) {
        slot = &g_state.threads[i];
        break;
      }
    }
    if (slot != nullptr) {
      // The kernel pushed the interrupted registers (the signal frame) above this
      // frame: scanning from here to the top of the stack covers them.
      uintptr_t sp;
#if defined(__x86_64__)
      __asm__ volatile("mov %%rsp, %0" : "=r"(sp));
#else
      sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
#endif
      slot->sp = sp;
      slot->tp = ThreadPointer();
      if (IsOwnStack(g_state.pid, sp)) slot->own = true;
      slot->stopped.store(1, std::memory_order_release);
      while (g_state.release.load(std::memory_order_acquire) == 0) {
        FutexWait(&g_state.release, 0);
      }
    }
  }
  g_state.inside.fetch_sub(1, std::memory_order_acq_rel);
  errno = saved_errno;
}

// Parses the stack pointer from /proc/self/task/TID/syscall: "NR ARGS... SP PC" for a
// thread blocked in a system call, "-1 SP PC" for one stopped outside of one, and
// "running" otherwise (then 0).
uintptr_t BlockedStackPointer(pid_t tid) {
  char path[64];
  FormatTo(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
  char text[256];
  long n = ReadSmallFile(path, text, sizeof(text));
  if (n <= 0 || text[0] == 'r') return 0;
  // The last two fields are SP and PC in hex.
  const char* fields[16];
  int count = 0;
  for (char* p = text; *p != '\0' && count < 16;) {
    while (*p == ' ' || *p == '\n') ++p;
    if (*p == '\0') break;
    fields[count++] = p;
    while (*p != '\0' && *p != ' ' && *p != '\n') ++p;
  }
  if (count < 3) return 0;
  const char* sp = fields[count - 2];
  if (sp[0] != '0' || sp[1] != 'x') return 0;
  uintptr_t value = 0;
  for (const char* p = sp + 2;; ++p) {
    char c = *p;
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) break;
    value = value * 16 + static_cast<uintptr_t>(digit);
  }
  return value;
}

// True when thread `tid` has `sig` blocked (the SigBlk mask of its status file): it
// will not answer, so there is no point in waiting for it.
bool BlocksSignal(pid_t tid, int sig) {
  char path[64];
  FormatTo(path, sizeof(path), "/proc/self/task/%d/status", tid);
  char text[4096];
  long n = ReadSmallFile(path, text, sizeof(text));
  if (n <= 0) return false;
  const char* p = strstr(text, "SigBlk:");
  if (p == nullptr) return false;
  p += 7;
  while (*p == ' ' || *p == '\t') ++p;
  const char* end = p;
  while ((*end >= '0' && *end <= '9') || (*end >= 'a' && *end <= 'f')) ++end;
  // Hex digits, most significant first; signal s is bit s-1.
  int bit = sig - 1;
  const char* digit = end - 1 - bit / 4;
  if (digit < p) return false;
  int value = *digit <= '9' ? *digit - '0' : *digit - 'a' + 10;
  return (value >> (bit % 4)) & 1;
}

// True when thread `tid` is named kOwnThreadName (/proc/self/task/TID/comm).
bool HasOwnName(pid_t tid) {
  char path[64];
  FormatTo(path, sizeof(path), "/proc/self/task/%d/comm", tid);
  char name[32];
  long n = ReadSmallFile(path, name, sizeof(name));
  if (n <= 0) return false;
  if (name[n - 1] == '\n') name[n - 1] = '\0';
  return strcmp(name, ThreadSuspender::kOwnThreadName) == 0;
}

struct LinuxDirent64 {
  uint64_t ino;
  int64_t off;
  unsigned short reclen;
  unsigned char type;
  char name[];
};

}  // namespace

int ThreadSuspender::SuspendSignal() { return SIGRTMAX - 3; }

void ThreadSuspender::MarkOwnThread() {
  const uint64_t key = static_cast<uint64_t>(getpid()) << 32 | static_cast<uint32_t>(GetTid());
  for (auto& slot : g_own_threads) {
    uint64_t current = slot.load(std::memory_order_acquire);
    // Reuse a slot of another process image (a fork parent's thread) or an empty one.
    if ((current >> 32) != static_cast<uint64_t>(getpid()) || current == 0) {
      if (slot.compare_exchange_strong(current, key, std::memory_order_acq_rel)) return;
    }
  }
}

bool ThreadSuspender::IsOwnStackAddress(uintptr_t address) { return IsOwnStack(getpid(), address); }

void ThreadSuspender::MarkOwnThread(pthread_t thread) {
  // Named now, by its creator: a thread that has not run yet (every signal blocked, its
  // stack pointer unknown) is still recognised by its name (kOwnThreadName).
  pthread_setname_np(thread, kOwnThreadName);
  pthread_attr_t attr;
  if (pthread_getattr_np(thread, &attr) != 0) return;
  void* base = nullptr;
  size_t size = 0;
  int err = pthread_attr_getstack(&attr, &base, &size);
  pthread_attr_destroy(&attr);
  if (err != 0 || base == nullptr) return;
  const uint64_t pid = static_cast<uint64_t>(getpid());
  for (auto& s : g_own_stacks) {
    uint64_t current = s.pid.load(std::memory_order_acquire);
    if (current == pid) continue;  // another live thread of ours
    if (s.pid.compare_exchange_strong(current, 0, std::memory_order_acq_rel)) {
      s.low.store(reinterpret_cast<uintptr_t>(base), std::memory_order_relaxed);
      s.high.store(reinterpret_cast<uintptr_t>(base) + size, std::memory_order_relaxed);
      s.pid.store(pid, std::memory_order_release);
      return;
    }
  }
}

size_t ThreadSuspender::stopped_count() const {
  size_t n = 0;
  for (size_t i = 0; i < count_; ++i) n += threads_[i].stopped.load(std::memory_order_acquire) == 1;
  return n;
}

size_t ThreadSuspender::own_count() const {
  size_t n = 0;
  for (size_t i = 0; i < count_; ++i) n += threads_[i].own && threads_[i].stopped.load() != 1;
  return n;
}

bool ThreadSuspender::SuspendAll(int timeout_ms) {
  if (g_busy.exchange(1, std::memory_order_acq_rel) != 0) return false;
  if (!InstallHandler()) {
    g_busy.store(0, std::memory_order_release);
    return false;
  }
  // Threads created while this runs are found by listing again, until a round finds
  // none that is new.
  for (int round = 0; round < kMaxListRounds; ++round) {
    const size_t added = SignalUnlistedThreads();
    if (added == 0 && round > 0) break;
    WaitUntilParked(timeout_ms);
    if (added == 0) break;
  }
  SettleUnanswered();
  return true;
}

bool ThreadSuspender::InstallHandler() {
  if (threads_ == nullptr) {
    threads_ = static_cast<SuspendedThread*>(MapPages(sizeof(SuspendedThread) * kMaxThreads, true));
    if (threads_ == nullptr) return false;
    capacity_ = kMaxThreads;
  }
  count_ = 0;
  g_state.threads = threads_;
  g_state.count.store(0, std::memory_order_release);
  g_state.pid = getpid();
  g_state.release.store(0, std::memory_order_release);
  g_state.active.store(1, std::memory_order_release);

  struct sigaction action;
  memset(&action, 0, sizeof(action));
  action.sa_sigaction = SuspendHandler;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigfillset(&action.sa_mask);  // a parked thread runs no other handler
  g_state.have_previous = false;
  if (sigaction(SuspendSignal(), &action, &g_state.previous) != 0) {
    g_state.active.store(0, std::memory_order_release);
    return false;
  }
  g_state.have_previous = g_state.previous.sa_sigaction != SuspendHandler ||
                          !(g_state.previous.sa_flags & SA_SIGINFO);
  installed_ = true;
  return true;
}

size_t ThreadSuspender::SignalUnlistedThreads() {
  const int sig = SuspendSignal();
  const pid_t self = GetTid();
  int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return 0;
  size_t added = 0;
  alignas(8) char buf[4096];
  for (;;) {
    long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      auto* entry = reinterpret_cast<LinuxDirent64*>(buf + off);
      off += entry->reclen;
      pid_t tid = 0;
      const char* p = entry->name;
      if (*p < '0' || *p > '9') continue;
      for (; *p >= '0' && *p <= '9'; ++p) tid = tid * 10 + (*p - '0');
      if (tid == self) continue;
      bool known = false;
      for (size_t i = 0; i < count_ && !known; ++i) known = threads_[i].tid == tid;
      if (known || count_ >= capacity_) continue;
      SuspendedThread& t = threads_[count_];
      t.tid = tid;
      t.sp = 0;
      t.tp = 0;
      t.blocked_sp = 0;
      t.own = IsOwnThread(g_state.pid, tid);
      t.signalled = false;
      t.stopped.store(0, std::memory_order_relaxed);
      if (t.own) {
        // heapwarden's own thread is left running: it never records and takes the
        // record-side locks (which the caller holds) only to read. It may be on its
        // way out at exit with every signal blocked; waiting for it would be wasted.
        ++count_;
        g_state.count.store(count_, std::memory_order_release);
        continue;
      }
      // A thread that blocks the signal will not answer: wait for it only briefly.
      // Read before the signal is sent: once in the handler, every signal is blocked.
      const bool blocks = BlocksSignal(tid, sig);
      // Publish the slot before the signal, so the handler finds it.
      g_state.count.store(count_ + 1, std::memory_order_release);
      if (syscall(SYS_tgkill, g_state.pid, tid, sig) != 0) {
        g_state.count.store(count_, std::memory_order_release);  // gone meanwhile
        continue;
      }
      t.signalled = true;
      int not_yet = 0;  // unless the handler has already parked it
      if (blocks) t.stopped.compare_exchange_strong(not_yet, -1, std::memory_order_acq_rel);
      ++count_;
      ++added;
    }
  }
  close(fd);
  return added;
}

void ThreadSuspender::WaitUntilParked(int timeout_ms) const {
  // One that blocks the signal (-1) gets a short grace only: a thread just created with
  // every signal blocked (heapwarden's own, or a pool's) may be about to unblock it.
  const uint64_t start = NowNs();
  const uint64_t deadline = start + static_cast<uint64_t>(timeout_ms) * 1000000ull;
  const uint64_t blocked_deadline = start + 20000000ull;  // 20 ms
  for (;;) {
    size_t waiting = 0;
    const uint64_t now = NowNs();
    for (size_t i = 0; i < count_; ++i) {
      if (threads_[i].own) continue;
      int state = threads_[i].stopped.load(std::memory_order_acquire);
      waiting += state == 0 || (state == -1 && now < blocked_deadline);
    }
    if (waiting == 0 || now > deadline) return;
    struct timespec pause = {0, 50000};
    nanosleep(&pause, nullptr);
  }
}

void ThreadSuspender::SettleUnanswered() {
  for (size_t i = 0; i < count_; ++i) {
    SuspendedThread& t = threads_[i];
    if (t.own) continue;
    int state = 0;
    // Not parked (and, if it blocks the signal, marked -1 above): 0 from now on, with the
    // stack pointer of the system call it sits in when there is one.
    if (t.stopped.compare_exchange_strong(state, 0) || state == -1) {
      t.stopped.store(0, std::memory_order_relaxed);
      t.blocked_sp = BlockedStackPointer(t.tid);
      if (HasOwnName(t.tid)) t.own = true;  // heapwarden's, not yet running
    }
  }
}

void ThreadSuspender::ResumeAll() {
  if (!installed_) return;
  g_state.active.store(0, std::memory_order_release);
  g_state.release.store(1, std::memory_order_release);
  FutexWakeAll(&g_state.release);
  const uint64_t deadline = NowNs() + 100000000ull;  // 100 ms
  while (g_state.inside.load(std::memory_order_acquire) != 0 && NowNs() < deadline) {
    sched_yield();
  }
  // A thread that never answered may still take the signal (once it unblocks it): the
  // handler stays installed then, and ignores it (active is 0).
  bool all_answered = true;
  for (size_t i = 0; i < count_; ++i) {
    if (threads_[i].signalled && threads_[i].stopped.load(std::memory_order_acquire) != 1) {
      all_answered = false;
    }
  }
  if (all_answered && g_state.inside.load(std::memory_order_acquire) == 0 && g_state.have_previous) {
    sigaction(SuspendSignal(), &g_state.previous, nullptr);
  }
  installed_ = false;
  g_busy.store(0, std::memory_order_release);
}

}  // namespace heapwarden::internal
