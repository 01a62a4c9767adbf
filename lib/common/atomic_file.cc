// atomic_file.cc: see atomic_file.h.
#include "common/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "common/decimal.h"

namespace heapwarden {
namespace {

// Appends s[0..len) (or up to its NUL) to out[*n...], keeping a NUL after it.
bool Append(char* out, size_t size, size_t* n, const char* s, size_t len) {
  for (size_t i = 0; i < len && s[i] != '\0'; ++i) {
    if (*n + 1 >= size) return false;
    out[(*n)++] = s[i];
  }
  out[*n] = '\0';
  return true;
}

// "NAME.tmp.PID" without snprintf, which may allocate (the record side calls this).
bool TempName(const char* name, char* out, size_t size) {
  static constexpr char kSuffix[] = ".tmp.";
  char pid[internal::kMaxDecimalDigits];
  const int pid_len = internal::DecimalDigits(static_cast<uint64_t>(getpid()), pid);
  size_t n = 0;
  return Append(out, size, &n, name, SIZE_MAX) &&
         Append(out, size, &n, kSuffix, sizeof(kSuffix) - 1) &&
         Append(out, size, &n, pid, static_cast<size_t>(pid_len));
}

// Copies text[0..len) into out as a C string; "." when empty.
bool CopyPath(const char* text, size_t len, char* out, size_t size) {
  if (len == 0) text = ".", len = 1;
  if (len + 1 > size) return false;
  memcpy(out, text, len);
  out[len] = '\0';
  return true;
}

// Opens the directory that will hold `path` and points *base at the file's name in
// it. A directory whose parent other users may write in (/tmp) is a name any of them
// could have created, or re-created after its owner removed it (a descendant of
// `heapwarden run` outliving the directory `run` gave it): there it must be a real
// directory, not a symbolic link, owned by this user or root. Returns the descriptor,
// or -1 with errno set (EPERM for a directory that is not ours).
int OpenDirectoryOf(const char* path, const char** base) {
  const char* slash = strrchr(path, '/');
  *base = slash == nullptr ? path : slash + 1;
  if (**base == '\0') {
    errno = EISDIR;
    return -1;
  }
  // The directory's own name (leaf) and that of its parent.
  size_t dir_len = slash == nullptr ? 0 : static_cast<size_t>(slash - path);
  while (dir_len > 1 && path[dir_len - 1] == '/') --dir_len;
  if (slash != nullptr && dir_len == 0) dir_len = 1;  // "/name"
  char dir[4096];
  if (!CopyPath(path, dir_len, dir, sizeof(dir))) {
    errno = ENAMETOOLONG;
    return -1;
  }
  const char* leaf_slash = strrchr(dir, '/');
  const char* leaf = leaf_slash == nullptr ? dir : leaf_slash + 1;
  const bool plain = strcmp(dir, "/") == 0 || strcmp(leaf, ".") == 0 || strcmp(leaf, "..") == 0;
  if (plain) return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  char parent[4096];
  size_t parent_len = leaf_slash == nullptr ? 0 : static_cast<size_t>(leaf_slash - dir);
  if (leaf_slash == dir) parent_len = 1;  // "/tmp": the parent is "/"
  if (!CopyPath(dir, parent_len, parent, sizeof(parent))) {
    errno = ENAMETOOLONG;
    return -1;
  }
  int parent_fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (parent_fd < 0) return -1;
  struct stat st;
  const bool shared = fstat(parent_fd, &st) == 0 && (st.st_mode & S_IWOTH) != 0;
  int fd = openat(parent_fd, leaf, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (shared ? O_NOFOLLOW : 0));
  int err = errno;
  close(parent_fd);
  if (fd < 0) {
    // O_NOFOLLOW on a symbolic link: ELOOP (or ENOTDIR with O_DIRECTORY); say "not ours".
    errno = shared && (err == ELOOP || err == ENOTDIR) ? EPERM : err;
    return -1;
  }
  if (shared && (fstat(fd, &st) != 0 || (st.st_uid != geteuid() && st.st_uid != 0))) {
    close(fd);
    errno = EPERM;
    return -1;
  }
  return fd;
}

// /dev/stdout, /dev/fd/3, /proc/self/fd/1: names of the process's own streams, in
// directories only root can write in, whose links are followed.
bool IsStreamName(const char* path) {
  return strncmp(path, "/dev/", 5) == 0 || strncmp(path, "/proc/", 6) == 0;
}

// Writes all of data to `fd` (opened non-blocking, so that a FIFO without a reader
// fails instead of hanging), then closes it. Returns 0 or an errno value.
int WriteInPlace(int fd, const char* data, size_t size) {
  if (fd < 0) return errno;
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  int err = 0;
  for (size_t off = 0; off < size;) {
    ssize_t w = write(fd, data + off, size - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      err = w == 0 ? EIO : errno;
      break;
    }
    off += static_cast<size_t>(w);
  }
  if (close(fd) != 0 && err == 0) err = errno;
  return err;
}

int Fail(int dir_fd, const char* tmp, int fd) {
  int err = errno != 0 ? errno : EIO;
  if (fd >= 0) close(fd);
  unlinkat(dir_fd, tmp, 0);
  close(dir_fd);
  return err;
}

}  // namespace

int WriteFileAtomically(const char* path, const char* data, size_t size) {
  const char* base = nullptr;
  int dir_fd = OpenDirectoryOf(path, &base);
  if (dir_fd < 0) return errno;
  // A device or a pipe (/dev/null, a FIFO, /dev/stdout's link to one) is written into,
  // never replaced: renaming over /dev/null would turn the machine's /dev/null into a
  // report for every process after. In a directory other users may write in (/tmp),
  // only one of ours or root's, and no link is followed there.
  struct stat dir_st, existing, target;
  const bool dir_shared = fstat(dir_fd, &dir_st) == 0 && (dir_st.st_mode & S_IWOTH) != 0;
  if (fstatat(dir_fd, base, &existing, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(existing.st_mode)) {
    constexpr int kInPlace = O_WRONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
    const bool trusted = !dir_shared || existing.st_uid == geteuid() || existing.st_uid == 0;
    const bool link = S_ISLNK(existing.st_mode);
    // Where a link leads, followed only where no other user could have planted it.
    const bool followed = link && !dir_shared && fstatat(dir_fd, base, &target, 0) == 0;
    int err = -1;  // -1: replace it as a regular file would be (a link), or fail (a directory)
    if ((S_ISCHR(existing.st_mode) || S_ISFIFO(existing.st_mode)) && trusted) {
      err = WriteInPlace(openat(dir_fd, base, kInPlace | O_NOFOLLOW), data, size);
    } else if (followed && (S_ISCHR(target.st_mode) || S_ISFIFO(target.st_mode))) {
      err = WriteInPlace(openat(dir_fd, base, kInPlace), data, size);
    } else if (followed && S_ISREG(target.st_mode) && IsStreamName(path)) {
      // /dev/stdout of a process whose output goes to a file: append to that file, as
      // the process's own writes do, rather than replace the system's link.
      err = WriteInPlace(openat(dir_fd, base, kInPlace | O_APPEND), data, size);
    } else if (S_ISSOCK(existing.st_mode) || S_ISBLK(existing.st_mode)) {
      err = EINVAL;  // neither written nor replaced
    }
    if (err >= 0) {
      close(dir_fd);
      return err;
    }
  }
  char tmp[256 + 32];
  if (!TempName(base, tmp, sizeof(tmp))) {
    close(dir_fd);
    return ENAMETOOLONG;
  }
  // Every step below is relative to dir_fd, so the file lands in the directory just
  // checked even if its name is replaced meanwhile.
  constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int fd = openat(dir_fd, tmp, kFlags, 0600);
  if (fd < 0 && errno == EEXIST) {
    unlinkat(dir_fd, tmp, 0);
    fd = openat(dir_fd, tmp, kFlags, 0600);
  }
  if (fd < 0) {
    int err = errno;
    close(dir_fd);
    return err;
  }
  for (size_t off = 0; off < size;) {
    ssize_t w = write(fd, data + off, size - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      if (w == 0) errno = EIO;
      return Fail(dir_fd, tmp, fd);
    }
    off += static_cast<size_t>(w);
  }
  if (close(fd) != 0) return Fail(dir_fd, tmp, -1);
  if (renameat(dir_fd, tmp, dir_fd, base) != 0) return Fail(dir_fd, tmp, -1);
  close(dir_fd);
  return 0;
}

}  // namespace heapwarden
