// control_socket.cc: see control_socket.h. Record side.
#include "record/service/control_socket.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "heapwarden/heapwarden.h"
#include "common/control_protocol.h"
#include "record/base/log.h"
#include "record/track/recorder.h"
#include "record/emit/report_writer.h"
#include "record/service/snapshot_writer.h"
#include "record/base/clock.h"

namespace heapwarden::internal {
namespace {

// How long one client may take to send its request line (and to take the reply).
constexpr int kRequestDeadlineMs = 200;

// mkdir 0700 if absent, then insist on a private directory owned by us. Returns 0 or
// an errno value (EPERM: exists but not private).
int EnsurePrivateDirectory(const char* dir) {
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) return errno;
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0) return errno;
  struct stat st;
  int err = 0;
  if (fstat(dfd, &st) != 0) {
    err = errno;
  } else if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
    err = EPERM;
  }
  close(dfd);
  return err;
}

// Removes sockets left by processes killed before they could (the OOM killer's
// victims, for one), so the directory does not fill up over months. A socket is stale
// only when its process is gone and nobody listens on it: a process in another pid
// namespace sharing this directory still answers connect(). At most kMaxScan entries.
void RemoveStaleSockets(const char* dir) {
  constexpr int kMaxScan = 256;
  // getdents64 into a stack buffer, not opendir: the directory stream is malloc'd, and
  // the service thread's first malloc makes glibc give it an arena of its own (64 MiB
  // of address space, which a program under ulimit -v then cannot have).
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return;
  alignas(8) char buf[4096];
  int scanned = 0;
  for (;;) {
    long got = syscall(SYS_getdents64, dfd, buf, sizeof(buf));
    if (got <= 0) break;
    for (long off = 0; off < got && scanned < kMaxScan; ++scanned) {
      const auto* e = reinterpret_cast<const struct dirent64*>(buf + off);
      off += e->d_reclen;
      uint64_t pid = 0;
      const char* p = e->d_name;
      while (*p >= '0' && *p <= '9') pid = pid * 10 + static_cast<uint64_t>(*p++ - '0');
      if (p == e->d_name || strcmp(p, ".sock") != 0 || pid == 0 || pid > 0x7fffffff) continue;
      if (kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
      char path[128];
      if (!ControlSocketPath(path, sizeof(path), dir, pid)) continue;
      int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) break;
      sockaddr_un addr = {};
      addr.sun_family = AF_UNIX;
      memcpy(addr.sun_path, path, strlen(path) + 1);
      if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 && errno == ECONNREFUSED) {
        unlink(path);
      }
      close(fd);
    }
    if (scanned >= kMaxScan) break;
  }
  close(dfd);
}

