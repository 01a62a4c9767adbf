// memory_pressure.c: run under a limit on address space (the test wraps it in
// prlimit --as): takes address space until malloc fails, then, with a little given
// back, fills it with small blocks until malloc fails again, then tries each
// allocation function with nothing left. Prints only what must read the same plain
// and tracked -- NULL or not, and errno -- never counts. Under a tracker the tracker's
// own tables run out too (8192 call stacks are more sites than it keeps under a tight
// limit): it must drop what it cannot record, and count it, not crash.
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BIG 65536
#define MAX_SMALL (4 << 20)

static void* big[MAX_BIG];
static void* small[MAX_SMALL];

static volatile int sink;

// 2^depth distinct call stacks (each level calls on from two call sites), one block
// each: more sites than a tracker's table holds when the limit is tight.
__attribute__((noinline)) static void Walk(int depth, void** out, int* n) {
  if (depth == 0) {
    out[(*n)++] = malloc(24);
    return;
  }
  Walk(depth - 1, out, n);
  sink++;
  Walk(depth - 1, out, n);
  sink++;
}

static void Show(const char* what, const void* p, int err) {
  printf("%-34s %s errno=%d\n", what, p == NULL ? "NULL" : "block", p == NULL ? err : 0);
}

int main(void) {
  int nbig = 0, nsmall = 0;
  Walk(13, small, &nsmall);
  int got = 0;
  for (int i = 0; i < nsmall; ++i) got += small[i] != NULL;
  printf("8192 call stacks: %s\n", got == nsmall ? "all blocks" : "some NULL");
  for (int i = 0; i < nsmall; ++i) free(small[i]);
  nsmall = 0;
  errno = 0;
  while (nbig < MAX_BIG && (big[nbig] = malloc(1 << 20)) != NULL) ++nbig;
  Show("1 MiB blocks until NULL", NULL, errno);
  // Give a few MiB back: small blocks (from the heap, not mmap) fill them.
  for (int i = 0; i < 2 && nbig > 0; ++i) free(big[--nbig]);
  errno = 0;
  while (nsmall < MAX_SMALL && (small[nsmall] = malloc(48 + (nsmall % 4) * 16)) != NULL) ++nsmall;
  Show("small blocks until NULL", nsmall < MAX_SMALL ? NULL : small[0], errno);
  // Nothing left: every allocation function fails as glibc's does.
  errno = 0;
  void* p = malloc(8 << 20);
  Show("malloc(8 MiB)", p, errno);
  errno = 0;
  p = calloc(1, 8 << 20);
  Show("calloc(1, 8 MiB)", p, errno);
  errno = 0;
  void* q = realloc(small[0], 64 << 20);
  Show("realloc(small, 64 MiB)", q, errno);
  if (q != NULL) small[0] = q;
  errno = 0;
  void* r = NULL;
  int rc = posix_memalign(&r, 4096, 8 << 20);
  printf("%-34s rc=%d\n", "posix_memalign(4096, 8 MiB)", rc);
  errno = 0;
  p = aligned_alloc(65536, 8 << 20);
  Show("aligned_alloc(65536, 8 MiB)", p, errno);
  errno = 0;
  p = memalign(4096, 8 << 20);
  Show("memalign(4096, 8 MiB)", p, errno);
  for (int i = 0; i < nsmall; ++i) free(small[i]);
  for (int i = 0; i < nbig; ++i) free(big[i]);
  // Room again: allocation works as before.
  p = malloc(1 << 20);
  Show("malloc(1 MiB) after freeing", p, 0);
  free(p);
  return 0;
}
