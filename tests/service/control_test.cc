// control_test.cc: `heapwarden snapshot PID` and `heapwarden trim PID` against a running
// tracked process, and the one-line errors for processes they cannot talk to.
#include <dirent.h>
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "report_helpers.h"
#include "timeline_helpers.h"

namespace heapwarden::testutil {
namespace {

using nlohmann::json;

constexpr uint64_t kMiB = 1024 * 1024;

std::vector<std::string> ListFilesIn(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") names.push_back(e->d_name);
    }
    closedir(d);
  }
  return names;
}

std::string ControlDir() {
  const char* xdg = getenv("XDG_RUNTIME_DIR");
  if (xdg != nullptr && xdg[0] == '/' && access(xdg, W_OK) == 0) {
    return std::string(xdg) + "/heapwarden";
  }
  return "/tmp/heapwarden-" + std::to_string(geteuid());
}

// hold_and_churn under `heapwarden run`, its report final.json in `dir`, holding its
// buffer until Stop().
class HeldProgram {
 public:
  explicit HeldProgram(const TempDir& dir, const std::vector<std::string>& run_flags = {})
      : pid_file_(dir.File("pid")),
        stop_file_(dir.File("stop")),
        run_(UnderHeapwarden({.argv = {HW_PROGRAM_hold_and_churn, pid_file_, stop_file_}},
                             dir.File("final.json"), run_flags)) {}
  // Its pid once it has written it, or 0 when it never started.
  pid_t WaitStarted() const { return WaitForFile(pid_file_) ? ReadPid(pid_file_) : 0; }
  const CommandResult& Stop() {
    WriteFile(stop_file_, "stop\n");
    return run_.Wait();
  }

 private:
  const std::string pid_file_;  // before run_, which starts with them
  const std::string stop_file_;
  Background run_;
};

TEST(ControlTest, SnapshotOfARunningProcessListsItsLongLivedBuffer) {
  TempDir dir;
  const std::string report_path = dir.File("final.json");
  HeldProgram run(dir, {"--long-lived-s", "1"});
  const pid_t pid = run.WaitStarted();
  ASSERT_GT(pid, 0) << "the program never started";
  // The buffer is held from before the pid file: at ~2 s it is older than 1 s.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const std::string snapshot_path = dir.File("snap.json");
  CommandResult snap = RunCommand(
      {.argv = {HeapwardenPath(), "snapshot", std::to_string(pid), "-o", snapshot_path}});
  CommandResult trim = RunCommand({.argv = {HeapwardenPath(), "trim", std::to_string(pid)}});
  const CommandResult& finished = run.Stop();
  ASSERT_EQ(snap.exit_status, 0) << snap.Describe();
  EXPECT_NE(snap.err.find("written to " + snapshot_path), std::string::npos) << snap.err;
  EXPECT_EQ(finished.exit_status, 0) << finished.Describe();

  std::string error;
  std::optional<json> snapshot = LoadReport(snapshot_path, &error);
  ASSERT_TRUE(snapshot.has_value()) << error;
  EXPECT_EQ((*snapshot)["process"]["complete"], false);
  EXPECT_EQ((*snapshot)["process"]["pid"], pid);
  EXPECT_EQ((*snapshot)["heapwarden"]["symbolized"], true);
  const json& long_lived = (*snapshot)["long_lived"];
  uint64_t held = BytesWithFunction(*snapshot, long_lived, "hold_buffer", "bytes");
  EXPECT_EQ(held, 8 * kMiB) << long_lived.dump();
  for (const json& entry : long_lived) {
    if (StackHas(*snapshot, entry["stack"], "hold_buffer")) {
      EXPECT_GE(entry["oldest_age_s"].get<double>(), 1.0);
    }
  }
  // Churned blocks live for microseconds: never long-lived.
  EXPECT_EQ(BytesWithFunction(*snapshot, long_lived, "churn_once", "bytes"), 0u);

  // trim PID: RSS before/after, and the trim is in the process's final report.
  EXPECT_EQ(trim.exit_status, 0) << trim.Describe();
  EXPECT_NE(trim.out.find("rss before"), std::string::npos) << trim.out;
  EXPECT_NE(trim.out.find("released"), std::string::npos) << trim.out;
  std::optional<json> final_report = LoadReport(report_path, &error);
  ASSERT_TRUE(final_report.has_value()) << error;
  EXPECT_EQ((*final_report)["process"]["complete"], true);
  bool control_trim = false;
  for (const json& t : (*final_report)["trims"]) control_trim = control_trim || t["trigger"] == "control";
  EXPECT_TRUE(control_trim) << (*final_report)["trims"].dump();
  // The socket was there while it ran, and is gone now that it exited.
  std::string socket = (*final_report)["heapwarden"].value("control_socket", "");
  EXPECT_NE(socket.find(std::to_string(pid) + ".sock"), std::string::npos) << socket;
  EXPECT_FALSE(FileExists(socket)) << socket;
}

