// deepbind_plugin.c: a plugin the program dlopens with RTLD_DEEPBIND. Its references to
// malloc and free then bind in its own scope first (itself, then libc) and not to an
// LD_PRELOAD'ed tracker: plain that changes nothing, tracked it hides the plugin's
// allocations and frees unless the tracker deals with it.
#include <stdlib.h>
#include <string.h>

// Leaks 63,020 bytes in 10 blocks (a distinctive total the test looks for).
void plugin_leak(void) {
  for (int i = 0; i < 10; ++i) {
    char* p = malloc(6302);
    memset(p, i, 6302);
    __asm__ volatile("" : : "r"(p) : "memory");  // p is dropped: a direct leak
  }
}

// Frees what the program allocated (legal: one process, one heap).
void plugin_free(void* p) { free(p); }

// A block made and freed inside the plugin: neither a leak nor an error.
int plugin_roundtrip(void) {
  char* p = calloc(1, 777);
  int r = p[5];
  p = realloc(p, 1777);
  free(p);
  return r;
}
