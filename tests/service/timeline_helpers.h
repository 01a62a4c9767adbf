// timeline_helpers.h: what the issue-4 tests share beyond report_helpers.h: stacks by
// function name, a command running in the background, files that appear.
#ifndef HEAPWARDEN_TESTS_TIMELINE_TIMELINE_HELPERS_H_
#define HEAPWARDEN_TESTS_TIMELINE_TIMELINE_HELPERS_H_

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>

#include "report_helpers.h"

namespace heapwarden::testutil {

// True when stack `stack_id` has `function` among its first `depth` frames.
inline bool StackHas(const nlohmann::json& report, int64_t stack_id, const std::string& function,
                     int depth = 8) {
  const nlohmann::json* stack = FindStack(report, stack_id);
  return stack != nullptr && FindFrame(*stack, function, depth) != nullptr;
}

// Sum of `bytes_key` over the entries of `array` whose stack has `function`.
inline uint64_t BytesWithFunction(const nlohmann::json& report, const nlohmann::json& array,
                                  const std::string& function, const char* bytes_key) {
  uint64_t total = 0;
  for (const nlohmann::json& entry : array) {
    if (StackHas(report, entry.value("stack", int64_t{-1}), function)) {
      total += entry.value(bytes_key, uint64_t{0});
    }
  }
  return total;
}

// The entry of report["tags"] for `path`, or null.
inline nlohmann::json TagEntry(const nlohmann::json& report, const std::string& path) {
  for (const nlohmann::json& tag : report.value("tags", nlohmann::json::array())) {
    if (tag.value("tag", "") == path) return tag;
  }
  return nullptr;
}

// Runs a command on a thread of its own; Wait() joins it.
class Background {
 public:
  explicit Background(Command command)
      : thread_([this, command] { result_ = RunCommand(command); }) {}
  ~Background() {
    if (thread_.joinable()) thread_.join();
  }
  const CommandResult& Wait() {
    if (thread_.joinable()) thread_.join();
    return result_;
  }

 private:
  CommandResult result_;
  std::thread thread_;
};

// Polls until `path` exists and is not empty, for at most `timeout_s`.
inline bool WaitForFile(const std::string& path, double timeout_s = 60) {
  const auto end = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  while (std::chrono::steady_clock::now() < end) {
    if (FileExists(path) && !ReadFile(path).empty()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

inline pid_t ReadPid(const std::string& path) {
  std::ifstream in(path);
  int pid = -1;
  in >> pid;
  return static_cast<pid_t>(pid);
}

}  // namespace heapwarden::testutil

#endif  // HEAPWARDEN_TESTS_TIMELINE_TIMELINE_HELPERS_H_
