// storm_plugin.c: a library loaded and unloaded hundreds of times (dlopen_storm.c);
// each load leaks one 4242-byte block, which must be attributed to storm_leak even
// though the library is gone by the time the process ends.
#include <stdlib.h>
#include <string.h>

void storm_leak(void) {
  char* p = malloc(4242);
  memset(p, 0x42, 4242);
  __asm__ volatile("" : : "r"(p) : "memory");  // dropped: a direct leak
}

int storm_roundtrip(int n) {
  int sum = 0;
  for (int i = 0; i < n; ++i) {
    char* p = malloc(16 + (size_t)i);
    p[0] = (char)i;
    sum += p[0];
    free(p);
  }
  return sum;
}
