// exit_paths.cc: leaks one block (leak_before_exit, 2222 bytes), then ends the way its
// argument says, so a test can check that a report is written in each case:
//   exit    exit(3)            atexit handlers and destructors run
//   _exit   _exit(4)           no handlers run at all
//   return  return 5 from main
//   kill    raise(SIGKILL)     (the tracker cannot write anything; the status is 137)

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "escape.h"

HW_NOINLINE void leak_before_exit() {
  void *p = std::malloc(2222);  // SITE:leak_before_exit
  Escape(p);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: exit_paths exit|_exit|return|kill\n");
    return 2;
  }
  leak_before_exit();
  const char *how = argv[1];
  if (std::strcmp(how, "exit") == 0) std::exit(3);
  if (std::strcmp(how, "_exit") == 0) _exit(4);
  if (std::strcmp(how, "return") == 0) return 5;
  if (std::strcmp(how, "kill") == 0) raise(SIGKILL);
  std::fprintf(stderr, "exit_paths: unknown way out: %s\n", how);
  return 2;
}
