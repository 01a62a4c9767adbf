// proc_stats.cc: see proc_stats.h. Record side.
#include "record/base/proc_stats.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

namespace heapwarden::internal {
namespace {

uint64_t ParseUnsigned(const char* p) {
  while (*p == ' ' || *p == '\t') ++p;
  uint64_t v = 0;
  while (*p >= '0' && *p <= '9') v = v * 10 + static_cast<uint64_t>(*p++ - '0');
  return v;
}

}  // namespace

long ReadSmallFile(const char* path, char* buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t total = 0;
  while (total + 1 < size) {
    ssize_t n = read(fd, buf + total, size - 1 - total);
    if (n < 0) {
      close(fd);
      return -1;
    }
    if (n == 0) break;
    total += static_cast<size_t>(n);
  }
  close(fd);
  buf[total] = '\0';
  return static_cast<long>(total);
}

uint64_t ReadRssBytes() {
  char buf[128];
  if (ReadSmallFile("/proc/self/statm", buf, sizeof(buf)) <= 0) return 0;
  const char* second = strchr(buf, ' ');
  if (second == nullptr) return 0;
  return ParseUnsigned(second + 1) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

uint64_t ReadPeakRssBytes() {
  char buf[4096];
  if (ReadSmallFile("/proc/self/status", buf, sizeof(buf)) <= 0) return 0;
  const char* line = strstr(buf, "VmHWM:");
  return line ? ParseUnsigned(line + 6) * 1024 : 0;
}

int ReadLiveThreadCount() {
  char buf[1024];
  if (ReadSmallFile("/proc/self/stat", buf, sizeof(buf)) <= 0) return 0;
  // The command name, field 2, may hold spaces and parentheses: count from its end.
  const char* p = strrchr(buf, ')');
  if (p == nullptr || p[1] != ' ') return 0;
  const bool main_exited = p[2] == 'Z';  // field 3: the main thread's state
  // num_threads is field 20: the 18th after the name.
  for (int field = 3; field <= 20; ++field) {
    p = strchr(p + 1, ' ');
    if (p == nullptr) return 0;
  }
  const int threads = static_cast<int>(ParseUnsigned(p + 1));
  return main_exited && threads > 0 ? threads - 1 : threads;
}

}  // namespace heapwarden::internal
