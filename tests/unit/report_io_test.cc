// report_io_test.cc: loading reports (validation, one-line errors) and writing them
// atomically.
// Report side.
#include "report/report_io.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace heapwarden::report {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

nlohmann::json MinimalReport() {
  return nlohmann::json::parse(R"({
    "format": "heapwarden-report", "version": 1,
    "process": {"pid": 42, "argv": ["./a"], "exe": "/a", "backend": "system",
                "mode": "exact", "complete": true},
    "totals": {"allocations": 3, "frees": 1, "bytes_allocated": 4096, "live_blocks": 2,
               "live_bytes": 2048, "peak_live_bytes": 4096, "peak_time": 0.5,
               "rss_bytes": 1000000, "peak_rss_bytes": 2000000, "retained_bytes": 0},
    "stacks": [{"id": 1, "frames": [{"address": "0x55d0c0a1b2c3", "module": "/a", "offset": 4660}]}],
    "sites": [], "tags": [], "leaks": [], "long_lived": [],
    "peak": {"time": 0.5, "live_bytes": 4096, "sites": []},
    "timeline": [], "trims": [], "errors": [],
    "heapwarden": {"version": "0.1.0", "symbolized": false, "options": "",
                   "dropped_events": 0, "report_time": 1.5}
  })");
}

class ReportIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/hw_report_io_test.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    DIR* handle = opendir(dir_.c_str());
    while (struct dirent* entry = handle ? readdir(handle) : nullptr) {
      std::string name = entry->d_name;
      if (name != "." && name != "..") unlink((dir_ + "/" + name).c_str());
    }
    if (handle) closedir(handle);
    rmdir(dir_.c_str());
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::string WriteText(const std::string& name, const std::string& text) {
    std::ofstream(Path(name)) << text;
    return Path(name);
  }

  std::vector<std::string> Files() const {
    std::vector<std::string> names;
    DIR* handle = opendir(dir_.c_str());
    while (struct dirent* entry = readdir(handle)) {
      std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    closedir(handle);
    return names;
  }

  // The error of loading `path`, checked to be one line led by the path.
  std::string LoadError(const std::string& path) {
    absl::StatusOr<nlohmann::json> loaded = LoadReport(path);
    EXPECT_FALSE(loaded.ok());
    if (loaded.ok()) return "";
    std::string message(loaded.status().message());
    EXPECT_THAT(message, StartsWith(path + ": "));
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    return message;
  }

  std::string dir_;
};

TEST_F(ReportIoTest, LoadsAValidReport) {
  std::string path = WriteText("ok.json", MinimalReport().dump());
  absl::StatusOr<nlohmann::json> loaded = LoadReport(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)["process"]["pid"], 42);
}

TEST_F(ReportIoTest, MissingFile) {
  EXPECT_EQ(LoadError(Path("absent.json")),
            Path("absent.json") + ": cannot open: No such file or directory");
}

TEST_F(ReportIoTest, EmptyFile) {
  EXPECT_THAT(LoadError(WriteText("empty.json", "")), HasSubstr("empty file"));
  EXPECT_THAT(LoadError(WriteText("blank.json", " \n")), HasSubstr("empty file"));
}

TEST_F(ReportIoTest, TruncatedJson) {
  std::string text = MinimalReport().dump(2);
  std::string path = WriteText("cut.json", text.substr(0, text.size() / 2));
  EXPECT_THAT(LoadError(path), HasSubstr(": truncated JSON"));
}

TEST_F(ReportIoTest, CorruptJsonNamesLineAndColumn) {
  std::string path = WriteText("bad.json", "{\n  \"format\": heapwarden\n}\n");
  EXPECT_EQ(LoadError(path), path + ": corrupt JSON at line 2, column 13");
}

TEST_F(ReportIoTest, BinaryGarbage) {
  std::string path = WriteText("garbage.json", std::string("\x7f"
                                                           "ELF\x02\x01\x01\0\0",
                                                           9));
  EXPECT_THAT(LoadError(path), HasSubstr("corrupt JSON"));
}

TEST_F(ReportIoTest, WrongFormat) {
  nlohmann::json report = MinimalReport();
  report["format"] = "pprof";
  EXPECT_EQ(LoadError(WriteText("other.json", report.dump())),
            Path("other.json") +
                ": not a heapwarden report (\"format\" is \"pprof\", not \"heapwarden-report\")");
  report.erase("format");
  EXPECT_THAT(LoadError(WriteText("none.json", report.dump())),
              HasSubstr("not a heapwarden report (\"format\" is missing)"));
}

