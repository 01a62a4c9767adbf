/* leak_check.h: leak checks over a window of a running program -- "did anything
 * allocated since heapwarden_leak_check_begin() leak?" -- for per-test leak checking
 * (the GoogleTest listener in lib/gtest uses it; other test frameworks can too).
 *
 *   uint64_t window = heapwarden_leak_check_begin();
 *   run_one_test();
 *   struct heapwarden_leak_check_result result;
 *   if (heapwarden_leak_check_end(window, &result) == 0 && result.leaked_bytes > 0) ...
 *
 * A block counts as leaked by the window when it was allocated after begin, is still
 * live at end, and is unreachable (direct or indirect, by the same pointer scan as the
 * exit-time report: with the other threads stopped). Memory a test leaves reachable
 * from a global (a cache, a lazily built singleton) is not a leak.
 *
 * The functions are exported by the preload and by libheapwarden; declared weak, so a
 * program that links neither still links, and the calls do nothing (see
 * heapwarden_leak_check_available()).
 */
#ifndef HEAPWARDEN_LEAK_CHECK_H_
#define HEAPWARDEN_LEAK_CHECK_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Weak for callers; the implementation defines them strong. */
#ifdef HEAPWARDEN_LEAK_CHECK_IMPLEMENTATION
#define HEAPWARDEN_LEAK_CHECK_WEAK
#else
#define HEAPWARDEN_LEAK_CHECK_WEAK __attribute__((weak))
#endif

#define HEAPWARDEN_LEAK_CHECK_FRAMES 32
#define HEAPWARDEN_LEAK_CHECK_SITES 4

/* One allocating call site of leaked blocks. */
struct heapwarden_leak_site {
  uint64_t blocks;
  uint64_t bytes;
  uint32_t indirect; /* 0: direct leaks, 1: indirect (reachable only through leaks) */
  uint32_t depth;    /* frames used */
  uintptr_t frames[HEAPWARDEN_LEAK_CHECK_FRAMES]; /* return addresses, innermost first */
};

struct heapwarden_leak_check_result {
  uint64_t leaked_blocks; /* direct + indirect, allocated in the window */
  uint64_t leaked_bytes;
  uint32_t site_count;    /* entries of `sites` filled, largest first */
  struct heapwarden_leak_site sites[HEAPWARDEN_LEAK_CHECK_SITES];
};

/* heapwarden_leak_check_begin()
 *
 * Opens a window: remembers which blocks are live now (a copy of the live table, in
 * mmap'd memory: ~16 bytes per live block). Returns the window's id, or 0 when
 * heapwarden is not tracking. One window at a time: a new begin replaces an open one.
 * Thread-safe; takes milliseconds for a million live blocks. */
uint64_t heapwarden_leak_check_begin(void) HEAPWARDEN_LEAK_CHECK_WEAK;

/* heapwarden_leak_check_end()
 *
 * Closes window `window`: scans the process (stopping its other threads for the
 * duration of the scan, about a millisecond per few MiB of live heap) and fills *out
 * with the blocks the window leaked. Returns 0, or -1 when heapwarden is inactive, the
 * window is not the open one, or the scan could not run (*out is then zeroed). Must
 * not be called from a signal handler. */
int heapwarden_leak_check_end(uint64_t window, struct heapwarden_leak_check_result* out)
    HEAPWARDEN_LEAK_CHECK_WEAK;

/* heapwarden_leak_check_verdict()
 *
 * Closes window `window` as heapwarden_leak_check_end() does (filling *out), then
 * judges its leaks as the exit gate judges the whole run's (`heapwarden run
 * --fail-on-leak`, `heapwarden check`): the built-in suppressions and the
 * `suppressions` file the process runs with are applied, and the window fails when its
 * unsuppressed direct + indirect leaks exceed `max_leak_bytes` (HEAPWARDEN_OPTIONS,
 * or the flags of `heapwarden run`). Symbols and suppressions are the heapwarden
 * tool's work: it runs in a helper process, so none of it is allocated in this
 * process. On a failure, `message` receives the tool's leak report (LeakSanitizer's
 * layout, symbolized), NUL-terminated and cut to `size` bytes.
 *
 * Returns 1 when the window's leaks fail, 0 when they pass (none, all suppressed, or
 * within max_leak_bytes), -1 as heapwarden_leak_check_end() (nothing judged). A window
 * without leaks costs what heapwarden_leak_check_end() does; one with leaks adds the
 * tool's run (tens of milliseconds to read the debug information). When the tool
 * cannot run (not next to heapwarden's library, not at its installed path, not in
 * PATH) the raw bytes against max_leak_bytes decide, and `message` says so.
 *
 * `skip_frames`: how many frames above the caller's own also hold no data of the
 * program and are left out of the scan with it. A test framework's hook runs in frames
 * the test's own code used a moment before, and their unused slots still hold its
 * pointers: scanned, they would hide its leaks. The GoogleTest listener passes 1
 * (GoogleTest's event dispatcher); 0 scans from the caller's caller. */
int heapwarden_leak_check_verdict(uint64_t window, int skip_frames,
                                  struct heapwarden_leak_check_result* out, char* message,
                                  size_t size) HEAPWARDEN_LEAK_CHECK_WEAK;

/* heapwarden_leak_check_available()
 *
 * 1 when heapwarden is loaded (preloaded or linked) and tracking. */
#ifndef HEAPWARDEN_LEAK_CHECK_IMPLEMENTATION
static inline int heapwarden_leak_check_available(void) {
  return heapwarden_leak_check_begin != NULL && heapwarden_leak_check_end != NULL;
}
#endif

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif /* HEAPWARDEN_LEAK_CHECK_H_ */
