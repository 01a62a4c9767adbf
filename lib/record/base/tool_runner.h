// tool_runner.h: finds the `heapwarden` tool and runs it in a helper process, for the
// work that must not happen inside the tracked program (symbols, suppressions, text):
// the report at exit, the per-test leak verdict of leak_check.h.
// Calling context: exit and between two tests, outside malloc; no heap allocation (posix_spawn with static buffers), no stdio; runs on
// a program thread at exit or between two tests, never inside malloc.
#ifndef HEAPWARDEN_LIB_RECORD_BASE_TOOL_RUNNER_H_
#define HEAPWARDEN_LIB_RECORD_BASE_TOOL_RUNNER_H_

#include <cstddef>

namespace heapwarden::internal {

// FindTool()
//
// The tool's path in `out`, tried in order:
//   1. <directory of the object holding heapwarden's code>/../bin/heapwarden: the
//      preload or libheapwarden.so in a build tree (build/lib, build/bin) or an
//      installed prefix (lib, bin); for libheapwarden.a, the executable's directory;
//   2. the tool's installed path as configured at build time (HEAPWARDEN_INSTALL_TOOL,
//      <CMAKE_INSTALL_PREFIX>/bin/heapwarden), for libheapwarden.a, which has no
//      directory of its own;
// and false when neither is an executable file (then RunTool looks in PATH).
bool FindTool(char* out, size_t size);

// RunTool()
//
// Runs `heapwarden ARGS...` (`args` ends with nullptr) without LD_PRELOAD and
// HEAPWARDEN_OPTIONS in its environment and waits for it. Its standard output goes to
// `stdout_fd` and its standard error to `stderr_fd` (-1: the program's own). Returns
// its exit status, or -1 when it could not start (FindTool and PATH both failed) or
// was killed. Not async-signal-safe; thread-safe against other callers (a lock
// serialises the static environment buffer).
int RunTool(const char* const* args, int stdout_fd, int stderr_fd);

// RunToolCapture()
//
// As RunTool, with the tool's standard output and error read into `out` (always
// NUL-terminated; what does not fit in `size` is read and dropped, so the tool never
// blocks on a full pipe).
int RunToolCapture(const char* const* args, char* out, size_t size);

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_BASE_TOOL_RUNNER_H_
