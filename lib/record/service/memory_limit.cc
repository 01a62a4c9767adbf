// memory_limit.cc: see memory_limit.h. Record side.
#include "record/service/memory_limit.h"

#include <cstring>

#include "record/base/proc_stats.h"

namespace heapwarden::internal {
namespace {

// A v1 "no limit" is a huge page-rounded number; anything above this is no limit.
constexpr uint64_t kNoLimit = uint64_t{1} << 60;

bool ParseNumber(const char* p, uint64_t* out) {
  while (*p == ' ' || *p == '\t') ++p;
  if (*p < '0' || *p > '9') return false;
  uint64_t v = 0;
  while (*p >= '0' && *p <= '9') {
    if (v > (UINT64_MAX - 9) / 10) return false;
    v = v * 10 + static_cast<uint64_t>(*p++ - '0');
  }
  *out = v;
  return true;
}

void CopyString(char* out, size_t size, const char* s, size_t len) {
  if (size == 0) return;
  if (len >= size) len = size - 1;
  memcpy(out, s, len);
  out[len] = '\0';
}

// Does the comma-separated controller list [p, end) name "memory"?
bool HasMemoryController(const char* p, const char* end) {
  while (p < end) {
    const char* comma = static_cast<const char*>(memchr(p, ',', static_cast<size_t>(end - p)));
    const char* stop = comma ? comma : end;
    if (stop - p == 6 && memcmp(p, "memory", 6) == 0) return true;
    p = stop + 1;
  }
  return false;
}

}  // namespace

void ParseProcCgroup(const char* text, char* v2_path, size_t v2_size, char* v1_path,
                     size_t v1_size) {
  if (v2_size) v2_path[0] = '\0';
  if (v1_size) v1_path[0] = '\0';
  for (const char* line = text; line && *line;) {
    const char* eol = strchr(line, '\n');
    const char* end = eol ? eol : line + strlen(line);
    // hierarchy-id:controller-list:path
    const char* c1 = static_cast<const char*>(memchr(line, ':', static_cast<size_t>(end - line)));
    const char* c2 = c1 ? static_cast<const char*>(memchr(c1 + 1, ':', static_cast<size_t>(end - c1 - 1)))
                        : nullptr;
    if (c1 && c2) {
      const char* path = c2 + 1;
      size_t path_len = static_cast<size_t>(end - path);
      if (c1 - line == 1 && line[0] == '0' && c2 == c1 + 1) {
        CopyString(v2_path, v2_size, path, path_len);
      } else if (HasMemoryController(c1 + 1, c2)) {
        CopyString(v1_path, v1_size, path, path_len);
      }
    }
    line = eol ? eol + 1 : nullptr;
  }
}

uint64_t LowestLimitOnPath(const char* root, const char* path, const char* file, char* source,
                           size_t source_size) {
  char dir[1024];
  size_t root_len = strlen(root);
  size_t path_len = strlen(path);
  if (root_len + path_len + 1 >= sizeof(dir)) return 0;
  memcpy(dir, root, root_len);
  memcpy(dir + root_len, path, path_len + 1);
  size_t len = root_len + path_len;
  while (len > root_len && dir[len - 1] == '/') dir[--len] = '\0';
  uint64_t lowest = 0;
  for (;;) {
    char name[1200];
    size_t file_len = strlen(file);
    if (len + 1 + file_len + 1 <= sizeof(name)) {
      memcpy(name, dir, len);
      name[len] = '/';
      memcpy(name + len + 1, file, file_len + 1);
      char buf[64];
      uint64_t value;
      if (ReadSmallFile(name, buf, sizeof(buf)) > 0 && ParseNumber(buf, &value) && value > 0 &&
          value < kNoLimit && (lowest == 0 || value < lowest)) {
        lowest = value;
        CopyString(source, source_size, name, strlen(name));
      }
    }
    if (len <= root_len) break;
    // Up one level.
    while (len > root_len && dir[len - 1] != '/') --len;
    while (len > root_len && dir[len - 1] == '/') --len;
    dir[len] = '\0';
  }
  return lowest;
}

MemoryLimit ReadMemoryLimit() {
  MemoryLimit limit;
  char buf[4096];
  if (ReadSmallFile("/proc/meminfo", buf, sizeof(buf)) > 0) {
    const char* line = strstr(buf, "MemTotal:");
    uint64_t kib;
    if (line && ParseNumber(line + 9, &kib)) {
      limit.bytes = kib * 1024;
      CopyString(limit.source, sizeof(limit.source), "/proc/meminfo", 13);
    }
  }
  char v2[512], v1[512];
  if (ReadSmallFile("/proc/self/cgroup", buf, sizeof(buf)) <= 0) return limit;
  ParseProcCgroup(buf, v2, sizeof(v2), v1, sizeof(v1));
  struct Candidate {
    const char* root;
    const char* path;
    const char* file;
  };
  // cgroup v2 is mounted at /sys/fs/cgroup, or at .../unified on hybrid systems.
  const Candidate candidates[] = {
      {"/sys/fs/cgroup", v2, "memory.max"},
      {"/sys/fs/cgroup/unified", v2, "memory.max"},
      {"/sys/fs/cgroup/memory", v1, "memory.limit_in_bytes"},
  };
  for (const Candidate& c : candidates) {
    if (c.path[0] != '/') continue;
    char source[sizeof(limit.source)];
    uint64_t value = LowestLimitOnPath(c.root, c.path, c.file, source, sizeof(source));
    if (value != 0 && (limit.bytes == 0 || value < limit.bytes)) {
      limit.bytes = value;
      CopyString(limit.source, sizeof(limit.source), source, strlen(source));
    }
  }
  return limit;
}

}  // namespace heapwarden::internal
