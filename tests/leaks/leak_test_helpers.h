// leak_test_helpers.h: what the issue-3 tests share: running the ground-truth programs
// under `heapwarden run` (once per process, cached), and reading leak groups and
// totals out of a report by function, kind and size -- never by address.
#ifndef HEAPWARDEN_TESTS_LEAKS_LEAK_TEST_HELPERS_H_
#define HEAPWARDEN_TESTS_LEAKS_LEAK_TEST_HELPERS_H_

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report_helpers.h"

namespace heapwarden::testutil {

// A run of a command under `heapwarden run`, with its report loaded.
struct LeakRun {
  CommandResult result;
  std::string report_path;
  nlohmann::json report;  // null when there was none
  std::string error;      // why there is no report
};

// Runs argv under `heapwarden run -o DIR/NAME.json EXTRA... -- argv` in `dir`.
LeakRun RunUnderHeapwarden(const TempDir& dir, const std::string& name,
                           const std::vector<std::string>& argv,
                           const std::vector<std::string>& extra = {});

// leak_shapes MODE under `heapwarden run`, run once per test process and cached.
const LeakRun& LeakShapes(const std::string& mode);

// The innermost function of a leak's stack outside the system's libraries (/lib,
// /usr/lib): the program's (or its plugin's) own caller of the allocation.
std::string OwnFunction(const nlohmann::json& report, const nlohmann::json& leak);

// The leak groups of `kind` ("" for any) whose OwnFunction is `function`.
std::vector<const nlohmann::json*> Groups(const nlohmann::json& report, const std::string& function,
                                          const std::string& kind = "");

// Sums of unsuppressed groups of a kind.
int64_t UnsuppressedBytes(const nlohmann::json& report, const std::string& kind);

// Every group of the report, one line each, for failure messages.
std::string DescribeLeaks(const nlohmann::json& report);

// Where a ground-truth source file lives (tests/programs).
std::string ProgramSource(const std::string& file);

}  // namespace heapwarden::testutil

#endif  // HEAPWARDEN_TESTS_LEAKS_LEAK_TEST_HELPERS_H_
