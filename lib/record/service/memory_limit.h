// memory_limit.h: how much memory this process may use before the OOM killer acts:
// the lowest of its cgroup's limits (v2 memory.max, v1 memory.limit_in_bytes, on its
// own cgroup and every ancestor) and the machine's MemTotal.
// Service thread: read(2) on /proc and /sys into stack buffers; no allocation. Cheap
// enough to re-read every second (a program may be moved into a cgroup as it runs).
#ifndef HEAPWARDEN_LIB_RECORD_SERVICE_MEMORY_LIMIT_H_
#define HEAPWARDEN_LIB_RECORD_SERVICE_MEMORY_LIMIT_H_

#include <cstddef>
#include <cstdint>

namespace heapwarden::internal {

struct MemoryLimit {
  uint64_t bytes = 0;      // 0 when nothing could be read
  char source[512] = {};   // the file the limit came from ("/proc/meminfo" or a cgroup file)
};

// Reads the limit for this process.
MemoryLimit ReadMemoryLimit();

// The pieces, for tests: the parsed contents of /proc/self/cgroup. Sets the cgroup
// v2 path ("0::PATH") and the v1 memory controller's path ("N:...memory...:PATH");
// either is left empty when absent.
void ParseProcCgroup(const char* text, char* v2_path, size_t v2_size, char* v1_path,
                     size_t v1_size);

// The lowest limit in files named `<root><path>/<file>` for `path` and each of its
// ancestors (down to `<root>/<file>`). 0 when none holds a number ("max" is none).
// Writes the winning file's name to `source`.
uint64_t LowestLimitOnPath(const char* root, const char* path, const char* file, char* source,
                           size_t source_size);

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_SERVICE_MEMORY_LIMIT_H_
