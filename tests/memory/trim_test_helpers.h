// trim_test_helpers.h: what the tests of tests/memory share: reading the "key=value"
// lines the programs print, running a program in the background with pipes (for
// `heapwarden trim PID` while it waits), VmRSS of another process, and finding sites
// in a report by function and source.
#ifndef HEAPWARDEN_TESTS_TRIM_TRIM_TEST_HELPERS_H_
#define HEAPWARDEN_TESTS_TRIM_TRIM_TEST_HELPERS_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report_helpers.h"

namespace heapwarden::testutil {

// "key=value" lines of `out` (text after a '#' or a space in the value is dropped).
std::map<std::string, std::string> KeyValues(const std::string &out);

// The integer value of `key`, or -1.
int64_t IntValue(const std::map<std::string, std::string> &values, const std::string &key);

// VmRSS of process `pid` in bytes, from /proc/PID/status; -1 when unreadable.
int64_t VmRssOf(pid_t pid);

// A command running in the background, stdin and stdout through pipes, stderr to a file.
class Background {
 public:
  explicit Background(const Command &command);
  ~Background();  // kills the process group if still running
  Background(const Background &) = delete;
  Background &operator=(const Background &) = delete;

  // Reads stdout until a line equal to `line` arrives (true) or `timeout_s` passes or
  // stdout closes (false). Everything read is kept in out().
  bool WaitForLine(const std::string &line, int timeout_s);
  // Writes a line to the process's stdin.
  void WriteLine(const std::string &line);
  // Waits for the end, reading the rest of stdout; returns the status as a shell shows it.
  int Wait(int timeout_s);

  pid_t pid() const { return pid_; }
  const std::string &out() const { return out_; }
  std::string err() const;

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  std::string out_;
  std::string err_path_;
  TempDir dir_;
};

// Sites of `source` ("heap" or "mapped") whose stack has `function` among its first
// `depth` frames.
std::vector<const nlohmann::json *> SitesWithFunction(const nlohmann::json &report,
                                                      const std::string &source,
                                                      const std::string &function,
                                                      int depth = 4);

// The report's "trims" entries with this trigger.
std::vector<const nlohmann::json *> TrimsWithTrigger(const nlohmann::json &report,
                                                     const std::string &trigger);

// /usr/bin/python3 with numpy and pandas (Debian's python3-pandas), or "" when absent.
std::string DebianPython();

}  // namespace heapwarden::testutil

#endif  // HEAPWARDEN_TESTS_TRIM_TRIM_TEST_HELPERS_H_
