// fork_child.cc: a process that forks a child which keeps running (no exec).
// The parent leaks 1111 bytes in parent_leak, the child leaks 3333 in child_leak and
// calls exit(0); the parent waits for it and returns 0. With follow_fork each process
// writes its own report, and each names only its own leak.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "escape.h"

HW_NOINLINE void parent_leak() {
  void *p = std::malloc(1111);  // SITE:parent_leak
  Escape(p);
}

HW_NOINLINE void child_leak() {
  void *p = std::malloc(3333);  // SITE:child_leak
  Escape(p);
}

int main() {
  std::fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    std::perror("fork_child: fork");
    return 1;
  }
  if (pid == 0) {
    child_leak();
    for (int i = 0; i < 100; ++i) {  // freed work in the child
      void *p = std::malloc(10 + i);
      Escape(p);
      std::free(p);
    }
    std::exit(0);
  }
  parent_leak();
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "fork_child: child failed\n");
    return 1;
  }
  std::printf("fork_child: parent and child done\n");
  return 0;
}
