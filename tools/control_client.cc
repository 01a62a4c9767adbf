// control_client.cc: see control_client.h. Report side (tool).
#include "control_client.h"

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/control_protocol.h"
#include "temp_dir.h"

namespace heapwarden::tools {
namespace {

using internal::ControlAbstractPrefix;
using internal::ControlDirectory;
using internal::ControlSocketPath;

// The command name of `pid` ("python3"), or "".
std::string ProcessName(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/comm"));
  std::string name;
  std::getline(in, name);
  return name;
}

std::string Describe(pid_t pid) {
  std::string name = ProcessName(pid);
  return name.empty() ? absl::StrCat("process ", pid) : absl::StrCat("process ", pid, " (", name, ")");
}

// XDG_RUNTIME_DIR as the target process had it at start, or "".
std::string TargetRuntimeDir(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/environ"), std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  for (absl::string_view entry : absl::StrSplit(buffer.str(), '\0')) {
    if (absl::ConsumePrefix(&entry, "XDG_RUNTIME_DIR=")) return std::string(entry);
  }
  return "";
}

// Where the process's socket may be, most likely first: the directory its own
// environment chose, then ours, then the /tmp fallback (which it also uses when its
// runtime directory does not exist).
std::vector<std::string> CandidateSockets(pid_t pid) {
  std::vector<std::string> paths;
  const char* own = getenv("XDG_RUNTIME_DIR");
  for (const std::string& runtime_dir :
       {TargetRuntimeDir(pid), std::string(own ? own : ""), std::string()}) {
    char dir[1024];
    char path[1200];
    if (!ControlDirectory(dir, sizeof(dir), runtime_dir.c_str(), geteuid()) ||
        !ControlSocketPath(path, sizeof(path), dir, static_cast<uint64_t>(pid))) {
      continue;
    }
    bool seen = false;
    for (const std::string& p : paths) seen = seen || p == path;
    if (!seen) paths.emplace_back(path);
  }
  return paths;
}

// The inodes of the sockets `pid` holds open ("socket:[INODE]" in /proc/PID/fd); empty
// when its descriptors cannot be read.
std::vector<std::string> SocketInodes(pid_t pid) {
  std::vector<std::string> inodes;
  const std::string fd_dir = absl::StrCat("/proc/", pid, "/fd");
  DIR* dir = opendir(fd_dir.c_str());
  if (dir == nullptr) return inodes;
  while (dirent* entry = readdir(dir)) {
    char target[64];
    ssize_t n = readlinkat(dirfd(dir), entry->d_name, target, sizeof(target) - 1);
    if (n <= 0) continue;
    absl::string_view link(target, static_cast<size_t>(n));
    if (absl::ConsumePrefix(&link, "socket:[") && absl::ConsumeSuffix(&link, "]")) {
      inodes.emplace_back(link);
    }
  }
  closedir(dir);
  return inodes;
}

// The abstract control sockets (control_protocol.h) named for `pid` and our uid, as
// /proc/net/unix shows them ("@heapwarden/UID/PID.RANDOM"), the ones `pid` itself holds
// first. Anyone can bind such a name (even many of them, to hide the real one among
// decoys): the listener's credentials are checked after connecting.
std::vector<std::string> AbstractSockets(pid_t pid) {
  char prefix[96];
  std::vector<std::string> held, others;
  if (!ControlAbstractPrefix(prefix, sizeof(prefix), geteuid(), static_cast<uint64_t>(pid))) {
    return held;
  }
  const std::string wanted = absl::StrCat("@", prefix);
  const std::vector<std::string> inodes = SocketInodes(pid);
  std::ifstream in("/proc/net/unix");
  std::string line;
  while (std::getline(in, line)) {
    // "Num RefCount Protocol Flags Type St Inode Path"
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields.size() != 8 || !absl::StartsWith(fields[7], wanted) ||
        fields[7].size() != wanted.size() + 16) {
      continue;
    }
    bool ours = false;
    for (const std::string& inode : inodes) ours = ours || fields[6] == inode;
    (ours ? held : others).emplace_back(fields[7]);
  }
  // Without access to its descriptors, try a bounded number of the others.
  if (held.empty() && inodes.empty()) {
    if (others.size() > 64) others.resize(64);
    return others;
  }
  return held;
}

