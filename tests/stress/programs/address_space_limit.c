// address_space_limit.c: run under a limit on address space (ulimit -v / RLIMIT_AS),
// allocates 1 MiB blocks (untouched: address space, not memory) until malloc returns
// NULL, and prints how many MiB it got and the errno of the failure. A tracker that
// reserves address space up front leaves the program less; the run compares the MiB
// with the plain run's, within a tolerance. Everything is freed before exit, unless
// the argument is "hold": then the blocks are still live (reachable) at exit, and the
// tracker must write its report in what address space is left.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BLOCKS 65536

static void* blocks[MAX_BLOCKS];

int main(int argc, char** argv) {
  const int hold = argc > 1 && strcmp(argv[1], "hold") == 0;
  int n = 0;
  errno = 0;
  while (n < MAX_BLOCKS) {
    void* p = malloc(1 << 20);
    if (p == NULL) break;
    blocks[n++] = p;
  }
  int err = errno;
  if (!hold) {
    for (int i = 0; i < n; ++i) free(blocks[i]);
  }
  printf("mib %d\nerrno %d\n", n, n < MAX_BLOCKS ? err : -1);
  return 0;
}
