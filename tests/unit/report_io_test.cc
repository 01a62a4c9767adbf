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
  report["version"] = 2;
  EXPECT_THAT(LoadError(WriteText("v2.json", report.dump())),
              HasSubstr("unsupported report version 2"));
}

TEST_F(ReportIoTest, MissingSection) {
  nlohmann::json report = MinimalReport();
  report.erase("totals");
  EXPECT_THAT(LoadError(WriteText("nototals.json", report.dump())),
              HasSubstr("not a heapwarden report (\"totals\" is missing or not an object)"));
  report = MinimalReport();
  report["leaks"] = "none";
  EXPECT_THAT(LoadError(WriteText("leaks.json", report.dump())),
              HasSubstr("\"leaks\" is not an array"));
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
  ASSERT_TRUE(WriteReportAtomically(path, MinimalReport()).ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  absl::StatusOr<nlohmann::json> loaded = LoadReport(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, MinimalReport());
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

TEST_F(ReportIoTest, WriteRefusesAPlantedTemporaryLink) {
  std::string victim = WriteText("victim", "keep me");
  std::string path = Path("out.json");
  std::string temp = path + ".tmp." + std::to_string(getpid());
  ASSERT_EQ(symlink(victim.c_str(), temp.c_str()), 0);
  absl::Status status = WriteReportAtomically(path, MinimalReport());
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), StartsWith(path + ": cannot create "));
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
}  // namespace heapwarden::report
