// atomic_file.cc: see atomic_file.h.
#include "common/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cstdint>

#include "common/decimal.h"

namespace heapwarden {
namespace {

// "PATH.tmp.PID" without snprintf, which may allocate (the record side calls this).
bool TempName(const char* path, char* out, size_t size) {
  static constexpr char kSuffix[] = ".tmp.";
  char pid[internal::kMaxDecimalDigits];
  const int pid_len = internal::DecimalDigits(static_cast<uint64_t>(getpid()), pid);
  size_t n = 0;
  auto append = [&](const char* s, size_t len) {
    for (size_t i = 0; i < len && s[i] != '\0'; ++i) {
      if (n + 1 >= size) return false;
      out[n++] = s[i];
    }
    return true;
  };
  if (!append(path, SIZE_MAX) || !append(kSuffix, sizeof(kSuffix) - 1) ||
      !append(pid, static_cast<size_t>(pid_len))) {
    return false;
  }
  out[n] = '\0';
  return true;
}

int Fail(const char* tmp, int fd) {
  int err = errno != 0 ? errno : EIO;
  if (fd >= 0) close(fd);
  unlink(tmp);
  return err;
}

}  // namespace

int WriteFileAtomically(const char* path, const char* data, size_t size) {
  char tmp[4096 + 32];
  if (!TempName(path, tmp, sizeof(tmp))) return ENAMETOOLONG;
  constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int fd = open(tmp, kFlags, 0600);
  if (fd < 0 && errno == EEXIST) {
    unlink(tmp);
    fd = open(tmp, kFlags, 0600);
  }
  if (fd < 0) return errno;
  for (size_t off = 0; off < size;) {
    ssize_t w = write(fd, data + off, size - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      if (w == 0) errno = EIO;
      return Fail(tmp, fd);
    }
    off += static_cast<size_t>(w);
  }
  if (close(fd) != 0) return Fail(tmp, -1);
  if (rename(tmp, path) != 0) return Fail(tmp, -1);
  return 0;
}

}  // namespace heapwarden
