// html_pprof_test.cc: `heapwarden report --format html|pprof` on a real run of
// tests/programs/known_peak (HoldPeak holds 64 MiB at the peak under phase/load and frees
// it; HoldLater keeps 8 MiB to the end under phase/later), read by the real consumers:
// headless Chromium must draw the page with HoldPeak as text and no script error, and
// `go tool pprof` must list HoldPeak with 64MB allocated and show the phase/load tag.
// A test whose reader is missing is skipped with the reason (scripts/setup.sh installs
// chromium and golang-go, so in CI they run).

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "report_helpers.h"

namespace heapwarden::testutil {
namespace {

// The first of `names` found as an executable in PATH, or "".
std::string FindTool(const std::vector<std::string> &names) {
  const char *path = getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    for (const std::string &name : names) {
      std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  return "";
}

// Headless Chromium with nothing that reaches out (no sync, updates or background
// fetches) and a fresh profile, so runs do not depend on each other or on the network.
Command Chromium(const std::string &chromium, const std::string &profile_dir,
                 std::vector<std::string> extra, const std::string &page) {
  Command command{.argv = {chromium, "--headless", "--no-sandbox", "--disable-gpu",
                           "--disable-background-networking", "--disable-component-update",
                           "--disable-sync", "--no-first-run", "--disable-extensions",
                           "--user-data-dir=" + profile_dir, "--enable-logging=stderr",
                           "--v=0", "--window-size=1400,1000"},
                  .timeout_s = 150};
  command.argv.insert(command.argv.end(), extra.begin(), extra.end());
  command.argv.push_back("file://" + page);  // may carry a #fragment
  return command;
}

// Console lines Chromium logs for the page (a script error, a CSP violation, any
// console call): the page itself never writes to the console.
std::vector<std::string> ConsoleLines(const std::string &stderr_text) {
  std::vector<std::string> lines;
  std::stringstream in(stderr_text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(":CONSOLE") != std::string::npos) lines.push_back(line);
  }
  return lines;
}

class HtmlPprof : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    report_ = dir_->File("r.json");
    html_ = dir_->File("r.html");
    pprof_ = dir_->File("r.pb.gz");
    run_ = new CommandResult(RunCommand(UnderHeapwarden({.argv = {HW_PROGRAM_known_peak}}, report_)));
    html_run_ = new CommandResult(
        RunCommand({.argv = {HeapwardenPath(), "report", report_, "--format", "html", "-o", html_}}));
    pprof_run_ = new CommandResult(RunCommand(
        {.argv = {HeapwardenPath(), "report", report_, "--format=pprof", "--output", pprof_}}));
  }
  static void TearDownTestSuite() {
    delete pprof_run_;
    delete html_run_;
    delete run_;
    delete dir_;
  }
  void SetUp() override {
    ASSERT_EQ(run_->exit_status, 0) << "known_peak under heapwarden: " << run_->Describe();
    ASSERT_EQ(html_run_->exit_status, 0) << "report --format html: " << html_run_->Describe();
    ASSERT_EQ(pprof_run_->exit_status, 0) << "report --format pprof: " << pprof_run_->Describe();
  }

  // `go tool pprof ARGS... r.pb.gz`, its caches kept inside the test's directory.
  static CommandResult GoPprof(const std::vector<std::string> &args) {
    Command command{.argv = {go_, "tool", "pprof", "-symbolize=none"},
                    .set_env = {{"HOME", dir_->path()},
                                {"GOCACHE", dir_->File("gocache")},
                                {"PPROF_TMPDIR", dir_->path()},
                                {"GOFLAGS", ""}}};
    command.argv.insert(command.argv.end(), args.begin(), args.end());
    command.argv.push_back(pprof_);
    return RunCommand(command);
  }

  static void RequireGo() {
    go_ = FindTool({"go"});
    if (go_.empty()) GTEST_SKIP() << "go is not installed (Debian: golang-go); cannot run go tool pprof";
  }