// A process that went idle (one thread, asleep in nanosleep, allocating nothing) still
// answers snapshot and trim at once: the control socket needs something that runs
// while the program does not call malloc, so the service thread must not wait for
// the allocation path to start it. (oom_hog "-": allocates 4 MiB, then sleeps.)
TEST(ControlTest, IdleSingleThreadedProcessAnswersSnapshotAndTrim) {
  TempDir dir;
  const std::string pid_file = dir.File("pid");
  Background run(UnderHeapwarden({.argv = {HW_PROGRAM_oom_hog, "-", pid_file, "4"}},
                                 dir.File("final.json")));
  ASSERT_TRUE(WaitForFile(pid_file)) << "the program never started";
  const pid_t pid = ReadPid(pid_file);
  // Asleep well past any coarse-clock check of the allocation path.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const std::string snapshot_path = dir.File("snap.json");
  const auto start = std::chrono::steady_clock::now();
  CommandResult snap = RunCommand({.argv = {HeapwardenPath(), "snapshot", std::to_string(pid),
                                            "-o", snapshot_path},
                                   .timeout_s = 60});
  CommandResult trim = RunCommand({.argv = {HeapwardenPath(), "trim", std::to_string(pid)},
                                   .timeout_s = 60});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  kill(pid, SIGKILL);
  run.Wait();
  ASSERT_EQ(snap.exit_status, 0) << snap.Describe();
  EXPECT_EQ(trim.exit_status, 0) << trim.Describe();
  EXPECT_LT(seconds, 20.0);
  std::string error;
  std::optional<json> snapshot = LoadReport(snapshot_path, &error);
  ASSERT_TRUE(snapshot.has_value()) << error;
  EXPECT_EQ((*snapshot)["process"]["pid"], pid);
  EXPECT_GE(BytesWithFunction(*snapshot, (*snapshot)["sites"], "fill_memory", "live_bytes"), 4 * kMiB);
}

