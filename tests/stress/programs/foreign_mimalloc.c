// foreign_mimalloc.c: a program linked against libmimalloc (which overrides malloc and
// free for the whole process) frees mi_malloc'd memory with free() and mixes the two
// families both ways, as mimalloc's documentation allows. Plain this is legal; under
// a tracker that forwards free() to glibc it aborts ("free(): invalid pointer").
#include <malloc.h>
#include <mimalloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void* volatile g_keep;

int main(void) {
  unsigned long sum = 0;
  for (int i = 0; i < 1000; ++i) {
    size_t size = 24 + (size_t)(i % 50) * 1337;  // small and medium blocks
    char* p = mi_malloc(size);
    memset(p, i & 0xff, size);
    sum += (unsigned char)p[size / 2];
    free(p);  // mimalloc's block, freed through the plain name
    char* q = malloc(size);
    memset(q, 1, size);
    q = realloc(q, size * 2);
    sum += (unsigned char)q[0];
    mi_free(q);  // and the reverse
  }
  char* big = mi_zalloc(8 << 20);  // a block mimalloc maps on its own
  sum += (unsigned char)big[12345];
  free(big);
  char* s = mi_strdup("kept by mimalloc");
  printf("usable %s\n", malloc_usable_size(s) >= 17 ? "ok" : "short");
  g_keep = mi_malloc(10001);  // still live at exit: a leak only heapwarden can name
  free(s);
  printf("sum %lu\n", sum);
  return 0;
}
