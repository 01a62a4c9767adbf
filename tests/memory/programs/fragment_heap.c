/* fragment_heap.c: fragments the heap the way the trim tests need, then gives freed
 * memory back one way or another and prints resident memory at every step.
 *
 *   fragment_heap plain [MIB]   malloc_trim(0) itself (the baseline, run without heapwarden)
 *   fragment_heap api [MIB]     heapwarden_trim() through the public header
 *   fragment_heap wait [MIB]    prints "ready", waits for a line on stdin (a trim from
 *                               outside: `heapwarden trim PID`), then prints RSS
 *   fragment_heap sleep [MIB] [SECONDS] [LAYOUT]   sleeps (for trim=auto), then prints RSS
 *   fragment_heap trimmed [MIB] [SECONDS]  waits (at most 60 s) until RSS falls below half
 *                               the fragmented RSS -- a trim from outside, trim=auto --
 *                               then stays SECONDS more, a window for a second trim
 *
 * MIB (default 256) mebibytes of 1 KiB blocks are allocated and written; all but every
 * 64th are freed, so each survivor pins the pages around it and no free() can shrink
 * the heap. LAYOUT "clustered" keeps the first 64th instead: the same amount live, but
 * packed together, so that whole pages come free. Output: "key=value" lines, sizes in bytes. VmRSS is read from
 * /proc/self/status right before and right after the trim call. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heapwarden/heapwarden.h"

static long long status_rss(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long long kib = -1;
  while (f != NULL && fgets(line, sizeof line, f) != NULL) {
    if (sscanf(line, "VmRSS: %lld kB", &kib) == 1) break;
  }
  if (f != NULL) fclose(f);
  return kib * 1024;
}

static void **g_blocks;
static int g_clustered;

static int kept(size_t i, size_t count) { return g_clustered ? i < count / 64 : i % 64 == 0; }

__attribute__((noinline)) static long long fragment(size_t count) {
  g_blocks = malloc(count * sizeof(void *));
  for (size_t i = 0; i < count; ++i) {
    g_blocks[i] = malloc(1024);
    memset(g_blocks[i], (int)(i & 0xff), 1024);
  }
  printf("rss_full=%lld\n", status_rss());
  for (size_t i = 0; i < count; ++i) {
    if (!kept(i, count)) {
      free(g_blocks[i]);
      g_blocks[i] = NULL;
    }
  }
  long long fragmented = status_rss();
  printf("rss_fragmented=%lld\n", fragmented);
  return fragmented;
}

static int check_survivors(size_t count) {
  for (size_t i = 0; i < count; ++i) {
    if (!kept(i, count)) continue;
    const unsigned char *p = g_blocks[i];
    for (int k = 0; k < 1024; ++k) {
      if (p[k] != (unsigned char)(i & 0xff)) return 0;
    }
  }
  return 1;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "api";
  size_t mib = argc > 2 ? strtoul(argv[2], NULL, 10) : 256;
  unsigned seconds = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 3;
  size_t count = mib * 1024;
  g_clustered = argc > 4 && strcmp(argv[4], "clustered") == 0;
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("pid=%d\n", (int)getpid());
  long long fragmented = fragment(count);

  if (strcmp(mode, "plain") == 0) {
    printf("status_before=%lld\n", status_rss());
    malloc_trim(0);
    printf("status_after=%lld\n", status_rss());
  } else if (strcmp(mode, "api") == 0) {
    long long before = status_rss();
    heapwarden_trim_result r = heapwarden_trim();
    long long after = status_rss();
    printf("status_before=%lld\nstatus_after=%lld\n", before, after);
    printf("api_ok=%d\napi_before=%llu\napi_after=%llu\napi_released=%llu\n", r.ok,
           (unsigned long long)r.rss_before, (unsigned long long)r.rss_after,
           (unsigned long long)r.released_bytes);
  } else if (strcmp(mode, "wait") == 0) {
    printf("ready\n");
    char line[64];
    if (fgets(line, sizeof line, stdin) == NULL) return 3;
  } else if (strcmp(mode, "sleep") == 0) {
    sleep(seconds);
  } else if (strcmp(mode, "trimmed") == 0) {
    /* Poll for the trim instead of guessing how long it takes on a loaded machine. */
    int waited_ms = 0;
    while (status_rss() >= fragmented / 2 && waited_ms < 60000) {
      usleep(10000);
      waited_ms += 10;
    }
    printf("waited_ms=%d\n", waited_ms);
    sleep(seconds);
  } else {
    fprintf(stderr, "usage: fragment_heap plain|api|wait|sleep|trimmed [MIB] [SECONDS] [spread|clustered]\n");
    return 2;
  }
  printf("rss_end=%lld\n", status_rss());
  if (!check_survivors(count)) {
    printf("survivors corrupted\n");
    return 1;
  }
  printf("survivors ok\n");
  return 0;
}