// A client that connects and sends nothing holds the service thread for at most its
// short deadline, not the 5 s it once did: the next request is answered at once.
TEST(ControlTest, SilentClientDoesNotStallTheService) {
  TempDir dir;
  HeldProgram run(dir);
  const pid_t pid = run.WaitStarted();
  ASSERT_GT(pid, 0) << "the program never started";
  const std::string socket_path = ControlDir() + "/" + std::to_string(pid) + ".sock";
  for (int i = 0; i < 50 && !FileExists(socket_path); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  int silent = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path.c_str());
  ASSERT_EQ(connect(silent, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << socket_path;
  const auto start = std::chrono::steady_clock::now();
  CommandResult snap = RunCommand(
      {.argv = {HeapwardenPath(), "snapshot", std::to_string(pid), "-o", dir.File("snap.json")}});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  close(silent);
  run.Stop();
  EXPECT_EQ(snap.exit_status, 0) << snap.Describe();
  EXPECT_LT(seconds, 2.5) << "the service thread waited on the silent client";
}

// snapshot/trim of a stopped process: one clear line at once, not a wait of minutes.
TEST(ControlTest, StoppedProcessIsOneClearLineAtOnce) {
  TempDir dir;
  HeldProgram run(dir);
  const pid_t pid = run.WaitStarted();
  ASSERT_GT(pid, 0) << "the program never started";
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  kill(pid, SIGSTOP);
  const auto start = std::chrono::steady_clock::now();
  CommandResult trim = RunCommand({.argv = {HeapwardenPath(), "trim", std::to_string(pid)},
                                   .timeout_s = 60});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  kill(pid, SIGCONT);
  run.Stop();
  EXPECT_NE(trim.exit_status, 0) << trim.Describe();
  EXPECT_NE(trim.err.find("is stopped"), std::string::npos) << trim.err;
  EXPECT_LT(seconds, 5.0);
}

TEST(ControlTest, ProcessNotTrackedIsOneClearLine) {
  pid_t child = fork();
  if (child == 0) {
    execlp("sleep", "sleep", "30", static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(child, 0);
  CommandResult result = RunCommand({.argv = {HeapwardenPath(), "trim", std::to_string(child)}});
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_EQ(result.exit_status, 1) << result.Describe();
  EXPECT_NE(result.err.find("is not tracked by heapwarden"), std::string::npos) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
}

// A socket file named for `pid`, with nobody listening on it.
std::string MakeDeadSocket(pid_t pid) {
  std::string dir = ControlDir();
  mkdir(dir.c_str(), 0700);
  std::string path = dir + "/" + std::to_string(pid) + ".sock";
  unlink(path.c_str());
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  close(fd);  // the file stays, nobody listens: a stale socket
  return path;
}

// A runtime directory of the test's own, for a test that plants a stale socket: every
// tracked process removes the dead sockets of its directory when it starts
// (RemoveStaleSockets), and under `ctest -j2` another test's process did so between
// the plant and the client's look, so the client found nothing to remove.
class PrivateRuntimeDir {
 public:
  PrivateRuntimeDir() {
    const char* old = getenv("XDG_RUNTIME_DIR");
    had_old_ = old != nullptr;
    if (had_old_) old_ = old;
    setenv("XDG_RUNTIME_DIR", dir_.path().c_str(), 1);
  }
  ~PrivateRuntimeDir() {
    if (had_old_) {
      setenv("XDG_RUNTIME_DIR", old_.c_str(), 1);
    } else {
      unsetenv("XDG_RUNTIME_DIR");
    }
  }
  PrivateRuntimeDir(const PrivateRuntimeDir&) = delete;
  PrivateRuntimeDir& operator=(const PrivateRuntimeDir&) = delete;

 private:
  TempDir dir_;
  bool had_old_ = false;
  std::string old_;
};

TEST(ControlTest, StaleSocketOfAGoneProcessIsRemoved) {
  PrivateRuntimeDir runtime_dir;
  pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  waitpid(child, nullptr, 0);  // gone, its pid not yet reused (almost surely)
  std::string path = MakeDeadSocket(child);
  ASSERT_TRUE(FileExists(path));
  CommandResult result =
      RunCommand({.argv = {HeapwardenPath(), "snapshot", std::to_string(child), "-o", "/tmp/x.json"}});
  EXPECT_EQ(result.exit_status, 1) << result.Describe();
  EXPECT_NE(result.err.find("is gone; removed its stale control socket"), std::string::npos)
      << result.err;
  EXPECT_FALSE(FileExists(path));
}

TEST(ControlTest, StaleSocketOfALiveProcessIsRemoved) {
  PrivateRuntimeDir runtime_dir;
  pid_t child = fork();
  if (child == 0) {
    execlp("sleep", "sleep", "30", static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(child, 0);
  std::string path = MakeDeadSocket(child);
  CommandResult result = RunCommand({.argv = {HeapwardenPath(), "trim", std::to_string(child)}});
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_EQ(result.exit_status, 1) << result.Describe();
  EXPECT_NE(result.err.find("no longer serves heapwarden (stale control socket"), std::string::npos)
      << result.err;
  EXPECT_FALSE(FileExists(path));
}

// True when every uid of process `pid` (real, effective, saved, fs) is `uid`.
bool RunsAsUid(pid_t pid, uid_t uid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Uid:", 0) != 0) continue;
    std::istringstream ids(line.substr(4));
    uid_t id = 0;
    int matching = 0;
    while (ids >> id) matching += id == uid;
    return matching == 4;
  }
  return false;
}

TEST(ControlTest, OtherUsersProcessIsRefused) {
  pid_t other = -1;
  pid_t target = 1;  // init: root's, which is another user unless we are root
  if (geteuid() == 0) {
    other = fork();
    if (other == 0) {
      if (setgid(65534) != 0 || setuid(65534) != 0) _exit(1);
      execlp("sleep", "sleep", "30", static_cast<char*>(nullptr));
      _exit(127);
    }
    ASSERT_GT(other, 0);
    target = other;
    // Until it has dropped privileges it is still ours.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!RunsAsUid(other, 65534) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_TRUE(RunsAsUid(other, 65534)) << "the child never dropped privileges";
  }
  CommandResult result =
      RunCommand({.argv = {HeapwardenPath(), "snapshot", std::to_string(target)}});
  if (other > 0) {
    kill(other, SIGKILL);
    waitpid(other, nullptr, 0);
  }
  EXPECT_EQ(result.exit_status, 1) << result.Describe();
  EXPECT_NE(result.err.find("belongs to another user"), std::string::npos) << result.err;
}

// Another user made the socket directory first, or it has the wrong mode: the process
// must still be reachable (an abstract socket), not silently lose its control channel.
enum class SocketDirTrap { kForeignOwner, kWrongMode };

// Binds `count` listening abstract sockets named like the control socket of `pid`
// ("\0heapwarden/UID/PID.<16 hex>"): decoys another user could make. Returns their fds.
std::vector<int> BindDecoys(pid_t pid, int count) {
  std::vector<int> fds;
  for (int i = 0; i < count; ++i) {
    char name[96];
    int len = snprintf(name, sizeof(name), "heapwarden/%u/%d.%016x", geteuid(), pid, 0xdec0 + i);
    sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path + 1, name, static_cast<size_t>(len));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&addr),
                        static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + len)) == 0 &&
        listen(fd, 1) == 0) {
      fds.push_back(fd);
    } else if (fd >= 0) {
      close(fd);
    }
  }
  return fds;
}

