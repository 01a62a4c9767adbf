// temp_dir.cc: the private directory the preload writes reports into.
// Report side (tool).
#include "temp_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace heapwarden::tools {

absl::StatusOr<std::string> MakePrivateTempDir() {
  std::string base = "/tmp";
  if (const char* tmpdir = getenv("TMPDIR"); tmpdir != nullptr && tmpdir[0] == '/') {
    struct stat st;
    if (std::strchr(tmpdir, ':') == nullptr && stat(tmpdir, &st) == 0 && S_ISDIR(st.st_mode)) {
      base = tmpdir;
    }
  }
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  std::string path = absl::StrCat(base == "/" ? "" : base, "/heapwarden.XXXXXX");
  // mkdtemp creates it 0700, so no other user can read the reports or plant files.
  if (mkdtemp(path.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot create a temporary directory in ", base, ": ", std::strerror(errno)));
  }
  return path;
}

namespace {

// Removes the files of the directory open as `dir_fd`, then the directory itself if
// `path` still names it (another directory may have taken the name since).
void RemoveOpenDirectory(int dir_fd, const char* path) {
  int list_fd = dup(dir_fd);
  if (DIR* handle = list_fd >= 0 ? fdopendir(list_fd) : nullptr) {
    while (struct dirent* entry = readdir(handle)) {
      if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) {
        unlinkat(dir_fd, entry->d_name, 0);
      }
    }
    closedir(handle);
  } else if (list_fd >= 0) {
    close(list_fd);
  }
  struct stat held, named;
  if (fstat(dir_fd, &held) == 0 && lstat(path, &named) == 0 && held.st_dev == named.st_dev &&
      held.st_ino == named.st_ino) {
    rmdir(path);
  }
}

}  // namespace

TempDirWatcher RemoveWhenToolDies(const std::string& dir) {
  TempDirWatcher watcher;
  int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int alive[2];
  if (dir_fd < 0) return watcher;
  if (pipe2(alive, O_CLOEXEC) != 0) {
    close(dir_fd);
    return watcher;
  }
  pid_t pid = fork();
  if (pid == 0) {
    // The watcher: its own session, so the terminal's Ctrl-C and hang-up reach only
    // the tool and the program; no descriptor of the tool's but the pipe and the
    // directory, so it holds no terminal or pipeline open. Named, so that the control
    // client does not take it for the tracked program (run's other child).
    setsid();
    prctl(PR_SET_NAME, kWatcherName);
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    close(alive[1]);
    // Both kept descriptors move above 100 first, so that neither is overwritten
    // while the standard ones are pointed at /dev/null and the rest closed.
    const int watched = fcntl(alive[0], F_DUPFD, 100);
    const int held = fcntl(dir_fd, F_DUPFD, 100);
    if (watched < 0 || held < 0) _exit(1);
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd = 0; fd < 3; ++fd) dup2(null_fd, fd);
    close_range(3, 99, 0);
    close_range(static_cast<unsigned>(std::max(watched, held)) + 1, ~0u, 0);
    if (chdir("/") != 0) _exit(1);
    // The tool never writes: read() returns 0 when its copy of the write end closes,
    // which happens however it ends, SIGKILL included.
    for (;;) {
      char byte;
      ssize_t n = read(watched, &byte, 1);
      if (n == 0 || (n < 0 && errno != EINTR)) break;
    }
    RemoveOpenDirectory(held, dir.c_str());
    _exit(0);
  }
  close(alive[0]);
  close(dir_fd);
  if (pid < 0) {
    close(alive[1]);
    return watcher;
  }
  // The write end stays open (close-on-exec: the program never holds it) until
  // StopWatcher().
  watcher.pid = pid;
  watcher.alive_fd = alive[1];
  return watcher;
}

void StopWatcher(TempDirWatcher& watcher) {
  if (watcher.alive_fd >= 0) close(watcher.alive_fd);
  if (watcher.pid > 0) {
    while (waitpid(watcher.pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  watcher = TempDirWatcher{};
}

std::vector<std::string> ListFiles(const std::string& dir) {
  std::vector<std::string> names;
  DIR* handle = opendir(dir.c_str());
  if (handle == nullptr) return names;
  while (struct dirent* entry = readdir(handle)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  closedir(handle);
  std::sort(names.begin(), names.end());
  return names;
}

void RemoveTempDir(const std::string& dir) {
  for (const std::string& name : ListFiles(dir)) unlink(absl::StrCat(dir, "/", name).c_str());
  rmdir(dir.c_str());
}

}  // namespace heapwarden::tools
