// bad_reports_test.cc: every command that reads a report -- report in every format,
// check, diff (either side), symbolize -- refuses a corrupt, truncated, wrong-version,
// wrong-typed, negative, hostile or non-regular input with one line on stderr and exit
// status 2, and never hangs on a FIFO.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report_helpers.h"

namespace heapwarden::testutil {
namespace {

// A valid report as the record side writes it (version 1, raw frames).
nlohmann::json GoodReport() {
  return nlohmann::json::parse(R"({
    "format": "heapwarden-report", "version": 1,
    "process": {"pid": 42, "argv": ["./a"], "exe": "/a", "backend": "system",
                "mode": "exact", "complete": true, "exit_status": 0},
    "totals": {"allocations": 3, "frees": 1, "bytes_allocated": 4096, "live_blocks": 2,
               "live_bytes": 2048, "peak_live_bytes": 4096, "peak_time": 0.5,
               "rss_bytes": 1000000, "peak_rss_bytes": 2000000, "retained_bytes": 0},
    "stacks": [{"id": 1, "frames": [{"address": "0x55d0c0a1b2c3", "module": "/a", "offset": 4660}]}],
    "sites": [{"stack": 1, "tag": "", "source": "heap", "allocations": 3, "bytes_allocated": 4096,
               "live_blocks": 2, "live_bytes": 2048, "peak_live_bytes": 4096}],
    "tags": [], "leaks": [], "long_lived": [],
    "peak": {"time": 0.5, "live_bytes": 4096, "sites": [{"stack": 1, "tag": "", "live_blocks": 2, "live_bytes": 4096}]},
    "timeline": [], "trims": [], "errors": [],
    "heapwarden": {"version": "0.1.0", "symbolized": false, "options": "",
                   "dropped_events": 0, "report_time": 1.5}
  })");
}

struct BadInput {
  std::string name;
  std::string text;     // written to NAME.json
  std::string message;  // part of the one line
};

std::vector<BadInput> BadInputs() {
  std::vector<BadInput> inputs;
  const std::string good = GoodReport().dump(2);
  inputs.push_back({"corrupt", "{\"format\": heapwarden}", "corrupt JSON at line 1"});
  inputs.push_back({"truncated", good.substr(0, good.size() / 2), "truncated JSON"});
  inputs.push_back({"empty", "", "empty file"});
  nlohmann::json r = GoodReport();
  r["version"] = 3;
  inputs.push_back({"version3", r.dump(), "unsupported report version 3"});
  r = GoodReport();
  r["format"] = "pprof";
  inputs.push_back({"format", r.dump(), "not a heapwarden report (\"format\" is \"pprof\""});
  r = GoodReport();
  r["totals"]["live_bytes"] = "2048";
  inputs.push_back({"typed", r.dump(), "totals.live_bytes is \"2048\", not a non-negative integer"});
  r = GoodReport();
  r["sites"][0]["live_bytes"] = -1;
  inputs.push_back({"negative", r.dump(), "sites[0].live_bytes is -1, not a non-negative integer"});
  r = GoodReport();
  r["peak"]["sites"][0]["live_bytes"] = 1.5;
  inputs.push_back({"float", r.dump(), "peak.sites[0].live_bytes is 1.5"});
  r = GoodReport();
  r["stacks"][0]["frames"][0]["offset"] = -4660;
  inputs.push_back({"frame", r.dump(), "stacks[0].frames[0].offset is not a non-negative integer"});
  inputs.push_back({"deep", std::string(50000, '[') + std::string(50000, ']'),
                    "JSON nested more than 64 levels deep"});
  // Deep inside a field of an otherwise good report (the recursion is the consumer's,
  // after parsing), and 30k deep (symbolize once wrote 1.8 GB of indentation for it).
  std::string good_compact = GoodReport().dump();
  inputs.push_back({"deep_field",
                    good_compact.substr(0, good_compact.size() - 1) + ",\"x\":" +
                        std::string(50000, '[') + std::string(50000, ']') + "}",
                    "JSON nested more than 64 levels deep"});
  std::string objects;
  for (int i = 0; i < 30000; ++i) objects += "{\"a\":";
  objects += "1" + std::string(30000, '}');
  inputs.push_back({"deep_objects", objects, "JSON nested more than 64 levels deep"});
  // A leak's size as a string, or negative, must not read as 0 or cancel a real leak.
  r = GoodReport();
  r["leaks"] = nlohmann::json::parse(
      R"([{"kind": "direct", "stack": 1, "tag": "", "blocks": 1, "bytes": 320}])");
  nlohmann::json leak_text = r;
  leak_text["leaks"][0]["bytes"] = "320";
  inputs.push_back({"leak_bytes_string", leak_text.dump(), "leaks[0].bytes is \"320\""});
  nlohmann::json leak_negative = r;
  leak_negative["leaks"].push_back(r["leaks"][0]);
  leak_negative["leaks"][1]["bytes"] = -320;
  inputs.push_back({"leak_bytes_negative", leak_negative.dump(), "leaks[1].bytes is -320"});
  nlohmann::json leak_blocks = r;
  leak_blocks["leaks"][0]["blocks"] = true;
  inputs.push_back({"leak_blocks_bool", leak_blocks.dump(), "leaks[0].blocks is true"});
  nlohmann::json pid_text = GoodReport();
  pid_text["process"]["pid"] = "42";
  inputs.push_back({"pid_string", pid_text.dump(), "process.pid is \"42\""});
  nlohmann::json kind_number = r;
  kind_number["leaks"][0]["kind"] = 7;
  inputs.push_back({"leak_kind_number", kind_number.dump(), "leaks[0].kind"});
  return inputs;
}

class BadReports : public ::testing::Test {
 protected:
  void SetUp() override {
    good_ = dir_.File("good.json");
    WriteFile(good_, GoodReport().dump());
  }

