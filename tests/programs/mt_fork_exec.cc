// mt_fork_exec.cc: threads, cross-thread frees, fork and exec at the same time.
//
// A producer thread allocates blocks and hands them through a queue to a consumer thread
// that frees them (every block is freed on another thread than the one that allocated
// it), while a third thread forks repeatedly: some children exec /bin/echo, the others
// allocate and free in the child and _exit. A fork taken while the producer holds a lock
// inside the allocator (or inside a tracker) is the case this program is for.
//
// Output is deterministic: the echo children's lines in order (each is waited for before
// the next fork), then one summary line. Exit status 0, or 1 with a message on stderr.

#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "escape.h"

namespace {

constexpr int kBlocks = 200000;
constexpr int kForks = 12;

std::mutex g_mutex;
std::condition_variable g_ready;
std::deque<void *> g_queue;
bool g_done = false;

void Fail(const char *what) {
  std::fprintf(stderr, "mt_fork_exec: %s\n", what);
  std::exit(1);
}

HW_NOINLINE void Produce(long *checksum) {
  for (int i = 0; i < kBlocks; ++i) {
    size_t size = 8 + static_cast<size_t>((i * 7919) % 2000);
    auto *block = static_cast<unsigned char *>(std::malloc(size));
    if (block == nullptr) Fail("malloc failed");
    block[0] = static_cast<unsigned char>(i);
    *checksum += block[0];
    std::lock_guard<std::mutex> lock(g_mutex);
    g_queue.push_back(block);
    if (g_queue.size() == 1) g_ready.notify_one();
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  g_done = true;
  g_ready.notify_one();
}

HW_NOINLINE void Consume(long *freed) {
  for (;;) {
    void *block;
    {
      std::unique_lock<std::mutex> lock(g_mutex);
      g_ready.wait(lock, [] { return !g_queue.empty() || g_done; });
      if (g_queue.empty()) return;
      block = g_queue.front();
      g_queue.pop_front();
    }
    std::free(block);
    ++*freed;
  }
}

HW_NOINLINE void ForkAndExec(int *exec_children, int *malloc_children) {
  for (int i = 0; i < kForks; ++i) {
    // Arguments are built before fork: the child of a threaded process only execs.
    char number[16];
    std::snprintf(number, sizeof number, "%d", i);
    char *argv[] = {const_cast<char *>("echo"), const_cast<char *>("mt_fork_exec: child"),
                    number, nullptr};
    const bool exec_child = i % 2 == 0;
    std::fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) Fail("fork failed");
    if (pid == 0) {
      if (exec_child) {
        execv("/bin/echo", argv);
        _exit(127);
      }
      // glibc makes malloc usable in the child of a threaded process; so must a tracker.
      void *p = std::malloc(1000 + i);
      Escape(p);
      std::free(p);
      _exit(40 + i);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) Fail("waitpid failed");
    if (exec_child) {
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) Fail("echo child failed");
      ++*exec_children;
    } else {
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 40 + i) Fail("malloc child failed");
      ++*malloc_children;
    }
  }
}

}  // namespace

int main() {
  long checksum = 0;
  long freed = 0;
  int exec_children = 0;
  int malloc_children = 0;
  std::thread consumer(Consume, &freed);
  std::thread producer(Produce, &checksum);
  std::thread forker(ForkAndExec, &exec_children, &malloc_children);
  producer.join();
  consumer.join();
  forker.join();
  if (freed != kBlocks) Fail("not every block was freed");
  std::printf("mt_fork_exec: %d blocks freed across threads, checksum %ld, %d exec and %d malloc children\n",
              kBlocks, checksum, exec_children, malloc_children);
  return 0;
}
