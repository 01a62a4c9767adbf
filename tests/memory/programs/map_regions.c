/* map_regions.c: memory the program maps itself, next to memory malloc maps for it.
 * Each case is its own function, so the report can name it:
 *   map_sixty_four_mib       an anonymous 64 MiB mmap, written and kept: a mapped site
 *   malloc_sixty_four_mib    a 64 MiB malloc (glibc mmaps it internally): a heap
 *                            site, never a mapped one
 *   map_then_cut             16 MiB mapped; its middle 4 MiB unmapped (a split), then
 *                            its head 4 MiB; what is left (8 MiB) grown to 24 MiB with
 *                            mremap(MREMAP_MAYMOVE): one live region of 24 MiB
 *   map_and_release          8 MiB mapped and unmapped again: nothing live
 *   map_file_and_reserve     a file mapping and a PROT_NONE reservation: not tracked
 * Prints "map_regions: ok" when every call behaved. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MIB (1024UL * 1024UL)
#define NOINLINE __attribute__((noinline, noclone))

static void Escape(const void *p) { __asm__ volatile("" : : "g"(p) : "memory"); }

static int g_failed;
static void check(int ok, const char *what) {
  if (!ok) {
    printf("FAILED: %s\n", what);
    g_failed = 1;
  }
}

void *g_kept_map;
void *g_kept_malloc;
void *g_cut;

NOINLINE void map_sixty_four_mib(void) {
  g_kept_map = mmap(NULL, 64 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  check(g_kept_map != MAP_FAILED, "mmap 64 MiB");
  memset(g_kept_map, 0x5a, 64 * MIB);
  Escape(g_kept_map);
}

NOINLINE void malloc_sixty_four_mib(void) {
  g_kept_malloc = malloc(64 * MIB);
  check(g_kept_malloc != NULL, "malloc 64 MiB");
  memset(g_kept_malloc, 0xa5, 64 * MIB);
  Escape(g_kept_malloc);
}

NOINLINE void map_then_cut(void) {
  char *p = mmap(NULL, 16 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  check(p != MAP_FAILED, "mmap 16 MiB");
  memset(p, 1, 16 * MIB);
  check(munmap(p + 4 * MIB, 4 * MIB) == 0, "munmap middle");
  check(munmap(p, 4 * MIB) == 0, "munmap head");
  char *q = mremap(p + 8 * MIB, 8 * MIB, 24 * MIB, MREMAP_MAYMOVE);
  check(q != MAP_FAILED, "mremap grow");
  if (q != MAP_FAILED) {
    check(q[0] == 1 && q[8 * MIB - 1] == 1, "mremap kept the contents");
    memset(q + 8 * MIB, 2, 16 * MIB);
  }
  g_cut = q;
  Escape(q);
}

NOINLINE void map_and_release(void) {
  void *p = mmap(NULL, 8 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  check(p != MAP_FAILED, "mmap 8 MiB");
  memset(p, 3, 8 * MIB);
  check(munmap(p, 8 * MIB) == 0, "munmap 8 MiB");
}

NOINLINE void map_file_and_reserve(const char *path) {
  int fd = open(path, O_RDONLY);
  check(fd >= 0, "open self");
  void *file = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
  check(file != MAP_FAILED, "mmap file");
  close(fd);
  void *reserve = mmap(NULL, 32 * MIB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  check(reserve != MAP_FAILED, "mmap PROT_NONE");
  Escape(file);
  Escape(reserve);
}

int main(int argc, char **argv) {
  map_sixty_four_mib();
  malloc_sixty_four_mib();
  map_then_cut();
  map_and_release();
  map_file_and_reserve(argv[0]);
  /* errno and results as without heapwarden */
  check(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED, "mmap 0 fails");
  check(munmap((void *)1, 4096) == -1, "munmap unaligned fails");
  printf(g_failed ? "map_regions: FAILED\n" : "map_regions: ok\n");
  return g_failed;
}