  // Runs heapwarden ARGS and checks the one-line refusal.
  void ExpectRefused(const std::vector<std::string>& args, const std::string& message) {
    std::vector<std::string> argv = {HeapwardenPath()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string line;
    for (const std::string& a : args) line += a + " ";
    CommandResult r = RunCommand(Command{.argv = argv, .timeout_s = 20});
    EXPECT_FALSE(r.timed_out) << line;
    EXPECT_EQ(r.exit_status, 2) << line << r.Describe();
    EXPECT_EQ(r.out, "") << line;
    EXPECT_EQ(r.err.rfind("heapwarden: ", 0), 0u) << line << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << line << "more than one line: " << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << line << r.err;
    EXPECT_LT(r.err.size(), 400u) << line;
  }

  // Every command that reads `path`.
  void ExpectEveryCommandRefuses(const std::string& path, const std::string& message) {
    for (const char* format : {"text", "json", "collapsed", "html", "pprof"}) {
      ExpectRefused({"report", path, "--format", format}, message);
    }
    ExpectRefused({"report", path, "-o", dir_.File("out.txt")}, message);
    EXPECT_FALSE(FileExists(dir_.File("out.txt")));
    ExpectRefused({"check", path}, message);
    ExpectRefused({"diff", path, good_}, message);
    ExpectRefused({"diff", good_, path}, message);
    ExpectRefused({"symbolize", path, "-o", dir_.File("sym.json")}, message);
    EXPECT_FALSE(FileExists(dir_.File("sym.json")));
  }

  TempDir dir_;
  std::string good_;
};

TEST_F(BadReports, TheGoodReportIsReadByEveryCommand) {
  for (const char* format : {"text", "json", "collapsed"}) {
    CommandResult r = RunCommand(Command{.argv = {HeapwardenPath(), "report", good_, "--format", format}});
    EXPECT_EQ(r.exit_status, 0) << format << r.Describe();
  }
  EXPECT_EQ(RunCommand(Command{.argv = {HeapwardenPath(), "check", good_}}).exit_status, 0);
  EXPECT_EQ(RunCommand(Command{.argv = {HeapwardenPath(), "diff", good_, good_}}).exit_status, 0);
  CommandResult r = RunCommand(
      Command{.argv = {HeapwardenPath(), "symbolize", good_, "-o", dir_.File("sym.json")}});
  EXPECT_EQ(r.exit_status, 0) << r.Describe();
  EXPECT_EQ(nlohmann::json::parse(ReadFile(dir_.File("sym.json")))["version"], 2);
}

TEST_F(BadReports, EveryCommandRefusesEveryBadInputWithOneLine) {
  for (const BadInput& input : BadInputs()) {
    SCOPED_TRACE(input.name);
    const std::string path = dir_.File(input.name + ".json");
    WriteFile(path, input.text);
    ExpectEveryCommandRefuses(path, input.message);
  }
}

TEST_F(BadReports, MissingDirectoryAndFifoAreRefusedWithoutBlocking) {
  ExpectEveryCommandRefuses(dir_.File("absent.json"), "cannot open: No such file or directory");
  ExpectEveryCommandRefuses(dir_.path(), "not a regular file");
  const std::string fifo = dir_.File("fifo.json");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  ExpectEveryCommandRefuses(fifo, "not a regular file");
}

TEST_F(BadReports, CheckSuppressionsMustBeARegularFile) {
  const std::string fifo = dir_.File("supp.fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  ExpectRefused({"check", good_, "--suppressions", fifo}, "not a regular file");
  ExpectRefused({"check", good_, "--suppressions", dir_.path()}, "not a regular file");
  ExpectRefused({"check", good_, "--suppressions", dir_.File("absent.txt")}, "cannot open");
}

}  // namespace
}  // namespace heapwarden::testutil