void ExpectReachableDespite(SocketDirTrap trap, int decoys = 0) {
  TempDir dir;
  const std::string xdg = dir.File("xdg");
  ASSERT_EQ(mkdir(xdg.c_str(), 0700), 0);
  const std::string socket_dir = xdg + "/heapwarden";
  ASSERT_EQ(mkdir(socket_dir.c_str(), 0700), 0);
  if (trap == SocketDirTrap::kForeignOwner) {
    ASSERT_EQ(chown(socket_dir.c_str(), 65534, 65534), 0);
  } else {
    ASSERT_EQ(chmod(socket_dir.c_str(), 0755), 0);
  }
  const std::string pid_file = dir.File("pid"), stop_file = dir.File("stop");
  Command command = UnderHeapwarden({.argv = {HW_PROGRAM_hold_and_churn, pid_file, stop_file}},
                                    dir.File("final.json"));
  command.set_env["XDG_RUNTIME_DIR"] = xdg;
  Background run(command);
  ASSERT_TRUE(WaitForFile(pid_file)) << "the program never started";
  const pid_t pid = ReadPid(pid_file);
  const std::vector<int> decoy_fds = BindDecoys(pid, decoys);
  ASSERT_EQ(static_cast<int>(decoy_fds.size()), decoys);
  CommandResult snap;
  for (int i = 0; i < 25; ++i) {
    snap = RunCommand({.argv = {HeapwardenPath(), "snapshot", std::to_string(pid), "-o",
                                dir.File("snap.json")},
                       .set_env = {{"XDG_RUNTIME_DIR", xdg}}});
    if (snap.exit_status == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  for (int fd : decoy_fds) close(fd);
  WriteFile(stop_file, "stop\n");
  const CommandResult& finished = run.Wait();
  EXPECT_EQ(snap.exit_status, 0) << snap.Describe();
  EXPECT_EQ(finished.exit_status, 0) << finished.Describe();
  std::string error;
  std::optional<json> final_report = LoadReport(dir.File("final.json"), &error);
  ASSERT_TRUE(final_report.has_value()) << error;
  const std::string socket = (*final_report)["heapwarden"].value("control_socket", "");
  EXPECT_EQ(socket.rfind("@heapwarden/" + std::to_string(geteuid()) + "/" + std::to_string(pid) + ".", 0), 0u)
      << socket;
  EXPECT_TRUE(ListFilesIn(socket_dir).empty()) << "a socket was made in the untrusted directory";
}

TEST(ControlTest, SocketDirectoryOfAnotherUserFallsBackToAnAbstractSocket) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to make a directory of another user";
  ExpectReachableDespite(SocketDirTrap::kForeignOwner);
}

TEST(ControlTest, SocketDirectoryWithTheWrongModeFallsBackToAnAbstractSocket) {
  ExpectReachableDespite(SocketDirTrap::kWrongMode);
}

// Names like the real abstract socket's, bound by someone else (here: this test, a
// process that is not the tracked one): checked and passed over, however many.
TEST(ControlTest, DecoyAbstractSocketsDoNotHideTheRealOne) {
  ExpectReachableDespite(SocketDirTrap::kWrongMode, /*decoys=*/200);
}

// The attack itself: another user pre-creates /tmp/heapwarden-UID. Staged in a private
// mount namespace: a tmpfs of another owner is mounted on that one directory (made as
// heapwarden itself would make it), so other tests' sockets and the build -- which may
// itself lie under /tmp -- stay where they are.
TEST(ControlTest, PreCreatedTmpSocketDirectoryDoesNotTurnTheSocketOff) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for a mount namespace and a foreign owner";
  TempDir dir;
  const std::string hw = HeapwardenPath();
  const std::string t = dir.path();
  const std::string script =
      "mkdir -p -m 0700 /tmp/heapwarden-0 && mount -t tmpfs -o mode=0700,uid=65534 none "
      "/tmp/heapwarden-0 || exit 77; "
      "env -u XDG_RUNTIME_DIR " + hw + " run -o " + t + "/final.json -- " +
      HW_PROGRAM_hold_and_churn + " " + t + "/pid " + t + "/stop 2>/dev/null & "
      "for i in $(seq 100); do [ -s " + t + "/pid ] && break; sleep 0.1; done; "
      "s=1; for i in $(seq 25); do env -u XDG_RUNTIME_DIR " + hw + " snapshot $(cat " + t + "/pid) "
      "-o " + t + "/snap.json 2>" + t + "/err && { s=0; break; }; sleep 0.2; done; echo snapshot=$s; "
      "echo stop > " + t + "/stop; wait; ls -A /tmp/heapwarden-0 | wc -l; cat " + t + "/err";
  CommandResult r = RunCommand({.argv = {"unshare", "-m", "sh", "-c", script}, .timeout_s = 60});
  if (r.exit_status == 77 || r.err.find("unshare:") != std::string::npos) {
    GTEST_SKIP() << "no mount namespace here: " << r.err;
  }
  EXPECT_EQ(r.out.rfind("snapshot=0\n0\n", 0), 0u) << r.out << r.Describe();
}

TEST(ControlTest, NoSuchProcess) {
  CommandResult result = RunCommand({.argv = {HeapwardenPath(), "trim", "999999999"}});
  EXPECT_EQ(result.exit_status, 1) << result.Describe();
  EXPECT_NE(result.err.find("no process 999999999"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace heapwarden::testutil
