// child_process.cc: fork+exec of the tracked program, signal forwarding, waiting.
// Report side (tool).
#include "child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace heapwarden::tools {
namespace {

// Read by the forwarding handler. pid_t fits in sig_atomic_t (int) on Linux.
volatile sig_atomic_t forward_to_pid = 0;
// When >= 0, the handler hands the signal to the waiting loop through this pipe (so
// that a snapshot can be taken first) instead of forwarding it itself.
volatile sig_atomic_t signal_pipe = -1;

void ForwardSignal(int signal_number) {
  int saved_errno = errno;  // kill() may set it under the interrupted code's feet
  const unsigned char byte = static_cast<unsigned char>(signal_number);
  const int fd = signal_pipe;
  if (fd < 0 || write(fd, &byte, 1) != 1) {
    pid_t pid = forward_to_pid;
    if (pid > 0) kill(pid, signal_number);
  }
  errno = saved_errno;
}

// Waits for `pid` while passing on the signals that arrive through `signals` (the read
// end of the handler's pipe): `before_forward` first, then kill(). False when the
// kernel has no pidfd_open (Linux < 5.3): the caller then waits plainly.
bool WaitForwarding(pid_t pid, int signals, const BeforeForward& before_forward, int* status) {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return false;
  for (;;) {
    pollfd fds[2] = {{pidfd, POLLIN, 0}, {signals, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;  // cannot happen with valid descriptors: wait plainly below
    }
    if (fds[1].revents & POLLIN) {
      unsigned char pending[64];
      ssize_t n = read(signals, pending, sizeof pending);
      for (ssize_t i = 0; i < n; ++i) {
        before_forward(pid, pending[i]);
        kill(pid, pending[i]);
      }
    }
    if (fds[0].revents & POLLIN) {
      pid_t done = waitpid(pid, status, WNOHANG);
      if (done == pid) break;
      if (done < 0 && errno != EINTR) {
        *status = 0;
        break;
      }
    }
  }
  close(pidfd);
  return true;
}

std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> result;
  result.reserve(strings.size() + 1);
  for (const std::string& s : strings) result.push_back(const_cast<char*>(s.c_str()));
  result.push_back(nullptr);
  return result;
}

}  // namespace

absl::StatusOr<ChildResult> SpawnAndWait(const std::vector<std::string>& argv,
                                         const std::vector<std::string>& environment,
                                         const BeforeForward& before_forward) {
  // Everything the child needs is built before fork(), so the child only makes
  // async-signal-safe calls between fork() and exec().
  std::vector<char*> child_argv = CStrings(argv);
  std::vector<char*> child_env = CStrings(environment);

  // The child reports a failed exec through this pipe; a successful exec closes it
  // (O_CLOEXEC), which the parent reads as end-of-file.
  int exec_pipe[2];
  if (pipe2(exec_pipe, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }

  // SIGTERM/SIGHUP stay blocked until the child's pid is known to the handler: one
  // arriving in between is then forwarded rather than lost or sent to pid 0 (which
  // would be our whole process group).
  sigset_t forwarded;
  sigemptyset(&forwarded);
  sigaddset(&forwarded, SIGTERM);
  sigaddset(&forwarded, SIGHUP);
  sigset_t old_mask;
  sigprocmask(SIG_BLOCK, &forwarded, &old_mask);

  struct sigaction ignore = {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  struct sigaction old_int, old_quit;
  sigaction(SIGINT, &ignore, &old_int);
  sigaction(SIGQUIT, &ignore, &old_quit);

  const pid_t tool_pid = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    // A tool killed outright (SIGKILL: it forwards every other signal) takes the
    // program with it rather than leave it running unobserved, its report going into
    // a directory nobody will read. Checked again after the prctl: the tool may have
    // died before it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != tool_pid) _exit(127);
    // Child: the program gets the dispositions the tool was started with (SIG_IGN
    // under nohup stays SIG_IGN), then the original mask.
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGQUIT, &old_quit, nullptr);
    sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    close(exec_pipe[0]);
    execvpe(child_argv[0], child_argv.data(), child_env.data());
    int exec_errno = errno;
    ssize_t ignored = write(exec_pipe[1], &exec_errno, sizeof exec_errno);
    (void)ignored;
    _exit(127);
  }

  auto restore = [&] {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGQUIT, &old_quit, nullptr);
    sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  };
  if (pid < 0) {
    int fork_errno = errno;
    close(exec_pipe[0]);
    close(exec_pipe[1]);
    restore();
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(fork_errno)));
  }

  forward_to_pid = pid;
  int signal_fds[2] = {-1, -1};
  if (before_forward && pipe2(signal_fds, O_CLOEXEC | O_NONBLOCK) == 0) {
    signal_pipe = signal_fds[1];
  }
  struct sigaction forward = {};
  forward.sa_handler = ForwardSignal;
  sigemptyset(&forward.sa_mask);
  struct sigaction old_term, old_hup;
  sigaction(SIGTERM, &forward, &old_term);
  sigaction(SIGHUP, &forward, &old_hup);
  sigprocmask(SIG_SETMASK, &old_mask, nullptr);

  ChildResult result;
  result.pid = pid;
  close(exec_pipe[1]);
  int exec_errno = 0;
  ssize_t n;
  do {
    n = read(exec_pipe[0], &exec_errno, sizeof exec_errno);
  } while (n < 0 && errno == EINTR);
  close(exec_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof exec_errno)) result.exec_errno = exec_errno;

  int status = 0;
  if (signal_pipe < 0 || !WaitForwarding(pid, signal_fds[0], before_forward, &status)) {
    signal_pipe = -1;  // the handler forwards by itself from now on
    unsigned char early[64];
    ssize_t n = signal_fds[0] >= 0 ? read(signal_fds[0], early, sizeof early) : 0;
    for (ssize_t i = 0; i < n; ++i) kill(pid, early[i]);
    while (waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) {
        status = 0;
        break;
      }
    }
  }
  result.wait_status = status;

  // Block before clearing the pid so a late SIGTERM is not half-handled, then restore.
  sigprocmask(SIG_BLOCK, &forwarded, nullptr);
  forward_to_pid = 0;
  signal_pipe = -1;
  for (int fd : signal_fds) {
    if (fd >= 0) close(fd);
  }
  sigaction(SIGTERM, &old_term, nullptr);
  sigaction(SIGHUP, &old_hup, nullptr);
  restore();
  return result;
}

}  // namespace heapwarden::tools
