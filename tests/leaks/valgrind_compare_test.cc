// valgrind_compare_test.cc: the same ground-truth programs under
// `valgrind --leak-check=full` give the same classification: every leak record valgrind
// attributes to one of the programs' functions has a heapwarden group with that
// function, the same kind (definitely lost = direct, indirectly lost = indirect, still
// reachable = reachable), the same block count and the same own bytes; and every
// unsuppressed direct or indirect group heapwarden reports is one of valgrind's.
// Skipped when valgrind is not installed.

#include <gtest/gtest.h>
#include <unistd.h>

#include <set>
#include <string>
#include <vector>

#include "leak_test_helpers.h"

namespace heapwarden::testutil {
namespace {

// The functions of leak_shapes.c that allocate what the modes leak or keep.
const std::set<std::string> kProgramFunctions = {
    "list_head",  "list_node",      "keep_global",    "keep_global_child", "cycle_node",
    "leak_in_thread", "held_by_thread", "plugin_leak_inner", "leak_strdup", "leak_asprintf",
    "leak_getline"};

struct VgRecord {
  std::string kind;  // heapwarden's word
  std::string function;
  int64_t blocks = 0;
  int64_t bytes = 0;  // the record's own bytes (valgrind adds the indirect ones to a direct record)
};

std::string Between(const std::string& text, const std::string& open, const std::string& close,
                    size_t from = 0) {
  size_t a = text.find(open, from);
  if (a == std::string::npos) return "";
  a += open.size();
  size_t b = text.find(close, a);
  return b == std::string::npos ? "" : text.substr(a, b - a);
}

int64_t Number(std::string text) {
  std::string digits;
  for (char c : text) {
    if (c >= '0' && c <= '9') digits += c;
    if (c == ' ' && !digits.empty()) break;
  }
  return digits.empty() ? -1 : std::stoll(digits);
}

std::vector<VgRecord> ParseValgrindXml(const std::string& xml) {
  std::vector<VgRecord> records;
  for (size_t at = xml.find("<error>"); at != std::string::npos; at = xml.find("<error>", at + 1)) {
    std::string error = Between(xml, "<error>", "</error>", at);
    std::string kind = Between(error, "<kind>", "</kind>");
    VgRecord r;
    if (kind == "Leak_DefinitelyLost") {
      r.kind = "direct";
    } else if (kind == "Leak_IndirectlyLost") {
      r.kind = "indirect";
    } else if (kind == "Leak_StillReachable" || kind == "Leak_PossiblyLost") {
      r.kind = "reachable";
    } else {
      continue;
    }
    r.blocks = Number(Between(error, "<leakedblocks>", "</leakedblocks>"));
    r.bytes = Number(Between(error, "<leakedbytes>", "</leakedbytes>"));
    // "176 (88 direct, 88 indirect) bytes in 1 blocks are definitely lost ..."
    std::string text = Between(error, "<text>", "</text>");
    if (size_t paren = text.find('('); paren != std::string::npos && text.find(" direct,") != std::string::npos) {
      r.bytes = Number(text.substr(paren + 1));
    }
    for (size_t f = error.find("<fn>"); f != std::string::npos; f = error.find("<fn>", f + 1)) {
      std::string fn = Between(error, "<fn>", "</fn>", f);
      if (kProgramFunctions.count(fn)) {
        r.function = fn;
        break;
      }
    }
    records.push_back(r);
  }
  return records;
}

bool HaveValgrind() { return access("/usr/bin/valgrind", X_OK) == 0; }

class ValgrindCompare : public ::testing::TestWithParam<std::string> {};

TEST_P(ValgrindCompare, SameClassification) {
  if (!HaveValgrind()) GTEST_SKIP() << "valgrind is not installed";
  const std::string mode = GetParam();
  TempDir dir;
  std::vector<std::string> program = {HW_PROGRAM_leak_shapes, mode};
  if (mode == "plugin") program.push_back(HW_LEAK_PLUGIN);
  // Valgrind cannot name frames of a plugin it saw unloaded: keep its symbols.
  std::vector<std::string> argv = {"valgrind", "--leak-check=full", "--show-leak-kinds=all",
                                   "--keep-debuginfo=yes", "--xml=yes",
                                   "--xml-file=" + dir.File("vg.xml")};
  argv.insert(argv.end(), program.begin(), program.end());
  CommandResult vg = RunCommand(Command{.argv = argv});
  ASSERT_EQ(vg.exit_status, 0) << vg.Describe();
  std::vector<VgRecord> records = ParseValgrindXml(ReadFile(dir.File("vg.xml")));

  const LeakRun& run = LeakShapes(mode);
  ASSERT_TRUE(run.error.empty()) << run.error;
  const nlohmann::json& report = run.report;

  int compared = 0;
  for (const VgRecord& r : records) {
    if (r.function.empty()) continue;  // the run-time's own, e.g. a thread's DTV
    ++compared;
    auto groups = Groups(report, r.function, r.kind);
    ASSERT_EQ(groups.size(), 1u) << "valgrind: " << r.kind << " " << r.blocks << " block(s), "
                                 << r.bytes << " bytes from " << r.function << "\nheapwarden:\n"
                                 << DescribeLeaks(report);
    EXPECT_EQ((*groups[0])["blocks"], r.blocks) << r.function;
    EXPECT_EQ((*groups[0])["bytes"], r.bytes) << r.function;
  }
  if (mode != "clean") {
    EXPECT_GT(compared, 0) << "valgrind reported nothing of the program's:\n"
                           << ReadFile(dir.File("vg.xml"));
  }
  // Nothing heapwarden calls a leak that valgrind does not.
  for (const auto& leak : report["leaks"]) {
    std::string kind = leak.value("kind", "");
    if (kind == "reachable" || leak.value("suppressed", false)) continue;
    bool found = false;
    for (const VgRecord& r : records) {
      if (r.kind != kind || r.blocks != leak.value("blocks", int64_t{-1}) ||
          r.bytes != leak.value("bytes", int64_t{-1})) {
        continue;
      }
      if (r.function.empty() || !Groups(report, r.function, kind).empty()) found = true;
    }
    EXPECT_TRUE(found) << "heapwarden's " << DescribeLeak(report, leak, 4) << "is not valgrind's";
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, ValgrindCompare,
                         ::testing::Values("list", "global", "cycle", "thread", "plugin", "libc",
                                           "clean"));

}  // namespace
}  // namespace heapwarden::testutil