TEST_F(ReportIoTest, NotAnObject) {
  EXPECT_THAT(LoadError(WriteText("array.json", "[1, 2]")),
              HasSubstr("not a heapwarden report (the document is not a JSON object)"));
}

TEST_F(ReportIoTest, UnsupportedVersion) {
  nlohmann::json report = MinimalReport();
  report["version"] = 3;
  EXPECT_THAT(LoadError(WriteText("v3.json", report.dump())),
              HasSubstr("unsupported report version 3 (this heapwarden reads versions 1 to 2)"));
  report["version"] = 0;
  EXPECT_THAT(LoadError(WriteText("v0.json", report.dump())),
              HasSubstr("unsupported report version 0"));
  report["version"] = "2";
  EXPECT_THAT(LoadError(WriteText("vs.json", report.dump())),
              HasSubstr("\"version\" is missing or not an integer"));
}

TEST_F(ReportIoTest, MissingSection) {
  nlohmann::json report = MinimalReport();
  report.erase("totals");
  EXPECT_THAT(LoadError(WriteText("nototals.json", report.dump())),
              HasSubstr("not a heapwarden report (\"totals\" is missing)"));
  report = MinimalReport();
  report["leaks"] = "none";
  EXPECT_THAT(LoadError(WriteText("leaks.json", report.dump())),
              HasSubstr("(leaks is \"none\", not an array)"));
}

TEST_F(ReportIoTest, MalformedFrameIsNamed) {
  nlohmann::json report = MinimalReport();
  report["stacks"][0]["frames"][0]["offset"] = "4660";
  EXPECT_THAT(LoadError(WriteText("offset.json", report.dump())),
              HasSubstr("(stacks[0].frames[0].offset is not a non-negative integer)"));
  report = MinimalReport();
  report["stacks"][0]["frames"][0]["address"] = "55d0";
  EXPECT_THAT(LoadError(WriteText("address.json", report.dump())),
              HasSubstr("(stacks[0].frames[0].address is not a hex string)"));
}

TEST_F(ReportIoTest, DirectoryAndFifoAreRefusedWithoutWaiting) {
  EXPECT_THAT(LoadError(dir_), HasSubstr(": not a regular file"));
  std::string fifo = Path("fifo.json");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THAT(LoadError(fifo), HasSubstr(": not a regular file"));
}

TEST_F(ReportIoTest, ParseReportUsesTheGivenName) {
  absl::StatusOr<nlohmann::json> parsed = ParseReport("{}", "snapshot");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(std::string(parsed.status().message()), StartsWith("snapshot: not a heapwarden"));
}

