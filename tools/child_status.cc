// child_status.cc: the tracked program's fate in the report, the exit status and words.
// Report side (tool).
#include "child_status.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "report/human_size.h"
#include "report/report_fields.h"

namespace heapwarden::tools {
namespace {

// The first line of a small /proc or /sys file, or "".
std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The memory the child could use: physical memory, lowered by the cgroup v2 limit of
// the tool's cgroup (the child inherits it) when one is set.
uint64_t MemoryLimit() {
  long pages = sysconf(_SC_PHYS_PAGES);
  long page_size = sysconf(_SC_PAGESIZE);
  uint64_t limit = pages > 0 && page_size > 0
                       ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size)
                       : 0;
  std::string cgroup = FirstLine("/proc/self/cgroup");  // "0::/user.slice/..." on v2
  absl::string_view relative = cgroup;
  if (absl::ConsumePrefix(&relative, "0::")) {
    uint64_t cgroup_limit = 0;
    // "max" (no limit) does not parse and leaves the physical figure.
    if (absl::SimpleAtoi(FirstLine(absl::StrCat("/sys/fs/cgroup", relative, "/memory.max")),
                         &cgroup_limit) &&
        cgroup_limit > 0 && (limit == 0 || cgroup_limit < limit)) {
      limit = cgroup_limit;
    }
  }
  return limit;
}

}  // namespace

std::string SignalName(int signal_number) {
  const char* abbreviation = sigabbrev_np(signal_number);
  if (abbreviation != nullptr) return absl::StrCat("SIG", abbreviation);
  if (signal_number >= SIGRTMIN && signal_number <= SIGRTMAX) {
    return absl::StrCat("SIGRTMIN+", signal_number - SIGRTMIN);
  }
  return absl::StrCat("signal ", signal_number);
}

int ExitCodeFor(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

void RecordChildStatus(nlohmann::json& report, int wait_status) {
  nlohmann::json& process = report["process"];
  if (!process.is_object()) process = nlohmann::json::object();
  if (WIFSIGNALED(wait_status)) {
    process.erase("exit_status");
    process["signal"] = WTERMSIG(wait_status);
    process["signal_name"] = SignalName(WTERMSIG(wait_status));
  } else if (WIFEXITED(wait_status)) {
    process.erase("signal");
    process.erase("signal_name");
    process["exit_status"] = WEXITSTATUS(wait_status);
  }
}

std::string OomHint(const nlohmann::json& report, int signal_number) {
  if (signal_number != SIGKILL) return "";
  const nlohmann::json& totals = report::ObjectField(report, "totals");
  const nlohmann::json& self = report::ObjectField(report, "heapwarden");
  // The highest RSS the report knows of: VmHWM when it was written, and the timeline.
  int64_t rss = std::max(report::IntField(totals, "peak_rss_bytes"),
                         report::IntField(totals, "rss_bytes"));
  for (const nlohmann::json& sample : report::ArrayField(report, "timeline")) {
    rss = std::max(rss, report::IntField(sample, "rss_bytes"));
  }
  // The limit the process itself saw (its cgroup may not be ours), else ours.
  int64_t limit = report::IntField(self, "memory_limit_bytes");
  if (limit <= 0) limit = static_cast<int64_t>(MemoryLimit());
  // Its cgroup counts OOM kills: memory.events (v2) or memory.oom_control (v1).
  bool oom_killed = false;
  std::string source = report::StringField(self, "memory_limit_source");
  if (absl::StartsWith(source, "/sys/fs/cgroup/")) {
    std::string dir = source.substr(0, source.rfind('/'));
    for (const char* file : {"/memory.events", "/memory.oom_control"}) {
      std::ifstream in(dir + file);
      std::string key;
      int64_t count = 0;
      while (in >> key >> count) oom_killed = oom_killed || (key == "oom_kill" && count > 0);
    }
  }
  if (limit <= 0 || rss <= 0 || (!oom_killed && rss < limit / 2)) return "";
  return absl::StrFormat(" \u2014 likely the OOM killer (RSS was %s of a %s limit)",
                         report::HumanBytes(rss), report::HumanBytes(limit));
}

}  // namespace heapwarden::tools
