// report_test_util.h: what the report-side unit tests share: their hand-written
// reports are version 1 (every frame inline, easiest to read), and every renderer reads
// version 2, so each goes through the loader as a file would.
#ifndef HEAPWARDEN_TESTS_UNIT_REPORT_TEST_UTIL_H_
#define HEAPWARDEN_TESTS_UNIT_REPORT_TEST_UTIL_H_

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "report/report_io.h"
#include "report/report_upgrade.h"

namespace heapwarden::report {

// `report` loaded as LoadReport() would load it (upgraded to version 2 and checked).
inline nlohmann::json AsLoaded(const nlohmann::json& report) {
  absl::StatusOr<nlohmann::json> loaded = ParseReport(report.dump(), "test report");
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  return loaded.ok() ? *loaded : nlohmann::json::object();
}

// A partial hand-written report (no "process", say) upgraded to version 2 in memory,
// for tests of one section's renderer.
inline nlohmann::json Upgraded(nlohmann::json report) {
  if (!report.contains("version")) report["version"] = 1;
  absl::Status status = UpgradeReport(report);
  EXPECT_TRUE(status.ok()) << status;
  return report;
}

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_TESTS_UNIT_REPORT_TEST_UTIL_H_
