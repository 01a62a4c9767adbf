/* early_blocks_lib.c: blocks allocated before heapwarden chooses its backend.
 * The program links this library (DT_NEEDED), so its constructor runs before the
 * preload's: what it allocates comes from glibc, whatever the backend. Small blocks
 * land in the brk heap, big ones are mmap'd chunks, and one realloc moves a block.
 * The program then frees, reallocates and measures them after the switch: with
 * backend=mimalloc every one must still go back to glibc. */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#define EARLY_COUNT 64

static void *g_early[EARLY_COUNT];
static size_t g_sizes[EARLY_COUNT];

__attribute__((constructor)) static void allocate_early(void) {
  for (int i = 0; i < EARLY_COUNT; ++i) {
    size_t size = (i % 8 == 7) ? (size_t)(1 << 20) + (size_t)i * 4096 : 24 + (size_t)i * 40;
    void *p = (i % 5 == 4) ? memalign(64, size) : malloc(size);
    if (i % 9 == 3) p = realloc(p, size * 2), size *= 2;
    memset(p, i, size);
    g_early[i] = p;
    g_sizes[i] = size;
  }
}

int early_block_count(void) { return EARLY_COUNT; }
void *early_block(int i) { return g_early[i]; }
size_t early_block_size(int i) { return g_sizes[i]; }