  static TempDir *dir_;
  static std::string report_, html_, pprof_, go_;
  static CommandResult *run_, *html_run_, *pprof_run_;
};
TempDir *HtmlPprof::dir_;
std::string HtmlPprof::report_, HtmlPprof::html_, HtmlPprof::pprof_, HtmlPprof::go_;
CommandResult *HtmlPprof::run_, *HtmlPprof::html_run_, *HtmlPprof::pprof_run_;

TEST_F(HtmlPprof, PageLoadsNothingFromTheNetwork) {
  std::string page = ReadFile(html_);
  EXPECT_NE(page.find("Content-Security-Policy\" content=\"default-src 'none'"), std::string::npos)
      << "the page must forbid every fetch";
  // The only URL is the SVG namespace name, which is never fetched.
  std::regex url(R"((src|href|url)\s*[=(]\s*["']?\s*(https?:)?//)", std::regex::icase);
  EXPECT_FALSE(std::regex_search(page, url)) << "the page references something on the network";
}

TEST_F(HtmlPprof, ChromiumDrawsHoldPeakAsTextWithoutScriptErrors) {
  std::string chromium = FindTool({"chromium", "chromium-browser", "google-chrome"});
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (Debian: chromium); cannot render the page";
  std::string dom_path = dir_->File("dom.html");
  Command command = Chromium(chromium, dir_->File("chromium-profile"), {"--dump-dom"}, html_);
  command.stdout_path = dom_path;
  CommandResult result = RunCommand(command);
  ASSERT_EQ(result.exit_status, 0) << "chromium --dump-dom: " << result.Describe();
  std::string dom = ReadFile(dom_path);

  EXPECT_EQ(dom.find("id=\"hw-error\""), std::string::npos) << dom.substr(0, 2000);
  EXPECT_FALSE(std::regex_search(dom, std::regex(R"(<html[^>]*\sdata-hw-error=)")));
  EXPECT_TRUE(std::regex_search(dom, std::regex(R"(<html[^>]*\sdata-hw-ready=)")))
      << "the page's script did not finish";
  for (const std::string &line : ConsoleLines(result.err)) ADD_FAILURE() << "console: " << line;

  // The peak's flame graph (the tab shown first) has HoldPeak and the allocating
  // function as boxes of text, and says the peak held 64 MiB.
  EXPECT_TRUE(std::regex_search(dom, std::regex(R"(<div class="fn[^"]*"[^>]*>HoldPeak</div>)")))
      << "no flame-graph box with the text HoldPeak";
  EXPECT_TRUE(std::regex_search(dom, std::regex(R"(<div class="fn[^"]*"[^>]*>AllocPeakBlock</div>)")));
  EXPECT_NE(dom.find("Live at the peak"), std::string::npos);
  EXPECT_NE(dom.find("<b>64.0 MiB</b>"), std::string::npos) << "the peak flame graph's total";
  // HoldLater holds nothing at the peak, so it is not in the peak's flame graph...
  EXPECT_FALSE(std::regex_search(dom, std::regex(R"(<div class="fn[^"]*"[^>]*>HoldLater</div>)")));
  // ...but the sites table lists it (live at exit), as text.
  EXPECT_NE(dom.find("<td class=\"f\">HoldLater</td>"), std::string::npos);
  EXPECT_NE(dom.find("phase/load"), std::string::npos);
  EXPECT_NE(dom.find("No leaks"), std::string::npos) << "known_peak leaks nothing (8 MiB reachable)";
}

// The other views, chosen by the page's fragment: allocations bottom-up under one box per
// tag, with a search. Each tag heads its own subtree; the search counts HoldPeak's bytes.
TEST_F(HtmlPprof, ChromiumDrawsTheBottomUpViewByTagWithSearch) {
  std::string chromium = FindTool({"chromium", "chromium-browser", "google-chrome"});
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (Debian: chromium); cannot render the page";
  std::string dom_path = dir_->File("dom-by-tag.html");
  Command command = Chromium(chromium, dir_->File("chromium-profile-2"), {"--dump-dom"},
                             html_ + "#alloc,bottom-up,by-tag,search=HoldPeak");
  command.stdout_path = dom_path;
  CommandResult result = RunCommand(command);
  ASSERT_EQ(result.exit_status, 0) << "chromium --dump-dom: " << result.Describe();
  std::string dom = ReadFile(dom_path);
  EXPECT_EQ(dom.find("id=\"hw-error\""), std::string::npos) << dom.substr(0, 2000);
  EXPECT_TRUE(std::regex_search(dom, std::regex(R"(<html[^>]*\sdata-hw-ready=)")));
  for (const std::string &line : ConsoleLines(result.err)) ADD_FAILURE() << "console: " << line;
  EXPECT_NE(dom.find("Allocated over the whole run"), std::string::npos);
  EXPECT_NE(dom.find("<b>72.0 MiB</b>"), std::string::npos) << "all allocations: 64 + 8 MiB (+4 KiB)";
  EXPECT_TRUE(std::regex_search(dom, std::regex(R"(<div class="fn[^"]*"[^>]*>tag: phase/load</div>)")));
  EXPECT_TRUE(std::regex_search(dom, std::regex(R"(<div class="fn[^"]*"[^>]*>tag: phase/later</div>)")));
  // The search marks HoldPeak and reports its share: 64 of 72 MiB.
  EXPECT_TRUE(std::regex_search(dom, std::regex(R"(<div class="fn hit"[^>]*>HoldPeak</div>)"))) << "no highlighted HoldPeak";
  EXPECT_NE(dom.find("matched 64.0 MiB (89%)"), std::string::npos);
}

TEST_F(HtmlPprof, GoPprofTopListsHoldPeakWith64MBAllocated) {
  RequireGo();
  CommandResult top = GoPprof({"-top", "-sample_index=alloc_space"});
  ASSERT_EQ(top.exit_status, 0) << top.Describe();
  EXPECT_NE(top.out.find("Type: alloc_space"), std::string::npos) << top.out;
  EXPECT_TRUE(std::regex_search(top.out, std::regex(R"(\s64MB\s+[0-9.]+%\s+HoldPeak\n)"))) << top.out;
  EXPECT_TRUE(std::regex_search(top.out, std::regex(R"(64MB\s+[0-9.]+%\s+[0-9.]+%\s+64MB\s+[0-9.]+%\s+AllocPeakBlock\n)")))
      << top.out;
  EXPECT_TRUE(std::regex_search(top.out, std::regex(R"(8MB\s+[0-9.]+%\s+[0-9.]+%\s+8MB\s+[0-9.]+%\s+HoldLater\n)")))
      << top.out;

  // In use (live at exit): HoldLater's 8 MB, and nothing of HoldPeak's.
  CommandResult inuse = GoPprof({"-top", "-sample_index=inuse_space"});
  ASSERT_EQ(inuse.exit_status, 0) << inuse.Describe();
  EXPECT_TRUE(std::regex_search(inuse.out, std::regex(R"(8MB\s+[0-9.]+%\s+[0-9.]+%\s+8MB\s+[0-9.]+%\s+HoldLater\n)")))
      << inuse.out;
  EXPECT_EQ(inuse.out.find("HoldPeak"), std::string::npos) << inuse.out;

  // Counts: 64 blocks allocated by AllocPeakBlock.
  CommandResult objects = GoPprof({"-top", "-sample_index=alloc_objects"});
  ASSERT_EQ(objects.exit_status, 0) << objects.Describe();
  EXPECT_TRUE(std::regex_search(objects.out, std::regex(R"(\s64\s+[0-9.]+%\s+[0-9.]+%\s+64\s+[0-9.]+%\s+AllocPeakBlock\n)")))
      << objects.out;
}

TEST_F(HtmlPprof, GoPprofShowsTheTagsAsLabels) {
  RequireGo();
  CommandResult tags = GoPprof({"-tags", "-sample_index=alloc_space"});
  ASSERT_EQ(tags.exit_status, 0) << tags.Describe();
  EXPECT_NE(tags.out.find(" tag: "), std::string::npos) << tags.out;
  EXPECT_TRUE(std::regex_search(tags.out, std::regex(R"(64\.0MB \([ 0-9.]+%\): phase/load\n)"))) << tags.out;
  EXPECT_TRUE(std::regex_search(tags.out, std::regex(R"(8\.0MB \([ 0-9.]+%\): phase/later\n)"))) << tags.out;

  // And a tag filters: only HoldPeak's samples carry phase/load.
  CommandResult focused = GoPprof({"-top", "-sample_index=alloc_space", "-tagfocus=tag=phase/load"});
  ASSERT_EQ(focused.exit_status, 0) << focused.Describe();
  EXPECT_NE(focused.out.find("HoldPeak"), std::string::npos) << focused.out;
  EXPECT_EQ(focused.out.find("HoldLater"), std::string::npos) << focused.out;
}

// The 1-based line of the first line of `path` holding `text`, or -1.
int LineOf(const std::string &path, const std::string &text) {
  std::stringstream in(ReadFile(path));
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find(text) != std::string::npos) return number;
  }
  return -1;
}

TEST_F(HtmlPprof, GoPprofSeesFileAndLineOfEachFrame) {
  RequireGo();
  CommandResult traces = GoPprof({"-traces", "-lines", "-sample_index=alloc_space"});
  ASSERT_EQ(traces.exit_status, 0) << traces.Describe();
  const std::string source = std::string(HW_PROGRAMS_SOURCE_DIR) + "/known_peak.c";
  int malloc_line = LineOf(source, "void* p = malloc(kMiB);");
  ASSERT_GT(malloc_line, 0);
  EXPECT_TRUE(std::regex_search(
      traces.out, std::regex("AllocPeakBlock \\S*known_peak\\.c:" + std::to_string(malloc_line) + "\n")))
      << traces.out;
  EXPECT_TRUE(std::regex_search(traces.out, std::regex(R"(\n\s+HoldPeak \S*known_peak\.c:\d+\n)"))) << traces.out;
}

// A synthetic report with many sites (HW_BIG_REPORT_SITES, default 20000 to keep the
// suite quick; docs/reports-html-pprof.md has the 100k figures) must render and open.
TEST(HtmlPprofBig, ManySitesOpenInSeconds) {
  std::string chromium = FindTool({"chromium", "chromium-browser", "google-chrome"});
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (Debian: chromium); cannot render the page";
  std::string python = FindTool({"python3"});
  if (python.empty()) GTEST_SKIP() << "python3 is not installed; cannot make the synthetic report";
  const char *sites_env = getenv("HW_BIG_REPORT_SITES");
  std::string sites = sites_env != nullptr ? sites_env : "20000";
  TempDir dir;
  std::string report = dir.File("big.json"), html = dir.File("big.html");
  CommandResult made = RunCommand({.argv = {python, HW_MAKE_BIG_REPORT, report, sites}, .timeout_s = 250});
  ASSERT_EQ(made.exit_status, 0) << made.Describe();
  CommandResult rendered = RunCommand(
      {.argv = {HeapwardenPath(), "report", report, "--format", "html", "-o", html}, .timeout_s = 250});
  ASSERT_EQ(rendered.exit_status, 0) << rendered.Describe();

  std::string dom_path = dir.File("dom.html");
  Command command = Chromium(chromium, dir.File("profile"), {"--dump-dom"}, html);
  command.stdout_path = dom_path;
  CommandResult result = RunCommand(command);
  ASSERT_EQ(result.exit_status, 0) << result.Describe();
  std::string dom = ReadFile(dom_path);
  EXPECT_EQ(dom.find("id=\"hw-error\""), std::string::npos);
  std::smatch ready;
  ASSERT_TRUE(std::regex_search(dom, ready, std::regex(R"re(data-hw-loaded="(\d+)")re")))
      << "the page's script did not finish";
  std::smatch times;
  std::regex_search(dom, times, std::regex(R"re(data-hw-times="([^"]*)")re"));
  // Generous for a loaded CI machine: a person waits about 2 s here on 2 busy cores.
  EXPECT_LT(std::stoi(ready[1]), 15000) << sites << " sites took " << ready[1] << " ms to open ("
                                        << times[1] << ")";
  std::cout << "[ INFO ] " << sites << " sites: page " << ReadFile(html).size() / 1024 << " KiB, opened in "
            << ready[1] << " ms (" << times[1] << ")\n";
}

}  // namespace
}  // namespace heapwarden::testutil
