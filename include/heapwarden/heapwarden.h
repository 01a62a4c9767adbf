/* heapwarden.h: the C API of heapwarden, for programs that want to tag their memory,
 * ask for statistics, write a snapshot or hand freed memory back to the OS.
 *
 * The header is self-contained and needs no library to link: every function finds
 * heapwarden at its first call, wherever it is (the LD_PRELOAD shim, a linked
 * libheapwarden, or nowhere). When heapwarden is not loaded, each call costs one
 * predictable branch after the first and returns "inactive" (0, -1 or zeroes).
 *
 *   heapwarden_tag_push("load_batch");
 *   parse(file);
 *   heapwarden_tag_pop();
 *
 * All functions are thread-safe. None of them throws. Unless said otherwise they do
 * not allocate memory through malloc.
 */
#ifndef HEAPWARDEN_HEAPWARDEN_H_
#define HEAPWARDEN_HEAPWARDEN_H_

#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Process-wide figures, in bytes unless named otherwise. A struct tag without a
 * typedef, so that the function heapwarden_stats() can keep its name:
 *   struct heapwarden_stats s; heapwarden_stats(&s); */
struct heapwarden_stats {
  uint64_t live_bytes;       /* allocated and not yet freed, through the tracked functions */
  uint64_t live_blocks;
  uint64_t peak_live_bytes;  /* the highest live_bytes so far */
  uint64_t allocations;      /* count since tracking began */
  uint64_t frees;
  uint64_t bytes_allocated;  /* total since tracking began */
  uint64_t rss_bytes;        /* resident set now */
  uint64_t peak_rss_bytes;
  uint64_t retained_bytes;   /* resident but not used by live blocks: what trim can return */
  uint64_t mapped_bytes;     /* anonymous memory the program mapped itself (mmap), live */
};

/* What a trim did. */
typedef struct heapwarden_trim_result {
  uint64_t rss_before;
  uint64_t rss_after;
  uint64_t released_bytes; /* rss_before - rss_after, or 0 if RSS grew meanwhile */
  int ok;                  /* 1 when a trim ran, 0 when heapwarden is inactive */
} heapwarden_trim_result;

/* One tag path's figures: its own (allocations made under exactly that path) and its
 * total (that path and every path under it: "load" with "load/map"). */
struct heapwarden_tag_figures {
  uint64_t live_bytes;            /* own, live now */
  uint64_t peak_live_bytes;       /* own, the highest live_bytes so far */
  uint64_t total_live_bytes;      /* with every path below, live now */
  uint64_t total_peak_live_bytes; /* with every path below, the highest so far */
};

/* The implementation's table; an ABI detail, use the functions below. */
typedef struct heapwarden_api_v1 {
  uint32_t size; /* sizeof(heapwarden_api_v1) of the implementation */
  int (*active)(void);
  void (*tag_push)(const char* tag);
  void (*tag_pop)(void);
  heapwarden_trim_result (*trim)(void);
  int (*snapshot)(const char* path);
  int (*stats)(struct heapwarden_stats* out);
  int (*tag_stats)(const char* tag, uint64_t* live_bytes, uint64_t* peak_live_bytes);
  /* Appended later: check `size` before use (heapwarden_internal_has). */
  int (*start)(const char* options);
  int (*tag_figures)(const char* tag, struct heapwarden_tag_figures* out);
} heapwarden_api_v1;

/* Returns the implementation's table. Exported by the preload and by libheapwarden,
 * with the plain functions below (heapwarden_active, ...) for other languages' FFIs.
 * Declared weak so that a program linking neither still links. */
const heapwarden_api_v1* heapwarden_get_api_v1(void) __attribute__((weak));

#ifndef HEAPWARDEN_NO_INLINE_API

/* heapwarden_internal_api()
 *
 * Finds the implementation once and caches it. Not part of the API. */
static inline const heapwarden_api_v1* heapwarden_internal_api(void) {
  static const heapwarden_api_v1* cached;
  static int looked_up;
  if (__builtin_expect(!__atomic_load_n(&looked_up, __ATOMIC_ACQUIRE), 0)) {
    const heapwarden_api_v1* api = heapwarden_get_api_v1 ? heapwarden_get_api_v1() : NULL;
    if (api == NULL) {
      /* Not linked: look for the preload. (void*)0 is RTLD_DEFAULT on glibc. */
      typedef const heapwarden_api_v1* (*get_api_fn)(void);
      get_api_fn get = (get_api_fn)dlsym((void*)0, "heapwarden_get_api_v1");
      api = get ? get() : NULL;
    }
    __atomic_store_n(&cached, api, __ATOMIC_RELAXED);
    __atomic_store_n(&looked_up, 1, __ATOMIC_RELEASE);
  }
  return __atomic_load_n(&cached, __ATOMIC_RELAXED);
}

/* True when the implementation's table has the member `field`. */
#define heapwarden_internal_has(api, field)                                      \
  ((api)->size >= offsetof(heapwarden_api_v1, field) + sizeof((api)->field) && \
   (api)->field != NULL)

/* heapwarden_active()
 *
 * 1 when heapwarden is tracking this process, 0 otherwise. */
static inline int heapwarden_active(void) {
  const heapwarden_api_v1* api = heapwarden_internal_api();
  return api ? api->active() : 0;
}