void Reply(int fd, const char* line) {
  size_t len = strlen(line);
  for (size_t off = 0; off < len;) {
    ssize_t n = send(fd, line + off, len - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

// Reads one '\n'-terminated line (without it) into buf. False on EOF, error, a line
// too long, or kRequestDeadlineMs passing (for the whole line, not per byte: a client
// that connects and sends nothing, or dribbles, must not hold up the service thread's
// timeline and snapshots).
bool ReadLine(int fd, char* buf, size_t size) {
  const uint64_t deadline = NowNs() + kRequestDeadlineMs * 1000000ull;
  size_t len = 0;
  while (len + 1 < size) {
    const uint64_t now = NowNs();
    if (now >= deadline) return false;
    pollfd p = {fd, POLLIN, 0};
    int ready = poll(&p, 1, static_cast<int>((deadline - now + 999999) / 1000000));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    ssize_t n = recv(fd, buf + len, size - 1 - len, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    len += static_cast<size_t>(n);
    buf[len] = '\0';
    char* eol = static_cast<char*>(memchr(buf, '\n', len));
    if (eol != nullptr) {
      *eol = '\0';
      return true;
    }
  }
  return false;
}

void Handle(Recorder& recorder, int fd, char* request) {
  char reply[kMaxControlLine];
  size_t len = 0;
  if (strcmp(request, "ping") == 0) {
    AppendText(reply, sizeof(reply), &len, "ok heapwarden ");
    AppendDecimal(reply, sizeof(reply), &len, static_cast<uint64_t>(getpid()));
  } else if (strcmp(request, "snapshot") == 0 || strncmp(request, "snapshot ", 9) == 0) {
    char path[4096 + 64];
    int err;
    if (request[8] == ' ') {
      const char* given = request + 9;
      if (given[0] != '/' || strlen(given) >= sizeof(path)) {
        Reply(fd, "error the snapshot path must be absolute\n");
        return;
      }
      memcpy(path, given, strlen(given) + 1);
      err = recorder.WriteReport(path, /*complete=*/false);
    } else {
      // The output path: like a periodic snapshot, never over the final report.
      recorder.OutputPath(path, sizeof(path));
      err = WriteOutputSnapshot(recorder);
    }
    if (err != 0) {
      AppendText(reply, sizeof(reply), &len, "error errno ");
      AppendDecimal(reply, sizeof(reply), &len, static_cast<uint64_t>(err));
      AppendText(reply, sizeof(reply), &len, " writing ");
      AppendText(reply, sizeof(reply), &len, path);
    } else {
      AppendText(reply, sizeof(reply), &len, "ok ");
      AppendText(reply, sizeof(reply), &len, path);
    }
  } else if (strcmp(request, "trim") == 0) {
    TrimRecord trim = recorder.Trim(kTrimTriggerControl);
    AppendText(reply, sizeof(reply), &len, "ok ");
    AppendDecimal(reply, sizeof(reply), &len, trim.rss_before);
    AppendText(reply, sizeof(reply), &len, " ");
    AppendDecimal(reply, sizeof(reply), &len, trim.rss_after);
    AppendText(reply, sizeof(reply), &len, " ");
    AppendDecimal(reply, sizeof(reply), &len,
                  trim.rss_before > trim.rss_after ? trim.rss_before - trim.rss_after : 0);
  } else if (strcmp(request, "stats") == 0) {
    struct heapwarden_stats stats;
    recorder.FillStats(&stats);
    AppendText(reply, sizeof(reply), &len, "ok live_bytes=");
    AppendDecimal(reply, sizeof(reply), &len, stats.live_bytes);
    AppendText(reply, sizeof(reply), &len, " peak_live_bytes=");
    AppendDecimal(reply, sizeof(reply), &len, stats.peak_live_bytes);
    AppendText(reply, sizeof(reply), &len, " rss_bytes=");
    AppendDecimal(reply, sizeof(reply), &len, stats.rss_bytes);
    AppendText(reply, sizeof(reply), &len, " retained_bytes=");
    AppendDecimal(reply, sizeof(reply), &len, stats.retained_bytes);
  } else {
    AppendText(reply, sizeof(reply), &len, "error unknown request");
  }
  AppendText(reply, sizeof(reply), &len, "\n");
  Reply(fd, reply);
}

}  // namespace

void ControlSocket::Configure(const char* xdg_runtime_dir) {
  xdg_runtime_dir_[0] = '\0';
  if (xdg_runtime_dir != nullptr && strlen(xdg_runtime_dir) < sizeof(xdg_runtime_dir_)) {
    memcpy(xdg_runtime_dir_, xdg_runtime_dir, strlen(xdg_runtime_dir) + 1);
  }
}

namespace {

// A listening socket at `addr` (of `addr_len` bytes), or -1 with errno set.
int Listen(const sockaddr_un& addr, socklen_t addr_len) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), addr_len) != 0 || listen(fd, 8) != 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

// Listens on DIRECTORY/PID.sock in the private directory `dir`.
int ListenInDirectory(const char* dir, const char* path) {
  RemoveStaleSockets(dir);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path, strlen(path) + 1);
  // A file of this name is a leftover: of a killed process that had our pid, or of
  // this very process before it exec'd.
  unlink(path);
  return Listen(addr, sizeof(addr));
}

// Listens on "\0heapwarden/UID/PID.RANDOM" and writes "@heapwarden/..." (the way
// /proc/net/unix shows it) to `shown`. The random part is what keeps another user, who
// can bind any abstract name, from taking ours first.
int ListenAbstract(pid_t pid, char* shown, size_t shown_size) {
  char name[96];
  if (!ControlAbstractPrefix(name, sizeof(name), geteuid(), static_cast<uint64_t>(pid))) return -1;
  uint64_t random = 0;
  if (getrandom(&random, sizeof(random), GRND_NONBLOCK) != sizeof(random)) {
    random = NowNs() * 0x9e3779b97f4a7c15ull ^ reinterpret_cast<uintptr_t>(&random);
  }
  size_t len = strlen(name);
  for (int shift = 60; shift >= 0; shift -= 4) name[len++] = "0123456789abcdef"[(random >> shift) & 15];
  name[len] = '\0';
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path + 1, name, len);  // sun_path[0] == '\0': abstract
  int fd = Listen(addr, static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + len));
  if (fd >= 0 && len + 2 <= shown_size) {
    shown[0] = '@';
    memcpy(shown + 1, name, len + 1);
  }
  return fd;
}

}  // namespace