TEST_F(ReportIoTest, WriteIsPrivateCompleteAndLeavesNoTemporaryFile) {
  std::string path = Path("out.json");
  absl::StatusOr<nlohmann::json> v2 = ParseReport(MinimalReport().dump(), "minimal");
  ASSERT_TRUE(v2.ok()) << v2.status();
  ASSERT_TRUE(WriteReportAtomically(path, *v2).ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  absl::StatusOr<nlohmann::json> loaded = LoadReport(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, *v2);
  EXPECT_EQ(Files(), std::vector<std::string>{"out.json"});
}

TEST_F(ReportIoTest, WriteReplacesAnExistingFile) {
  std::string path = WriteText("out.json", "old contents");
  chmod(path.c_str(), 0644);
  ASSERT_TRUE(WriteReportAtomically(path, MinimalReport()).ok());
  EXPECT_TRUE(LoadReport(path).ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ReportIoTest, WriteReplacesASymlinkInsteadOfFollowingIt) {
  std::string victim = WriteText("victim", "keep me");
  std::string path = Path("out.json");
  ASSERT_EQ(symlink(victim.c_str(), path.c_str()), 0);
  ASSERT_TRUE(WriteReportAtomically(path, MinimalReport()).ok());
  std::stringstream kept;
  kept << std::ifstream(victim).rdbuf();
  EXPECT_EQ(kept.str(), "keep me");
  struct stat st;
  ASSERT_EQ(lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST_F(ReportIoTest, WriteNeverFollowsAPlantedTemporaryLink) {
  std::string victim = WriteText("victim", "keep me");
  std::string path = Path("out.json");
  std::string temp = path + ".tmp." + std::to_string(getpid());
  ASSERT_EQ(symlink(victim.c_str(), temp.c_str()), 0);
  // The link is removed as a stale temporary file (unlink never follows it) and the
  // report written afresh, O_EXCL|O_NOFOLLOW: the link's target is never touched.
  absl::Status status = WriteReportAtomically(path, MinimalReport());
  ASSERT_TRUE(status.ok()) << status;
  struct stat st;
  ASSERT_EQ(lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_NE(lstat(temp.c_str(), &st), 0) << "the planted link is gone";
  std::stringstream kept;
  kept << std::ifstream(victim).rdbuf();
  EXPECT_EQ(kept.str(), "keep me");
}

TEST_F(ReportIoTest, WriteIntoAMissingDirectoryFailsWithOneLine) {
  std::string path = Path("no/such/dir/out.json");
  absl::Status status = WriteReportAtomically(path, MinimalReport());
  ASSERT_FALSE(status.ok());
  std::string message(status.message());
  EXPECT_THAT(message, StartsWith(path + ": "));
  EXPECT_THAT(message, HasSubstr("No such file or directory"));
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST_F(ReportIoTest, InvalidUtf8IsReplacedNotThrown) {
  nlohmann::json report = MinimalReport();
  report["process"]["argv"][0] = std::string("\xff\xfe", 2);
  std::string path = Path("utf8.json");
  ASSERT_TRUE(WriteReportAtomically(path, report).ok());
  EXPECT_TRUE(LoadReport(path).ok());
}

}  // namespace
// The record side's raw version 1 becomes version 2: every distinct frame once, stacks
// of ids, modules by id.
TEST_F(ReportIoTest, Version1BecomesVersion2WithEachFrameOnce) {
  nlohmann::json report = MinimalReport();
  nlohmann::json frame = report["stacks"][0]["frames"][0];
  nlohmann::json other = {{"address", "0x7f0000001000"}, {"module", "/lib/libc.so.6"}, {"offset", 4096}};
  report["stacks"] = nlohmann::json::array(
      {{{"id", 1}, {"frames", {frame, other}}}, {{"id", 7}, {"frames", {other, frame, frame}}}});
  report["sites"] = nlohmann::json::parse(R"([{"stack": 7, "tag": "", "live_bytes": 5}])");
  int version = 0;
  absl::StatusOr<nlohmann::json> v2 = ParseReport(report.dump(), "v1", &version);
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(version, 1);
  EXPECT_EQ((*v2)["version"], 2);
  ASSERT_EQ((*v2)["frames"].size(), 2u);
  ASSERT_EQ((*v2)["modules"].size(), 2u);
  EXPECT_EQ((*v2)["stacks"][0]["frames"], nlohmann::json::parse("[0, 1]"));
  EXPECT_EQ((*v2)["stacks"][1]["frames"], nlohmann::json::parse("[1, 0, 0]"));
  EXPECT_EQ((*v2)["stacks"][1]["id"], 7);
  const nlohmann::json& libc = (*v2)["frames"][1];
  EXPECT_EQ(libc["kind"], "native");
  EXPECT_EQ(libc["offset"], 4096);
  EXPECT_EQ(libc["address"], "0x7f0000001000");
  EXPECT_EQ((*v2)["modules"][libc["module"].get<int>()]["path"], "/lib/libc.so.6");
  // Loading version 2 again changes nothing.
  absl::StatusOr<nlohmann::json> again = ParseReport(v2->dump(), "v2", &version);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(version, 2);
  EXPECT_EQ(*again, *v2);
}

// The record side will write Python frames inline as {"kind": "python", ...}: they pass
// through as python frames, with no module or address.
TEST_F(ReportIoTest, PythonFramesPassThrough) {
  nlohmann::json report = MinimalReport();
  report["stacks"][0]["frames"].push_back(
      {{"kind", "python"}, {"function", "load"}, {"file", "train.py"}, {"line", 12}});
  report["stacks"][0]["frames"].push_back(
      {{"kind", "python"}, {"function", "load"}, {"file", "train.py"}, {"line", 12}});
  absl::StatusOr<nlohmann::json> v2 = ParseReport(report.dump(), "py");
  ASSERT_TRUE(v2.ok()) << v2.status();
  ASSERT_EQ((*v2)["frames"].size(), 2u);
  const nlohmann::json& py = (*v2)["frames"][1];
  EXPECT_EQ(py, nlohmann::json::parse(
                    R"({"id": 1, "kind": "python", "function": "load", "file": "train.py", "line": 12})"));
  EXPECT_EQ((*v2)["stacks"][0]["frames"], nlohmann::json::parse("[0, 1, 1]"));
  report["stacks"][0]["frames"][1].erase("function");
  EXPECT_THAT(LoadError(WriteText("py.json", report.dump())),
              HasSubstr("(stacks[0].frames[1].function is missing)"));
}

TEST_F(ReportIoTest, WrongTypedOrNegativeNumbersAreErrorsNotZero) {
  struct Case {
    const char* pointer;
    nlohmann::json value;
    const char* message;
  } cases[] = {
      {"/totals/live_bytes", "2048", "(totals.live_bytes is \"2048\", not a non-negative integer)"},
      {"/totals/live_bytes", -5, "(totals.live_bytes is -5, not a non-negative integer)"},
      {"/totals/peak_live_bytes", 1.5, "(totals.peak_live_bytes is 1.5, not a non-negative integer)"},
      {"/totals/peak_time", -1.0, "(totals.peak_time is -1.0, not a non-negative number)"},
      {"/process/pid", "42", "(process.pid is \"42\", not an integer)"},
      {"/process/complete", 1, "(process.complete is 1, not true or false)"},
      {"/heapwarden/symbolized", "yes", "(heapwarden.symbolized is \"yes\", not true or false)"},
      {"/peak/live_bytes", nullptr, "(peak.live_bytes is null, not a non-negative integer)"},
  };
  for (const Case& c : cases) {
    nlohmann::json report = MinimalReport();
    report[nlohmann::json::json_pointer(c.pointer)] = c.value;
    EXPECT_THAT(LoadError(WriteText("typed.json", report.dump())), HasSubstr(c.message)) << c.pointer;
  }
  nlohmann::json report = MinimalReport();
  report["sites"] = nlohmann::json::parse(R"([{"stack": 1, "tag": "", "live_bytes": -1}])");
  EXPECT_THAT(LoadError(WriteText("site.json", report.dump())),
              HasSubstr("(sites[0].live_bytes is -1, not a non-negative integer)"));
  report["sites"] = nlohmann::json::parse(R"([{"stack": 1, "tag": "", "allocations": "3"}])");
  EXPECT_THAT(LoadError(WriteText("site.json", report.dump())),
              HasSubstr("(sites[0].allocations is \"3\", not a non-negative integer)"));
  report["sites"] = nlohmann::json::parse(R"([{"stack": 9, "tag": ""}])");
  EXPECT_THAT(LoadError(WriteText("site.json", report.dump())),
              HasSubstr("(sites[0].stack names stack 9, which is not in \"stacks\")"));
  report = MinimalReport();
  report["stacks"][0]["frames"][0]["line"] = -3;
  EXPECT_THAT(LoadError(WriteText("line.json", report.dump())),
              HasSubstr("(stacks[0].frames[0].line is not a non-negative integer)"));
}

TEST_F(ReportIoTest, BrokenVersion2TablesAreNamed) {
  absl::StatusOr<nlohmann::json> v2 = ParseReport(MinimalReport().dump(), "minimal");
  ASSERT_TRUE(v2.ok()) << v2.status();
  nlohmann::json report = *v2;
  report["stacks"][0]["frames"] = nlohmann::json::parse("[5]");
  EXPECT_THAT(LoadError(WriteText("ref.json", report.dump())),
              HasSubstr("(stacks[0].frames[0] is 5, not the id of a frame in \"frames\")"));
  report = *v2;
  report["frames"][0]["module"] = 9;
  EXPECT_THAT(LoadError(WriteText("mod.json", report.dump())),
              HasSubstr("(frames[0].module names module 9, which is not in \"modules\")"));
  report = *v2;
  report["stacks"][0]["frames"] = MinimalReport()["stacks"][0]["frames"];
  EXPECT_THAT(LoadError(WriteText("inline.json", report.dump())),
              HasSubstr("inline frames belong to version 1"));
}

// nlohmann recurses over nested values: a hostile file must be refused before that.
TEST_F(ReportIoTest, DeepNestingIsRefusedNotACrash) {
  std::string deep = std::string(50000, '[') + std::string(50000, ']');
  EXPECT_THAT(LoadError(WriteText("deep.json", deep)),
              HasSubstr(": JSON nested more than 64 levels deep (at byte 65)"));
  std::string in_string = R"({"format": ")" + std::string(1000, '[') + R"("})";
  EXPECT_THAT(LoadError(WriteText("str.json", in_string)), HasSubstr("\"format\" is"));
}

TEST_F(ReportIoTest, FilesAreCompact) {
  absl::StatusOr<nlohmann::json> v2 = ParseReport(MinimalReport().dump(), "minimal");
  ASSERT_TRUE(v2.ok()) << v2.status();
  std::string path = Path("compact.json");
  ASSERT_TRUE(WriteReportAtomically(path, *v2).ok());
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  EXPECT_EQ(text.str(), v2->dump() + "\n");
}

}  // namespace heapwarden::report