/* heapwarden_start()
 *
 * Switches tracking on from code, with `options` in HEAPWARDEN_OPTIONS syntax
 * ("output=/tmp/app.%p.json:depth=16"; NULL or "" for the defaults). Meant for a
 * program linked with libheapwarden, which tracks nothing until asked (see
 * docs/cpp.md); allocations made before the call are not tracked. Tracking starts
 * once per process: when it is already on (HEAPWARDEN_OPTIONS, the preload, an
 * earlier call), `options` are ignored. The allocator backend is chosen at process
 * start only. Returns 0 when tracking is on after the call; -1 when heapwarden is not
 * in the process (or another copy of it serves malloc) or its tables cannot be
 * reserved. Thread-safe; call it from main or later, not from a constructor that
 * runs before libheapwarden's. Reserves its tables with mmap; starting its one helper
 * thread allocates a little through malloc (untracked). */
static inline int heapwarden_start(const char* options) {
  const heapwarden_api_v1* api = heapwarden_internal_api();
  return api && heapwarden_internal_has(api, start) ? api->start(options) : -1;
}

/* heapwarden_tag_push()
 *
 * Makes `tag` the innermost tag of this thread: allocations the thread makes until the
 * matching heapwarden_tag_pop() are attributed to the slash-joined path of the
 * thread's tags ("epoch/load_batch"). Tags nest up to 31 deep; a deeper push is
 * counted but not applied. The first push of a new path takes a short lock; pushing a
 * known path is cheap. The name is copied. */
static inline void heapwarden_tag_push(const char* tag) {
  const heapwarden_api_v1* api = heapwarden_internal_api();
  if (api) api->tag_push(tag);
}

/* heapwarden_tag_pop()
 *
 * Ends the innermost tag of this thread. A pop with no tag pushed does nothing. */
static inline void heapwarden_tag_pop(void) {
  const heapwarden_api_v1* api = heapwarden_internal_api();
  if (api) api->tag_pop();
}

/* heapwarden_trim()
 *
 * Asks the allocator to return freed pages to the OS (malloc_trim for glibc,
 * mi_collect for mimalloc) and reports resident memory before and after. May take
 * milliseconds; not async-signal-safe. Best effort: pages holding a live block stay
 * resident. Recorded in the report's "trims" with trigger "api". */
static inline heapwarden_trim_result heapwarden_trim(void) {
  const heapwarden_api_v1* api = heapwarden_internal_api();
  if (api && api->trim) return api->trim();
  heapwarden_trim_result none = {0, 0, 0, 0};
  return none;
}

/* heapwarden_snapshot()
 *
 * Writes a report of the process as it is now to `path` (atomically: a reader sees the
 * old file or the new one), with "complete": false and, like the report at exit,
 * function names and Python frames: the `heapwarden` tool symbolizes it in a helper
 * process before this returns (a tenth of a second for a small program, about a second
 * for a large Python one). Returns 0, or -1 when heapwarden is inactive or the file
 * cannot be written. When the tool cannot be run, the file keeps raw addresses (every
 * heapwarden command still reads it) and the reason is printed to stderr. Call it from
 * a thread of the program, not from a signal handler. */
static inline int heapwarden_snapshot(const char* path) {
  const heapwarden_api_v1* api = heapwarden_internal_api();
  return api ? api->snapshot(path) : -1;
}

/* heapwarden_stats()
 *
 * Fills *out. Returns 0, or -1 (and zeroes *out) when heapwarden is inactive. Reads
 * /proc/self for the RSS figures. */
static inline int heapwarden_stats(struct heapwarden_stats* out) {
  const heapwarden_api_v1* api = heapwarden_internal_api();
  if (api) return api->stats(out);
  struct heapwarden_stats zero = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  *out = zero;
  return -1;
}

/* heapwarden_tag_stats()
 *
 * Live and peak bytes of one tag path ("epoch/load_batch"), its own: without the paths
 * below it (heapwarden_tag_figures() has both). Returns 0, or -1 when the tag is
 * unknown or heapwarden inactive (outputs then 0). */
static inline int heapwarden_tag_stats(const char* tag, uint64_t* live_bytes,
                                       uint64_t* peak_live_bytes) {
  const heapwarden_api_v1* api = heapwarden_internal_api();
  if (api) return api->tag_stats(tag, live_bytes, peak_live_bytes);
  *live_bytes = 0;
  *peak_live_bytes = 0;
  return -1;
}

/* heapwarden_tag_figures()
 *
 * One tag path's own and total figures (struct heapwarden_tag_figures): the total of
 * "load" counts "load/map" too, its own figures do not. Returns 0, or -1 when the tag
 * is unknown or heapwarden inactive (outputs then 0). Does not allocate; linear in the
 * number of tag paths. */
static inline int heapwarden_tag_figures(const char* tag, struct heapwarden_tag_figures* out) {
  const heapwarden_api_v1* api = heapwarden_internal_api();
  if (api && heapwarden_internal_has(api, tag_figures)) return api->tag_figures(tag, out);
  struct heapwarden_tag_figures zero = {0, 0, 0, 0};
  *out = zero;
  return -1;
}

#else  /* HEAPWARDEN_NO_INLINE_API: the implementation exports these instead. */
int heapwarden_active(void);
int heapwarden_start(const char* options);
void heapwarden_tag_push(const char* tag);
void heapwarden_tag_pop(void);
heapwarden_trim_result heapwarden_trim(void);
int heapwarden_snapshot(const char* path);
int heapwarden_stats(struct heapwarden_stats* out);
int heapwarden_tag_stats(const char* tag, uint64_t* live_bytes, uint64_t* peak_live_bytes);
int heapwarden_tag_figures(const char* tag, struct heapwarden_tag_figures* out);
#endif /* HEAPWARDEN_NO_INLINE_API */

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif /* HEAPWARDEN_HEAPWARDEN_H_ */
