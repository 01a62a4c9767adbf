// oom_test.cc: a process killed by SIGKILL -- by the test after a snapshot, or by the
// kernel's OOM killer in a memory-limited cgroup -- still leaves a report ("complete":
// false) naming the site that held its memory, and `heapwarden run` says what happened.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "report_helpers.h"
#include "timeline_helpers.h"

namespace heapwarden::testutil {
namespace {

using nlohmann::json;

constexpr uint64_t kMiB = 1024 * 1024;

// The directory `heapwarden run` gave the child to write into, from its environment.
std::string RunOutputDir(pid_t pid) {
  std::string environ_text = ReadFile("/proc/" + std::to_string(pid) + "/environ");
  size_t at = environ_text.find("HEAPWARDEN_OPTIONS=");
  if (at == std::string::npos) return "";
  std::string options = environ_text.substr(at, environ_text.find('\0', at) - at);
  size_t output = options.find("output=");
  if (output == std::string::npos) return "";
  std::string path = options.substr(output + 7, options.find(':', output) - output - 7);
  return path.substr(0, path.rfind('/'));
}

void ExpectKilledReport(const json& report, uint64_t min_bytes) {
  EXPECT_EQ(report["process"]["complete"], false);
  EXPECT_EQ(report["process"]["signal"], SIGKILL);
  EXPECT_FALSE(report["process"].contains("exit_status"));
  uint64_t held = BytesWithFunction(report, report["sites"], "fill_memory", "live_bytes");
  EXPECT_GE(held, min_bytes) << report["sites"].dump().substr(0, 2000);
}

TEST(OomTest, SigkillAfterASnapshotLeavesTheSnapshotAsTheReport) {
  TempDir dir;
  const std::string pid_file = dir.File("pid"), report_path = dir.File("report.json");
  Background run(UnderHeapwarden({.argv = {HW_PROGRAM_oom_hog, "-", pid_file, "48"}}, report_path,
                                 {"--snapshot-s", "0.2"}));
  ASSERT_TRUE(WaitForFile(pid_file));
  const pid_t pid = ReadPid(pid_file);
  // Wait for a snapshot written after the memory was held, then kill.
  const std::string snapshot = RunOutputDir(pid) + "/" + std::to_string(pid) + ".json";
  bool seen = false;
  for (int i = 0; i < 600 && !seen; ++i) {
    std::string error;
    std::optional<json> s = FileExists(snapshot) ? LoadReport(snapshot, &error) : std::nullopt;
    seen = s.has_value() && (*s)["totals"].value("live_bytes", uint64_t{0}) >= 48 * kMiB;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGKILL);
  const CommandResult& result = run.Wait();
  ASSERT_TRUE(seen) << "no snapshot at " << snapshot;
  EXPECT_EQ(result.exit_status, 128 + SIGKILL) << result.Describe();
  EXPECT_NE(result.err.find("killed by SIGKILL"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("the report is the last snapshot"), std::string::npos) << result.err;
  std::string error;
  std::optional<json> report = LoadReport(report_path, &error);
  ASSERT_TRUE(report.has_value()) << error << result.Describe();
  ExpectKilledReport(*report, 48 * kMiB);
}

// The periodic snapshot of a process that changed its heap and then slept, allocating
// nothing more: the change lands in a snapshot although no allocation comes after the
// first snapshot falls due (oom_hog "-" allocates its 4 MiB at once, 1 s before),
// so something other than the allocation path must write it.
TEST(OomTest, SigkillOfAnIdleProcessLeavesASnapshotOfItsLastChange) {
  TempDir dir;
  const std::string pid_file = dir.File("pid"), report_path = dir.File("report.json");
  Background run(UnderHeapwarden({.argv = {HW_PROGRAM_oom_hog, "-", pid_file, "4"}}, report_path,
                                 {"--snapshot-s", "1"}));
  ASSERT_TRUE(WaitForFile(pid_file));
  const pid_t pid = ReadPid(pid_file);
  const std::string snapshot = RunOutputDir(pid) + "/" + std::to_string(pid) + ".json";
  bool seen = false;
  for (int i = 0; i < 200 && !seen; ++i) {
    std::string error;
    std::optional<json> s = FileExists(snapshot) ? LoadReport(snapshot, &error) : std::nullopt;
    seen = s.has_value() && (*s)["totals"].value("live_bytes", uint64_t{0}) >= 4 * kMiB;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGKILL);
  const CommandResult& result = run.Wait();
  ASSERT_TRUE(seen) << "no snapshot at " << snapshot << " within 10 s";
  EXPECT_EQ(result.exit_status, 128 + SIGKILL) << result.Describe();
  std::string error;
  std::optional<json> report = LoadReport(report_path, &error);
  ASSERT_TRUE(report.has_value()) << error << result.Describe();
  ExpectKilledReport(*report, 4 * kMiB);
}

// A fresh memory cgroup limited to `limit` bytes, removed at the end; empty path when
// this machine cannot make one (not root, no memory controller).
class MemoryCgroup {
 public:
  explicit MemoryCgroup(uint64_t limit) {
    std::ifstream in("/proc/self/cgroup");
    std::string line, v1, v2;
    while (std::getline(in, line)) {
      size_t c1 = line.find(':'), c2 = line.find(':', c1 + 1);
      if (c1 == std::string::npos || c2 == std::string::npos) continue;
      std::string controllers = line.substr(c1 + 1, c2 - c1 - 1);
      std::string path = line.substr(c2 + 1);
      if (line.compare(0, c1, "0") == 0 && controllers.empty()) v2 = path;
      if (("," + controllers + ",").find(",memory,") != std::string::npos) v1 = path;
    }
    const std::string name = "/heapwarden-test-" + std::to_string(getpid());
    if (!v1.empty() && TryMake("/sys/fs/cgroup/memory" + v1 + name, "memory.limit_in_bytes", limit)) return;
    if (!v2.empty()) {
      for (const char* root : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
        std::string parent = root + (v2 == "/" ? "" : v2);
        std::ofstream(parent + "/cgroup.subtree_control") << "+memory";
        if (TryMake(parent + name, "memory.max", limit)) return;
      }
    }
  }
  ~MemoryCgroup() {
    if (!path_.empty()) rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  bool TryMake(const std::string& dir, const char* file, uint64_t limit) {
    if (mkdir(dir.c_str(), 0755) != 0) return false;
    std::ofstream out(dir + "/" + file);
    out << limit << "\n";
    out.close();
    std::ifstream check(dir + "/" + file);
    uint64_t read = 0;
    if (!out.good() || !(check >> read) || read == 0 || read > 2 * limit) {
      rmdir(dir.c_str());
      return false;
    }
    path_ = dir;
    return true;
  }
  std::string path_;
};

TEST(OomTest, OomKillInAMemoryLimitedCgroupLeavesTheHighWaterSnapshot) {
  MemoryCgroup cgroup(128 * kMiB);
  if (cgroup.path().empty()) GTEST_SKIP() << "cannot create a memory-limited cgroup here";
  TempDir dir;
  const std::string report_path = dir.File("report.json");
  CommandResult result = RunCommand(
      UnderHeapwarden({.argv = {HW_PROGRAM_oom_hog, cgroup.path(), dir.File("pid")}, .timeout_s = 90},
                      report_path));
  EXPECT_EQ(result.exit_status, 128 + SIGKILL) << result.Describe();
  EXPECT_NE(result.err.find("killed by SIGKILL \u2014 likely the OOM killer (RSS was"),
            std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("of a 128.0 MiB limit)"), std::string::npos) << result.err;
  std::string error;
  std::optional<json> report = LoadReport(report_path, &error);
  ASSERT_TRUE(report.has_value()) << error << result.Describe();
  // 90% of 128 MiB, less what the process held before filling.
  ExpectKilledReport(*report, 96 * kMiB);
  EXPECT_GE((*report)["heapwarden"].value("high_water_snapshots", 0), 1);
  EXPECT_EQ((*report)["heapwarden"].value("memory_limit_bytes", uint64_t{0}), 128 * kMiB);
}

}  // namespace
}  // namespace heapwarden::testutil
