// real_programs_test.cc: programs nobody here wrote run under heapwarden exactly as they
// run without it: python3 with numpy, git, sqlite3, gcc, sort on a 20 MB file, and the
// threaded fork/exec program. Each runs plain and under `heapwarden run`; stdout and exit
// status must be identical and the report must have counted allocations. Also python3
// under the bare preload stacked in front of mimalloc, a known trap for interposers.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "report_helpers.h"

namespace heapwarden::testutil {
namespace {

constexpr int kTimeoutS = 240;

struct Comparison {
  CommandResult plain;
  CommandResult tracked;
};

// The report is the tracked program's own (not one of the children it spawned, which
// inherit the preload) and it counted allocations.
void ExpectReportCounted(const std::string &report_path, const std::vector<std::string> &argv,
                         const std::string &what) {
  std::string error;
  auto report = LoadReport(report_path, &error);
  ASSERT_TRUE(report) << what << ": " << error;
  ASSERT_TRUE(report->contains("totals")) << what;
  EXPECT_GT((*report)["totals"].value("allocations", int64_t{0}), 0) << what;
  ASSERT_TRUE(report->contains("process")) << what;
  EXPECT_EQ((*report)["process"].value("argv", nlohmann::json::array()), nlohmann::json(argv))
      << what;
  EXPECT_TRUE((*report)["process"].value("complete", false)) << what;
}

// Runs `command` plain in plain_dir and under `heapwarden run` in tracked_dir (holding
// the same files), and checks status, stdout and the report.
Comparison RunBoth(Command command, const std::string &plain_dir, const std::string &tracked_dir,
                   const std::string &report_path, const std::string &what) {
  Comparison c;
  command.timeout_s = kTimeoutS;
  command.cwd = plain_dir;
  c.plain = RunCommand(command);
  command.cwd = tracked_dir;
  c.tracked = RunCommand(UnderHeapwarden(command, report_path));
  EXPECT_FALSE(c.plain.timed_out) << what;
  EXPECT_FALSE(c.tracked.timed_out) << what;
  EXPECT_EQ(c.tracked.exit_status, c.plain.exit_status)
      << what << "\nplain: " << c.plain.Describe() << "\ntracked: " << c.tracked.Describe();
  EXPECT_EQ(c.tracked.out, c.plain.out) << what;
  ExpectReportCounted(report_path, command.argv, what);
  return c;
}

// Two working directories, plain/ and tracked/, inside a temp dir.
struct Dirs {
  TempDir tmp;
  std::string plain = tmp.File("plain");
  std::string tracked = tmp.File("tracked");
  Dirs() {
    mkdir(plain.c_str(), 0755);
    mkdir(tracked.c_str(), 0755);
  }
  void WriteBoth(const std::string &name, const std::string &contents) {
    WriteFile(plain + "/" + name, contents);
    WriteFile(tracked + "/" + name, contents);
  }
};

const char kNumpyScript[] = R"py(
import collections
import numpy as np
rng = np.random.default_rng(12345)
a = rng.integers(0, 1000, size=(300, 300))
b = a @ a.T
words = collections.Counter(str(int(x) % 97) for x in a.ravel())
table = {i: list(range(i % 50)) for i in range(20000)}
x = rng.standard_normal(200000)
s = np.sort(x)
print(int(b.trace()), int(b.sum() % 1000003), len(words), sum(map(len, table.values())))
print(f"{s[1000]:.6f} {x.mean():.9f} {np.median(x):.6f}")
)py";

TEST(RealPrograms, Python3Numpy) {
  Dirs dirs;
  Command command{.argv = {"/usr/bin/python3", "-c", kNumpyScript}};
  auto c = RunBoth(command, dirs.plain, dirs.tracked, dirs.tmp.File("python.json"), "python3");
  EXPECT_EQ(c.plain.exit_status, 0) << c.plain.Describe();
  EXPECT_FALSE(c.plain.out.empty());
}

TEST(RealPrograms, GitInitAddCommitLog) {
  Dirs dirs;
  const std::string date = "2024-01-02T03:04:05+00:00";
  const std::map<std::string, std::string> env = {
      {"GIT_AUTHOR_NAME", "Heap Warden"},    {"GIT_AUTHOR_EMAIL", "hw@example.invalid"},
      {"GIT_AUTHOR_DATE", date},             {"GIT_COMMITTER_NAME", "Heap Warden"},
      {"GIT_COMMITTER_EMAIL", "hw@example.invalid"}, {"GIT_COMMITTER_DATE", date},
      {"GIT_CONFIG_NOSYSTEM", "1"},          {"GIT_CONFIG_GLOBAL", "/dev/null"},
      {"HOME", dirs.tmp.path()},             {"LC_ALL", "C"},
      {"TZ", "UTC"},                         {"GIT_PAGER", "cat"},
  };
  for (int i = 0; i < 120; ++i) {
    std::string text;
    for (int line = 0; line < 40; ++line) {
      text += "file " + std::to_string(i) + " line " + std::to_string(line * 7919 % 1000) + "\n";
    }
    dirs.WriteBoth("f" + std::to_string(i) + ".txt", text);
  }
  const std::vector<std::vector<std::string>> steps = {
      {"git", "init", "-q", "-b", "main"},
      {"git", "add", "."},
      {"git", "commit", "-m", "first commit"},
      {"git", "rm", "-q", "f7.txt"},
      {"git", "commit", "-m", "second commit"},
      {"git", "log", "--stat", "--format=%H %an <%ae> %ad %s"},
      {"git", "diff", "--stat", "HEAD~1", "HEAD"},
      {"git", "status", "--porcelain"},
  };
  int n = 0;
  for (const auto &argv : steps) {
    Command command{.argv = argv, .set_env = env};
    const std::string what = "step " + std::to_string(n) + ": " + argv[1];
    RunBoth(command, dirs.plain, dirs.tracked,
            dirs.tmp.File("git" + std::to_string(n++) + ".json"), what);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(RealPrograms, Sqlite3InsertsAndSelects) {
  Dirs dirs;
  std::string sql =
      "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, value REAL, grp INTEGER);\n"
      "BEGIN;\n";
  for (int i = 0; i < 4000; ++i) {
    sql += "INSERT INTO t(name, value, grp) VALUES('name-" + std::to_string(i * 7919 % 4000) +
           "', " + std::to_string(i % 1000) + ".25, " + std::to_string(i % 17) + ");\n";
  }
  sql += "COMMIT;\n"
         "CREATE INDEX t_grp ON t(grp);\n"
         "SELECT grp, count(*), sum(value), max(name) FROM t GROUP BY grp ORDER BY grp;\n"
         "SELECT count(*) FROM t WHERE name LIKE '%77%';\n"
         "SELECT name FROM t ORDER BY name DESC LIMIT 5;\n";
  dirs.WriteBoth("script.sql", sql);
  Command command{.argv = {"sqlite3", "test.db"}, .stdin_path = dirs.plain + "/script.sql"};
  auto c = RunBoth(command, dirs.plain, dirs.tracked, dirs.tmp.File("sqlite3.json"), "sqlite3");
  ASSERT_EQ(c.plain.exit_status, 0) << c.plain.Describe();
  EXPECT_NE(c.plain.out.find("|"), std::string::npos) << c.plain.out;
}

TEST(RealPrograms, GccCompilesAnObject) {
  Dirs dirs;
  std::string source = "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n";
  for (int i = 0; i < 60; ++i) {
    const std::string n = std::to_string(i);
    source += "static int table" + n + "[64];\n"
              "int work" + n + "(const char *s, int k) {\n"
              "  int acc = " + n + ";\n"
              "  for (size_t j = 0; j < strlen(s); ++j) acc = acc * 31 + s[j] + table" + n + "[j % 64] + k;\n"
              "  return acc;\n}\n";
  }
  source += "int main(int argc, char **argv) { printf(\"%d\\n\", work0(argv[0], argc)); return 0; }\n";
  dirs.WriteBoth("small.c", source);
  Command command{.argv = {"gcc", "-O2", "-Wall", "-c", "small.c", "-o", "small.o"}};
  auto c = RunBoth(command, dirs.plain, dirs.tracked, dirs.tmp.File("gcc.json"), "gcc");
  ASSERT_EQ(c.plain.exit_status, 0) << c.plain.Describe();
  const std::string a = ReadFile(dirs.plain + "/small.o");
  const std::string b = ReadFile(dirs.tracked + "/small.o");
  EXPECT_GT(a.size(), 1000u);
  EXPECT_TRUE(a == b) << "the object files differ (" << a.size() << " vs " << b.size()
                      << " bytes)";
}

TEST(RealPrograms, SortOfTwentyMegabytes) {
  Dirs dirs;
  std::string input;
  input.reserve(21 << 20);
  uint64_t state = 0x9e3779b97f4a7c15ull;
  while (input.size() < (20u << 20)) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    input += std::to_string(state % 1000000007) + " " + std::to_string(state >> 44) + " x\n";
  }
  const std::string input_path = dirs.tmp.File("input.txt");
  WriteFile(input_path, input);
  input.clear();
  input.shrink_to_fit();
  Command plain{.argv = {"sort", "-k2,2n", "-k1,1", input_path},
                .set_env = {{"LC_ALL", "C"}},
                .stdout_path = dirs.tmp.File("plain.out"),
                .timeout_s = kTimeoutS};
  Command tracked = plain;
  tracked.stdout_path = dirs.tmp.File("tracked.out");
  CommandResult a = RunCommand(plain);
  const std::string report_path = dirs.tmp.File("sort.json");
  CommandResult b = RunCommand(UnderHeapwarden(tracked, report_path));
  ASSERT_EQ(a.exit_status, 0) << a.Describe();
  EXPECT_EQ(b.exit_status, 0) << b.Describe();
  const std::string plain_out = ReadFile(plain.stdout_path);
  EXPECT_GE(plain_out.size(), 20u << 20);
  EXPECT_TRUE(plain_out == ReadFile(tracked.stdout_path)) << "sort output differs";
  ExpectReportCounted(report_path, plain.argv, "sort");
}

TEST(RealPrograms, ThreadsForkAndExec) {
  Dirs dirs;
  Command command{.argv = {HW_PROGRAM_mt_fork_exec}};
  auto c = RunBoth(command, dirs.plain, dirs.tracked, dirs.tmp.File("mt.json"), "mt_fork_exec");
  EXPECT_EQ(c.plain.exit_status, 0) << c.plain.Describe();
  EXPECT_NE(c.plain.out.find("200000 blocks freed"), std::string::npos) << c.plain.out;
}

// heapwarden's preload first, mimalloc after it: heapwarden's malloc must forward to
// mimalloc's (the next definition), and free must not hand mimalloc blocks to glibc.
TEST(RealPrograms, Python3UnderThePreloadInFrontOfMimalloc) {
  const std::string mimalloc = "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2";
  ASSERT_TRUE(FileExists(mimalloc)) << "libmimalloc2.0 is missing (scripts/setup.sh)";
  TempDir dir;
  Command command{.argv = {"/usr/bin/python3", "-c", kNumpyScript}, .timeout_s = kTimeoutS};
  CommandResult plain = RunCommand(command);
  ASSERT_EQ(plain.exit_status, 0) << plain.Describe();
  const std::string report_path = dir.File("mi.json");
  CommandResult tracked = RunCommand(UnderPreload(command, "output=" + report_path, mimalloc));
  EXPECT_EQ(tracked.exit_status, 0) << tracked.Describe();
  EXPECT_EQ(tracked.out, plain.out);
  for (int i = 0; i < 600 && !FileExists(report_path); ++i) usleep(50000);
  ExpectReportCounted(report_path, command.argv, "python3 + mimalloc");
}

}  // namespace
}  // namespace heapwarden::testutil
