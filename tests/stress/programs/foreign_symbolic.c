// foreign_symbolic.c: linked against libstress_own_malloc.so (tests/stress/libs), a
// -Bsymbolic library with its own malloc family. own_strdup's block comes from that
// library's malloc directly; the program frees it with free(), which plain binds to
// the library's free. A tracker that sends it to glibc aborts (munmap_chunk(): invalid
// pointer); one that sends it to the library's free is right.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char* own_strdup(const char* s);
size_t own_strdup_frees(void);

static void* volatile g_keep;

int main(void) {
  size_t total = 0;
  for (int i = 0; i < 100; ++i) {
    char* s = own_strdup("a string the library allocated for the program");
    total += strlen(s);
    free(s);
    char* p = malloc(1000 + (size_t)i);  // the program's own blocks, same allocator
    p[0] = 'x';
    total += (size_t)p[0];
    free(p);
  }
  g_keep = malloc(1337);  // live at exit
  printf("total %zu, %zu of the library's blocks came back to it\n", total, own_strdup_frees());
  return 0;
}