// Connects to a socket path, or to an abstract name given as "@name". Returns the
// descriptor, or -1 with errno set.
int ConnectTo(const std::string& name) {
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (name.empty() || name.size() >= sizeof(addr.sun_path)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  std::memcpy(addr.sun_path, name.c_str(), name.size() + 1);
  socklen_t len = sizeof(addr);
  if (name[0] == '@') {
    addr.sun_path[0] = '\0';
    len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

// True when the process listening at the other end of `fd` is `pid`, run by us.
bool PeerIs(int fd, pid_t pid) {
  ucred peer = {};
  socklen_t peer_len = sizeof(peer);
  return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &peer_len) == 0 && peer.pid == pid &&
         peer.uid == geteuid();
}

// A socket file we may trust: in a directory owned by us with no group/other access.
bool InPrivateDirectory(const std::string& socket_path) {
  std::string dir = socket_path.substr(0, socket_path.rfind('/'));
  struct stat st;
  return lstat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
         (st.st_mode & 077) == 0;
}

bool SendAll(int fd, const std::string& text) {
  for (size_t off = 0; off < text.size();) {
    ssize_t n = send(fd, text.data() + off, text.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// True when `pid` is stopped (SIGSTOP, SIGTSTP, a tracer): it cannot answer until it
// is continued, however long one waits.
bool ProcessStopped(pid_t pid) {
  std::ifstream stat_file(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  size_t paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() &&
         (text[paren + 2] == 'T' || text[paren + 2] == 't');
}

absl::Status StoppedError(pid_t pid) {
  return absl::FailedPreconditionError(absl::StrCat(
      "process ", pid, " is stopped (SIGSTOP, Ctrl-Z or a debugger) and cannot answer; "
      "continue it first (kill -CONT ", pid, ")"));
}

// Reads up to the first '\n' within timeout_s; false on timeout, error or EOF first,
// or when the process stops (*stopped is then set).
bool ReadReply(int fd, pid_t pid, int timeout_s, std::string* line, bool* stopped) {
  char buf[4096];
  int waited_ms = 0;
  for (;;) {
    // In slices, so that a process that stops meanwhile is noticed.
    constexpr int kSliceMs = 500;
    pollfd p = {fd, POLLIN, 0};
    int ready = poll(&p, 1, kSliceMs);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return false;
    if (ready == 0) {
      waited_ms += kSliceMs;
      if (ProcessStopped(pid)) {
        *stopped = true;
        return false;
      }
      if (waited_ms >= timeout_s * 1000) return false;
      continue;
    }
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    line->append(buf, static_cast<size_t>(n));
    size_t eol = line->find('\n');
    if (eol != std::string::npos) {
      line->resize(eol);
      return true;
    }
  }
}

}  // namespace

absl::StatusOr<pid_t> ParsePid(const std::string& text) {
  int pid = 0;
  if (!absl::SimpleAtoi(text, &pid) || pid <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not a process id"));
  }
  return static_cast<pid_t>(pid);
}

absl::StatusOr<std::string> ControlRequest(pid_t pid, const std::string& request, int timeout_s) {
  const std::vector<std::string> candidates = CandidateSockets(pid);
  struct stat proc;
  if (stat(absl::StrCat("/proc/", pid).c_str(), &proc) != 0) {
    // Gone: a socket it left behind is stale.
    for (const std::string& path : candidates) {
      if (InPrivateDirectory(path) && unlink(path.c_str()) == 0) {
        return absl::NotFoundError(absl::StrCat("process ", pid,
                                                " is gone; removed its stale control socket ", path));
      }
    }
    return absl::NotFoundError(absl::StrCat("no process ", pid));
  }
  if (proc.st_uid != geteuid()) {
    return absl::PermissionDeniedError(
        absl::StrCat(Describe(pid), " belongs to another user (uid ", proc.st_uid,
                     "); heapwarden talks only to the caller's own processes"));
  }
  std::string socket_path;
  for (const std::string& path : candidates) {
    struct stat st;
    if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && InPrivateDirectory(path)) {
      socket_path = path;
      break;
    }
  }
  std::vector<std::string> abstract = socket_path.empty() ? AbstractSockets(pid) : std::vector<std::string>();
  if (socket_path.empty() && abstract.empty()) {
    // `heapwarden run`'s own pid is a common mistake: name the tracked child instead.
    if (ProcessName(pid) == "heapwarden") {
      std::ifstream children(absl::StrCat("/proc/", pid, "/task/", pid, "/children"));
      std::string child;
      // Not the watcher that removes run's temporary directory (temp_dir.h).
      while (children >> child && ProcessName(std::stoi(child)) == kWatcherName) {
      }
      if (!child.empty() && ProcessName(std::stoi(child)) != kWatcherName) {
        return absl::NotFoundError(absl::StrCat(
            "process ", pid, " is the heapwarden tool itself; the process it tracks is ", child));
      }
    }
    return absl::NotFoundError(absl::StrCat(
        Describe(pid), " is not tracked by heapwarden: it has no control socket (start it "
                       "under `heapwarden run`, with control=on)"));
  }
  if (ProcessStopped(pid)) return StoppedError(pid);
  int fd = -1;
  if (!socket_path.empty()) {
    fd = ConnectTo(socket_path);
    if (fd < 0) {
      int err = errno;
      if (err == ECONNREFUSED || err == ENOENT) {
        // Nobody listens: the process exec'd a program without heapwarden, or the
        // socket outlived a process whose pid was reused.
        unlink(socket_path.c_str());
        return absl::UnavailableError(absl::StrCat(
            Describe(pid), " no longer serves heapwarden (stale control socket ", socket_path,
            " removed)"));
      }
      return absl::UnavailableError(
          absl::StrCat("cannot connect to ", socket_path, ": ", std::strerror(err)));
    }
  } else {
    for (const std::string& name : abstract) {
      fd = ConnectTo(name);
      if (fd >= 0 && PeerIs(fd, pid)) {
        socket_path = name;
        break;
      }
      if (fd >= 0) close(fd);
      fd = -1;
    }
    if (fd < 0) {
      return absl::UnavailableError(
          absl::StrCat(Describe(pid), " does not answer on its control socket ", abstract[0]));
    }
  }
  // Whoever made the socket file, the listener must be the process asked for, run by
  // the same user.
  if (!PeerIs(fd, pid)) {
    close(fd);
    return absl::PermissionDeniedError(absl::StrCat(
        "the control socket ", socket_path, " is not served by process ", pid, " of this user"));
  }
  std::string reply;
  bool stopped = false;
  bool ok = SendAll(fd, request + "\n") && ReadReply(fd, pid, timeout_s, &reply, &stopped);
  close(fd);
  if (stopped) return StoppedError(pid);
  if (!ok) {
    return absl::DeadlineExceededError(
        absl::StrCat(Describe(pid), " did not answer within ", timeout_s, " s"));
  }
  absl::string_view text = reply;
  if (absl::ConsumePrefix(&text, "ok")) {
    absl::ConsumePrefix(&text, " ");
    return std::string(text);
  }
  absl::ConsumePrefix(&text, "error ");
  // "errno 13 writing /x/y.json" -> "cannot write /x/y.json: Permission denied"
  std::vector<std::string> words = absl::StrSplit(text, absl::MaxSplits(' ', 3));
  int err = 0;
  if (words.size() == 4 && words[0] == "errno" && absl::SimpleAtoi(words[1], &err) &&
      words[2] == "writing") {
    return absl::FailedPreconditionError(
        absl::StrCat(Describe(pid), ": cannot write ", words[3], ": ", std::strerror(err)));
  }
  return absl::FailedPreconditionError(absl::StrCat(Describe(pid), ": ", text));
}

}  // namespace heapwarden::tools
