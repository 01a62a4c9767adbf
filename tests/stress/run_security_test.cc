// run_security_test.cc: the directories `heapwarden run` hands the program. A daemon
// that outlives `run` must not write its report through a name another user took over
// after `run` removed its temporary directory (a symbolic link to anywhere, or a
// directory of their own), and a `run` killed outright leaves no directory behind.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "report_helpers.h"

namespace heapwarden::testutil {
namespace {

constexpr uid_t kNobody = 65534;

std::string ProgramPath(const std::string& name) {
  return std::string(HW_STRESS_PROGRAMS_DIR) + "/stress_" + name;
}

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    closedir(d);
  }
  return names;
}

// True once `pid` has ended (gone, or a zombie nobody reaped yet), within timeout_s.
bool WaitForExit(pid_t pid, double timeout_s) {
  const auto end = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  while (std::chrono::steady_clock::now() < end) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    size_t paren = text.rfind(')');
    if (text.empty() || (paren != std::string::npos && text.substr(paren + 2, 1) == "Z")) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

enum class Takeover { kSymlink, kForeignDirectory };

// Runs outlive_run under `heapwarden run` with its temporary directory in /tmp (the
// world-writable directory where another user can take a name), lets another "user"
// take over the removed directory's name, then lets the daemon end. Returns the
// entries that landed where the name now points.
std::vector<std::string> DaemonReportAfterTakeover(Takeover takeover) {
  TempDir dir;
  const std::string state = dir.File("state");
  mkdir(state.c_str(), 0700);
  Command command = UnderHeapwarden({.argv = {ProgramPath("outlive_run"), state}, .timeout_s = 30},
                                    dir.File("r.json"));
  command.set_env["TMPDIR"] = "/tmp";
  CommandResult run = RunCommand(command);
  EXPECT_EQ(run.exit_status, 0) << run.Describe();
  std::ifstream in(state + "/daemon");
  pid_t daemon = 0;
  std::string temp_dir;
  in >> daemon >> temp_dir;
  EXPECT_GT(daemon, 0) << "the daemon never wrote its line";
  EXPECT_EQ(temp_dir.rfind("/tmp/heapwarden.", 0), 0u) << temp_dir;
  if (daemon <= 0 || temp_dir.rfind("/tmp/heapwarden.", 0) != 0) return {"(no daemon)"};
  EXPECT_FALSE(FileExists(temp_dir)) << "run left its directory behind: " << temp_dir;

  // The name is free again: "another user" takes it.
  const std::string target = dir.File("target");
  mkdir(target.c_str(), 0777);
  chmod(target.c_str(), 0777);
  std::string where = target;
  if (takeover == Takeover::kSymlink) {
    EXPECT_EQ(symlink(target.c_str(), temp_dir.c_str()), 0) << temp_dir;
    if (geteuid() == 0) {
      EXPECT_EQ(lchown(temp_dir.c_str(), kNobody, kNobody), 0);
    }
  } else {
    EXPECT_EQ(mkdir(temp_dir.c_str(), 0777), 0) << temp_dir;
    chmod(temp_dir.c_str(), 0777);
    if (geteuid() == 0) {
      EXPECT_EQ(chown(temp_dir.c_str(), kNobody, kNobody), 0);
    }
    where = temp_dir;
  }
  WriteFile(state + "/go", "go\n");
  EXPECT_TRUE(WaitForExit(daemon, 20)) << "the daemon did not end";
  // Its exit-time report, if any, is written before it ends.
  std::vector<std::string> landed = Entries(where);
  for (const std::string& name : landed) unlink((where + "/" + name).c_str());
  if (takeover == Takeover::kSymlink) {
    unlink(temp_dir.c_str());
  } else {
    rmdir(temp_dir.c_str());
  }
  return landed;
}

TEST(RunSecurity, OutlivingDaemonDoesNotFollowASymlinkAtTheRemovedDirectory) {
  std::vector<std::string> landed = DaemonReportAfterTakeover(Takeover::kSymlink);
  EXPECT_TRUE(landed.empty()) << "the daemon wrote " << (landed.empty() ? "" : landed[0])
                              << " through the symbolic link";
}

TEST(RunSecurity, OutlivingDaemonDoesNotWriteIntoAnotherUsersDirectory) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to make a directory of another user";
  std::vector<std::string> landed = DaemonReportAfterTakeover(Takeover::kForeignDirectory);
  EXPECT_TRUE(landed.empty()) << "the daemon wrote " << (landed.empty() ? "" : landed[0])
                              << " into a directory another user made";
}

TEST(RunSecurity, KilledRunLeavesNoTemporaryDirectory) {
  TempDir dir;
  const std::string tmp = dir.File("tmp");
  mkdir(tmp.c_str(), 0700);
  const std::string pid_file = dir.File("pid");
  const std::string script =
      "TMPDIR=" + tmp + " " + HeapwardenPath() + " run -o " + dir.File("r.json") +
      " -- sh -c 'echo $$ > " + pid_file + "; exec sleep 30' & run=$!; " +
      "for i in $(seq 50); do [ -s " + pid_file + " ] && break; sleep 0.1; done; " +
      "ls " + tmp + " | grep -c heapwarden; kill -9 $run; " +
      "for i in $(seq 50); do [ -z \"$(ls " + tmp + ")\" ] && break; sleep 0.1; done; ls " + tmp;
  CommandResult r = RunCommand(Command{.argv = {"sh", "-c", script}, .timeout_s = 30});
  EXPECT_EQ(r.out, "1\n") << "the directory is left behind: " << r.Describe();
}

}  // namespace
}  // namespace heapwarden::testutil
