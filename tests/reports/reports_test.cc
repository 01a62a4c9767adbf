// reports_test.cc: the report formats on real runs. known_peak (HoldPeak holds 64 MiB at
// the peak under phase/load and frees it; HoldLater keeps 8 MiB to the end under
// phase/later) for the text report, collapsed stacks and `report -o`; grow_site (one site
// keeps N MiB) run twice for `diff` and its CI gate.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report_helpers.h"

namespace heapwarden::testutil {
namespace {

constexpr int64_t kMiB = 1 << 20;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The lines of `text` from the one that starts with `heading` to the next blank line.
std::vector<std::string> Section(const std::string& text, const std::string& heading) {
  std::vector<std::string> out;
  bool in = false;
  for (const std::string& line : Lines(text)) {
    if (!in && line.rfind(heading, 0) == 0) in = true;
    if (in && line.empty()) break;
    if (in) out.push_back(line);
  }
  return out;
}

bool AnyLineMatches(const std::vector<std::string>& lines, const std::string& pattern) {
  const std::regex re(pattern);
  for (const std::string& line : lines) {
    if (std::regex_search(line, re)) return true;
  }
  return false;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

CommandResult Heapwarden(std::vector<std::string> args) {
  args.insert(args.begin(), HeapwardenPath());
  return RunCommand(Command{.argv = args, .timeout_s = 60});
}

class KnownPeak : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    report_ = dir_->File("known_peak.json");
    CommandResult run = RunCommand(UnderHeapwarden(Command{.argv = {HW_PROGRAM_known_peak}}, report_));
    ASSERT_EQ(run.exit_status, 0) << run.Describe();
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static TempDir* dir_;
  static std::string report_;
};
TempDir* KnownPeak::dir_ = nullptr;
std::string KnownPeak::report_;

TEST_F(KnownPeak, WrittenReportIsCompactVersion2WithEachFrameOnce) {
  const std::string text = ReadFile(report_);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.find('\n'), text.size() - 1) << "a report file is one line of JSON";
  nlohmann::json doc = nlohmann::json::parse(text);
  EXPECT_EQ(doc["format"], "heapwarden-report");
  EXPECT_EQ(doc["version"], 2);
  ASSERT_TRUE(doc["frames"].is_array());
  ASSERT_FALSE(doc["frames"].empty());
  std::set<std::string> seen;
  for (nlohmann::json frame : doc["frames"]) {
    frame.erase("id");
    EXPECT_TRUE(seen.insert(frame.dump()).second) << "frame twice: " << frame.dump();
  }
  for (const auto& stack : doc["stacks"]) {
    for (const auto& id : stack["frames"]) ASSERT_TRUE(id.is_number_unsigned()) << stack.dump();
  }
}

TEST_F(KnownPeak, TextNamesHoldPeakWith64MiBAtThePeak) {
  CommandResult r = Heapwarden({"report", report_});
  ASSERT_EQ(r.exit_status, 0) << r.Describe();
  // The leaks stay first and LeakSanitizer-style; the peak comes after them.
  ASSERT_NE(r.out.find("Still reachable at exit"), std::string::npos) << r.out;
  EXPECT_LT(r.out.find("Still reachable at exit"), r.out.find("\nPeak: ")) << r.out;
  const std::vector<std::string> by_function = Section(r.out, "Peak by function");
  EXPECT_TRUE(AnyLineMatches(by_function, R"(^ +64\.0 MiB +\d+\.\d% +64  HoldPeak$)"))
      << Join(by_function) << "\n" << r.out;
  EXPECT_NE(r.out.find("\nPeak: 64.0 MiB (67108864 bytes) live at "), std::string::npos) << r.out;
  EXPECT_FALSE(AnyLineMatches(by_function, "_start")) << Join(by_function);
  const std::vector<std::string> by_site = Section(r.out, "Peak by site");
  EXPECT_TRUE(AnyLineMatches(by_site, R"(^ +64\.0 MiB +\d+\.\d% +64  AllocPeakBlock < HoldPeak .*\[phase/load\]$)"))
      << Join(by_site);
  const std::vector<std::string> live = Section(r.out, "Live at exit by site");
  EXPECT_TRUE(AnyLineMatches(live, R"(^ +8\.0 MiB +\d+\.\d% +8  HoldLater.*\[phase/later\]$)"))
      << Join(live) << "\n" << r.out;
  EXPECT_FALSE(AnyLineMatches(live, "HoldPeak")) << Join(live);
  const std::vector<std::string> tags = Section(r.out, "Tags");
  EXPECT_TRUE(AnyLineMatches(tags, R"(^ +64\.0 MiB +0 B +64\.0 MiB  phase/load$)")) << Join(tags);
  EXPECT_TRUE(AnyLineMatches(tags, R"(^ +8\.0 MiB +8\.0 MiB +8\.0 MiB  phase/later$)")) << Join(tags);
  for (const std::string& line : Lines(r.out.substr(r.out.find("\nPeak: ")))) {
    EXPECT_LE(line.size(), 80u) << line;
  }
}

TEST_F(KnownPeak, TopAndByChooseTheRows) {
  CommandResult r = Heapwarden({"report", report_, "--top", "1", "--by", "tag"});
  ASSERT_EQ(r.exit_status, 0) << r.Describe();
  const std::vector<std::string> peak = Section(r.out, "Peak by tag");
  ASSERT_EQ(peak.size(), 3u) << r.out;
  EXPECT_TRUE(AnyLineMatches({peak[2]}, R"(^ +64\.0 MiB .*  phase/load$)")) << Join(peak);
  // One row per table, then what was left out: HoldLater's 8 MiB, and printf's buffer.
  const std::vector<std::string> live = Section(r.out, "Live at exit by tag");
  ASSERT_EQ(live.size(), 4u) << r.out;
  EXPECT_TRUE(AnyLineMatches({live[2]}, R"(^ +8\.0 MiB .*  phase/later$)")) << Join(live);
  EXPECT_EQ(live[3].rfind("  ... 1 more with ", 0), 0u) << Join(live);
  EXPECT_EQ(r.out.find("by function"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("by site"), std::string::npos) << r.out;

  r = Heapwarden({"report", report_, "--by", "file"});
  ASSERT_EQ(r.exit_status, 0) << r.Describe();
  EXPECT_TRUE(AnyLineMatches(Section(r.out, "Peak by file"), R"(64\.0 MiB .*known_peak\.c$)")) << r.out;
  r = Heapwarden({"report", report_, "--by", "line"});
  EXPECT_EQ(r.exit_status, 2) << r.Describe();
  EXPECT_NE(r.err.find("--by: expected one of site|function|file|tag"), std::string::npos) << r.err;
}

TEST_F(KnownPeak, CollapsedHasALineThroughHoldPeak) {
  CommandResult r = Heapwarden({"report", report_, "--format", "collapsed"});
  ASSERT_EQ(r.exit_status, 0) << r.Describe();
  const std::vector<std::string> lines = Lines(r.out);
  EXPECT_TRUE(AnyLineMatches(lines, "^([^ ;]+;)*main;([^;]+;)*HoldPeak;AllocPeakBlock " +
                                        std::to_string(64 * kMiB) + "$"))
      << r.out;
  for (const std::string& line : lines) {
    EXPECT_TRUE(std::regex_match(line, std::regex(R"(.+ [1-9][0-9]*)"))) << line;
  }
  r = Heapwarden({"report", report_, "--format=collapsed", "--measure=live"});
  ASSERT_EQ(r.exit_status, 0) << r.Describe();
  EXPECT_TRUE(AnyLineMatches(Lines(r.out), ";HoldLater " + std::to_string(8 * kMiB) + "$")) << r.out;
  EXPECT_FALSE(AnyLineMatches(Lines(r.out), "HoldPeak")) << r.out;
  r = Heapwarden({"report", report_, "--format", "collapsed", "--measure", "allocated"});
  EXPECT_TRUE(AnyLineMatches(Lines(r.out), ";HoldPeak;AllocPeakBlock " + std::to_string(64 * kMiB) + "$"))
      << r.out;
  r = Heapwarden({"report", report_, "--format", "collapsed", "--measure", "peaks"});
  EXPECT_EQ(r.exit_status, 2) << r.Describe();
}

TEST_F(KnownPeak, OutputFileForEveryFormatIsPrivateAndMatchesStdout) {
  for (const char* format : {"text", "json", "collapsed"}) {
    const std::string out = dir_->File(std::string("out.") + format);
    CommandResult to_file = Heapwarden({"report", report_, "--format", format, "-o", out});
    ASSERT_EQ(to_file.exit_status, 0) << format << ": " << to_file.Describe();
    EXPECT_EQ(to_file.out, "") << format;
    CommandResult to_stdout = Heapwarden({"report", report_, "--format", format});
    ASSERT_EQ(to_stdout.exit_status, 0) << to_stdout.Describe();
    EXPECT_EQ(ReadFile(out), to_stdout.out) << format;
    struct stat st;
    ASSERT_EQ(stat(out.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << format;
  }
  // The json format is version 2, whatever the input was.
  nlohmann::json doc = nlohmann::json::parse(ReadFile(dir_->File("out.json")));
  EXPECT_EQ(doc["version"], 2);
  CommandResult bad = Heapwarden({"report", report_, "-o", dir_->File("no/such/dir/x.txt")});
  EXPECT_EQ(bad.exit_status, 1) << bad.Describe();
}

// grow_site keeps 1 MiB in one run and 9 MiB in the other, at one site.
class GrowSite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    for (const char* mib : {"1", "9"}) {
      CommandResult run = RunCommand(UnderHeapwarden(
          Command{.argv = {HW_PROGRAM_grow_site, mib}}, dir_->File(std::string(mib) + ".json")));
      ASSERT_EQ(run.exit_status, 0) << run.Describe();
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string Old() { return dir_->File("1.json"); }
  static std::string New() { return dir_->File("9.json"); }
  static TempDir* dir_;
};
TempDir* GrowSite::dir_ = nullptr;

TEST_F(GrowSite, DiffNamesTheSiteWithPlus8MiB) {
  CommandResult r = Heapwarden({"diff", Old(), New()});
  ASSERT_EQ(r.exit_status, 0) << r.Describe();
  const std::vector<std::string> grew = Section(r.out, "Live bytes grew");
  ASSERT_FALSE(grew.empty()) << r.out;
  EXPECT_NE(grew[0].find("at 1 site(s)"), std::string::npos) << r.out;
  // The heading of the first grown site, then its stack, innermost first.
  const std::vector<std::string> lines = Lines(r.out);
  size_t at = 0;
  while (at < lines.size() && lines[at].rfind("+8.0 MiB live (1.0 MiB -> 9.0 MiB), blocks 1 -> 9", 0) != 0) ++at;
  ASSERT_LT(at + 1, lines.size()) << r.out;
  EXPECT_TRUE(std::regex_search(lines[at + 1], std::regex(R"(^    #0 KeepBuffers .*grow_site\.c:\d+$)")))
      << r.out;
  EXPECT_EQ(Section(r.out, "Live bytes shrank").size(), 0u) << r.out;
  EXPECT_NE(r.out.find("  live         "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(+8.0 MiB, 8388608 bytes)"), std::string::npos) << r.out;
}

TEST_F(GrowSite, FailOnGrowthExits23AboveTheLimitOnly) {
  CommandResult r = Heapwarden({"diff", Old(), New(), "--fail-on-growth", std::to_string(8 * kMiB - 1)});
  EXPECT_EQ(r.exit_status, 23) << r.Describe();
  EXPECT_NE(r.err.find("FAIL"), std::string::npos) << r.err;
  r = Heapwarden({"diff", Old(), New(), "--fail-on-growth=" + std::to_string(9 * kMiB)});
  EXPECT_EQ(r.exit_status, 0) << r.Describe();
  // Shrinking is never growth.
  r = Heapwarden({"diff", New(), Old(), "--fail-on-growth", "0"});
  EXPECT_EQ(r.exit_status, 0) << r.Describe();
  EXPECT_FALSE(Section(r.out, "Live bytes shrank").empty()) << r.out;
  r = Heapwarden({"diff", Old(), New(), "--fail-on-growth", "-5"});
  EXPECT_EQ(r.exit_status, 2) << r.Describe();
}

TEST_F(GrowSite, JsonDiffListsTheSiteFirst) {
  CommandResult r = Heapwarden({"diff", Old(), New(), "--format", "json"});
  ASSERT_EQ(r.exit_status, 0) << r.Describe();
  nlohmann::json diff = nlohmann::json::parse(r.out);
  EXPECT_EQ(diff["format"], "heapwarden-diff");
  EXPECT_EQ(diff["live_bytes_delta"], 8 * kMiB);
  ASSERT_FALSE(diff["sites"].empty());
  const nlohmann::json& site = diff["sites"][0];
  EXPECT_EQ(site["live_bytes_delta"], 8 * kMiB);
  EXPECT_EQ(site["allocations_delta"], 8);
  EXPECT_EQ(site["new"]["live_blocks"], 9);
  ASSERT_FALSE(site["frames"].empty());
  EXPECT_EQ(site["frames"][0].get<std::string>().rfind("KeepBuffers ", 0), 0u) << site.dump();
}

// Matching is by function and file, not address: the same report with every address and
// offset moved (another build) has no changed site.
TEST_F(GrowSite, SitesMatchAcrossBuildsNotByAddress) {
  nlohmann::json doc = nlohmann::json::parse(ReadFile(New()));
  for (auto& frame : doc["frames"]) {
    if (frame.value("function", "??") == "??") continue;  // unnamed frames match by offset
    frame["offset"] = frame["offset"].get<uint64_t>() + 0x1000;
    frame["address"] = "0x1234";
  }
  const std::string moved = dir_->File("moved.json");
  WriteFile(moved, doc.dump());
  CommandResult r = Heapwarden({"diff", New(), moved});
  ASSERT_EQ(r.exit_status, 0) << r.Describe();
  EXPECT_NE(r.out.find("No site changed."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" 0 only in the old, 0 only in the new"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace heapwarden::testutil
