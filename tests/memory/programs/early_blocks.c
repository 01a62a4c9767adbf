/* early_blocks.c: frees what early_blocks_lib allocated before heapwarden's backend
 * switch, in every way a program can: free, realloc to a bigger and a smaller size,
 * malloc_usable_size, and from another thread; then a block over 1 GiB. Prints
 * "early_blocks: ok". */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int early_block_count(void);
void *early_block(int i);
size_t early_block_size(int i);

static int g_failed;

static int intact(const unsigned char *p, size_t size, int value) {
  for (size_t i = 0; i < size; ++i)
    if (p[i] != (unsigned char)value) return 0;
  return 1;
}

static void *free_odd(void *unused) {
  (void)unused;
  for (int i = 1; i < early_block_count(); i += 4) free(early_block(i));
  return NULL;
}

int main(void) {
  int n = early_block_count();
  for (int i = 0; i < n; ++i) {
    if (!intact(early_block(i), early_block_size(i), i)) g_failed = 1;
    if (malloc_usable_size(early_block(i)) < early_block_size(i)) g_failed = 1;
  }
  pthread_t thread;
  pthread_create(&thread, NULL, free_odd, NULL);
  pthread_join(thread, NULL);
  for (int i = 0; i < n; ++i) {
    if (i % 4 == 1) continue;  /* freed by the thread */
    void *p = early_block(i);
    size_t size = early_block_size(i);
    if (i % 4 == 0) {
      unsigned char *q = realloc(p, size * 3);
      if (q == NULL || !intact(q, size, i)) g_failed = 1;
      free(q);
    } else if (i % 4 == 2) {
      unsigned char *q = realloc(p, size / 2 + 1);
      if (q == NULL || !intact(q, size / 2 + 1, i)) g_failed = 1;
      free(q);
    } else {
      free(p);
    }
  }
  /* A block over 1 GiB: mimalloc 2.0.9 maps it outside its segment map, where
   * mi_is_in_heap_region() says "not mine"; it must still go back to mimalloc. */
  size_t huge_size = (size_t)1536 << 20;
  char *huge = malloc(huge_size);
  if (huge == NULL) {
    g_failed = 1;
  } else {
    huge[0] = 1;
    huge[huge_size - 1] = 2;
    if (malloc_usable_size(huge) < huge_size) g_failed = 1;
    huge = realloc(huge, huge_size + 4096);
    if (huge == NULL || huge[0] != 1 || huge[huge_size - 1] != 2) g_failed = 1;
    free(huge);
  }
  /* And ordinary work after: the new allocator serves it. */
  for (int i = 0; i < 10000; ++i) {
    char *p = malloc(16 + i % 3000);
    memset(p, 1, 16 + i % 3000);
    free(p);
  }
  printf(g_failed ? "early_blocks: FAILED\n" : "early_blocks: ok\n");
  return g_failed;
}
