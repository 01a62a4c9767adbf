// trim_test_helpers.cc: see trim_test_helpers.h.
#include "trim_test_helpers.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace heapwarden::testutil {

std::map<std::string, std::string> KeyValues(const std::string &out) {
  std::map<std::string, std::string> values;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    size_t eq = line.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    std::string key = line.substr(0, eq);
    if (key.find(' ') != std::string::npos) continue;
    std::string value = line.substr(eq + 1);
    size_t cut = value.find_first_of(" #");
    values[key] = cut == std::string::npos ? value : value.substr(0, cut);
  }
  return values;
}

int64_t IntValue(const std::map<std::string, std::string> &values, const std::string &key) {
  auto it = values.find(key);
  if (it == values.end() || it->second.empty()) return -1;
  return std::strtoll(it->second.c_str(), nullptr, 10);
}

int64_t VmRssOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoll(line.c_str() + 6, nullptr, 10) * 1024;
  }
  return -1;
}

Background::Background(const Command &command) {
  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) return;
  err_path_ = dir_.File("stderr");
  pid_ = fork();
  if (pid_ == 0) {
    setpgid(0, 0);
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    int err = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (err >= 0) dup2(err, 2);
    for (const auto &[key, value] : command.set_env) setenv(key.c_str(), value.c_str(), 1);
    for (const auto &key : command.unset_env) unsetenv(key.c_str());
    if (!command.cwd.empty() && chdir(command.cwd.c_str()) != 0) _exit(126);
    std::vector<char *> argv;
    for (const auto &arg : command.argv) argv.push_back(const_cast<char *>(arg.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  stdin_fd_ = in_pipe[1];
  stdout_fd_ = out_pipe[0];
}

Background::~Background() {
  if (stdin_fd_ >= 0) close(stdin_fd_);
  if (stdout_fd_ >= 0) close(stdout_fd_);
  if (pid_ > 0) {
    kill(-pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

bool Background::WaitForLine(const std::string &line, int timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  size_t scanned = 0;
  for (;;) {
    // Complete lines only.
    size_t start = scanned;
    for (size_t nl; (nl = out_.find('\n', start)) != std::string::npos; start = nl + 1) {
      if (out_.compare(start, nl - start, line) == 0) return true;
      scanned = nl + 1;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || stdout_fd_ < 0) return false;
    pollfd p = {stdout_fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    ssize_t n = read(stdout_fd_, buf, sizeof buf);
    if (n <= 0) return false;
    out_.append(buf, static_cast<size_t>(n));
  }
}

void Background::WriteLine(const std::string &line) {
  std::string text = line + "\n";
  if (stdin_fd_ >= 0 && write(stdin_fd_, text.data(), text.size()) < 0) {
    // The process is gone: Wait() tells.
  }
}

int Background::Wait(int timeout_s) {
  if (stdin_fd_ >= 0) {
    close(stdin_fd_);
    stdin_fd_ = -1;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (stdout_fd_ >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p = {stdout_fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    ssize_t n = read(stdout_fd_, buf, sizeof buf);
    if (n <= 0) {
      close(stdout_fd_);
      stdout_fd_ = -1;
      break;
    }
    out_.append(buf, static_cast<size_t>(n));
  }
  if (pid_ <= 0) return -1;
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(-pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    usleep(10000);
  }
  pid_ = -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string Background::err() const { return ReadFile(err_path_); }

std::vector<const nlohmann::json *> SitesWithFunction(const nlohmann::json &report,
                                                      const std::string &source,
                                                      const std::string &function, int depth) {
  std::vector<const nlohmann::json *> found;
  if (!report.contains("sites")) return found;
  for (const auto &site : report["sites"]) {
    if (site.value("source", std::string()) != source) continue;
    const nlohmann::json *stack = FindStack(report, site.value("stack", int64_t{-1}));
    if (stack != nullptr && FindFrame(*stack, function, depth) != nullptr) found.push_back(&site);
  }
  return found;
}

std::vector<const nlohmann::json *> TrimsWithTrigger(const nlohmann::json &report,
                                                     const std::string &trigger) {
  std::vector<const nlohmann::json *> found;
  if (!report.contains("trims")) return found;
  for (const auto &trim : report["trims"]) {
    if (trim.value("trigger", std::string()) == trigger) found.push_back(&trim);
  }
  return found;
}

std::string DebianPython() {
  const char *python = "/usr/bin/python3";
  if (access(python, X_OK) != 0) return "";
  CommandResult probe = RunCommand(Command{.argv = {python, "-c", "import numpy, pandas"}});
  return probe.exit_status == 0 ? python : "";
}

}  // namespace heapwarden::testutil