bool ControlSocket::Open() {
  const pid_t pid = getpid();
  char dir[sizeof(xdg_runtime_dir_) + 32];
  char path[sizeof(path_)];
  // $XDG_RUNTIME_DIR/heapwarden first; /tmp/heapwarden-UID when that is unset, does
  // not exist or gives too long a socket path.
  bool ok = ControlDirectory(dir, sizeof(dir), xdg_runtime_dir_, geteuid()) &&
            ControlSocketPath(path, sizeof(path), dir, static_cast<uint64_t>(pid));
  int dir_err = ok ? EnsurePrivateDirectory(dir) : ENAMETOOLONG;
  if (dir_err != 0 && dir_err != EPERM && xdg_runtime_dir_[0] == '/') {
    ok = ControlDirectory(dir, sizeof(dir), nullptr, geteuid()) &&
         ControlSocketPath(path, sizeof(path), dir, static_cast<uint64_t>(pid));
    dir_err = ok ? EnsurePrivateDirectory(dir) : ENAMETOOLONG;
  }
  int fd = dir_err == 0 ? ListenInDirectory(dir, path) : -1;
  if (fd < 0) {
    // No private directory (another user made /tmp/heapwarden-UID first, or it has
    // the wrong mode), or no socket in it: a name in no directory, which nobody can
    // pre-empt, rather than no control socket at all.
    fd = ListenAbstract(pid, path, sizeof(path));
    if (fd < 0) {
      Warn("control socket off: cannot listen (errno %d)", errno);
      return false;
    }
  }
  struct stat st;
  if (fstat(fd, &st) == 0) {
    dev_ = st.st_dev;
    ino_ = st.st_ino;
  }
  memcpy(path_, path, strlen(path) + 1);
  owner_pid_ = pid;
  fd_ = fd;
  return true;
}

bool ControlSocket::StillOurs() const {
  if (fd_ < 0) return false;
  struct stat st;
  return fstat(fd_, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == dev_ && st.st_ino == ino_;
}

void ControlSocket::ServeOne(Recorder& recorder) {
  int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (client < 0) return;
  // The reply is one short line: it fits the socket's buffer unless the client
  // stopped reading, which must not stall the thread either.
  timeval timeout = {0, kRequestDeadlineMs * 1000};
  setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  ucred peer = {};
  socklen_t peer_len = sizeof(peer);
  if (getsockopt(client, SOL_SOCKET, SO_PEERCRED, &peer, &peer_len) != 0 ||
      peer.uid != geteuid()) {
    Reply(client, "error permission denied: the client is not the same user\n");
    close(client);
    return;
  }
  char request[kMaxControlLine];
  if (ReadLine(client, request, sizeof(request))) Handle(recorder, client, request);
  close(client);
}

void ControlSocket::Remove() {
  if (fd_ < 0) return;
  // An abstract socket ('@') has no file: its name goes with the descriptor.
  if (owner_pid_ == getpid() && path_[0] == '/') unlink(path_);
  // The descriptor stays open: the service thread may be polling it, and closing a
  // number another thread uses could close the program's next file instead.
  owner_pid_ = 0;
}

void ControlSocket::ForgetAfterFork() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  owner_pid_ = 0;
  path_[0] = '\0';
}

}  // namespace heapwarden::internal
