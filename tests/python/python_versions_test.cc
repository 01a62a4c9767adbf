// python_versions_test.cc: the same script checks under each CPython version heapwarden
// has a layout for (pyenv's interpreters, built from source: PIE executables linked
// with libpython3.X.so), and one warning line plus native stacks for versions it does
// not know. A version missing from this machine is skipped with the reason: CI's fresh
// Debian has none of pyenv's interpreters.
// ctest label: python.
#include <dirent.h>
#include <stdlib.h>

#include <algorithm>
#include <string>

#include <gtest/gtest.h>

#include "python_test_helpers.h"

namespace heapwarden::testutil {
namespace {

// $PYENV_ROOT/versions/<major.minor.*>/bin/python3 (PYENV_ROOT: ~/.pyenv, or /root/.pyenv),
// or "" when there is none.
std::string PyenvPython(const std::string& major_minor) {
  std::string root;
  if (const char* env = getenv("PYENV_ROOT"); env != nullptr && *env != '\0') {
    root = env;
  } else if (const char* home = getenv("HOME"); home != nullptr && FileExists(std::string(home) + "/.pyenv")) {
    root = std::string(home) + "/.pyenv";
  } else {
    root = "/root/.pyenv";
  }
  const std::string versions = root + "/versions";
  std::string found;
  if (DIR* d = opendir(versions.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name.rfind(major_minor + ".", 0) != 0) continue;
      const std::string python = versions + "/" + name + "/bin/python3";
      if (FileExists(python)) found = python;
    }
    closedir(d);
  }
  return found;
}

class PythonVersion : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    python_ = PyenvPython(GetParam());
    if (python_.empty()) GTEST_SKIP() << "no pyenv CPython " << GetParam() << " on this machine";
  }
  std::string python_;
};

TEST_P(PythonVersion, GeneratorsCoroutinesExceptionsRecursion) { CheckShapes(python_); }

TEST_P(PythonVersion, ThreadingThreadAndForkChild) { CheckThreadsAndFork(python_); }

// Frames entered from C: __init__ called by the type (3.13 puts a shim frame between),
// and a hook the json C scanner calls (a nested evaluator call, its own group).
TEST_P(PythonVersion, InitAndACallbackFromC) {
  TempDir dir;
  const std::string script = Script("calls.py");
  const std::string report_path = dir.File("calls.json");
  auto result = RunCommand(UnderPreload({.argv = {python_, script}}, "symbolize=0:output=" + report_path));
  ASSERT_EQ(result.exit_status, 0) << result.Describe();
  EXPECT_EQ(result.err.find("heapwarden: "), std::string::npos) << "no warning: " << result.err;
  nlohmann::json report = Load(report_path);
  auto init = FramesOfBytearray(report, 700001);
  ASSERT_EQ(init.size(), 3u) << Describe(init);
  EXPECT_EQ(init[0].function, "Holder.__init__");
  EXPECT_EQ(init[0].line, MarkedLine(script, "init"));
  EXPECT_EQ(init[1].function, "make");
  EXPECT_EQ(init[1].line, MarkedLine(script, "make"));
  EXPECT_EQ(init[2].function, "<module>");
  auto hook = FramesOfBytearray(report, 700003);
  ASSERT_GE(hook.size(), 3u) << Describe(hook);
  EXPECT_EQ(hook[0].function, "hook");
  EXPECT_EQ(hook[0].line, MarkedLine(script, "hook"));
  EXPECT_EQ(hook.back().function, "<module>");
  EXPECT_EQ(hook.back().line, MarkedLine(script, "loads"));
  EXPECT_EQ(hook.back().file, script);
}

INSTANTIATE_TEST_SUITE_P(Pyenv, PythonVersion, ::testing::Values("3.11", "3.12", "3.13"),
                         [](const auto& info) {
                           std::string name = std::string("Py") + info.param;  // Py3_12
                           std::replace(name.begin(), name.end(), '.', '_');
                           return name;
                         });

// A version without a layout: exactly one warning line on stderr, every stack native,
// the program's own output unchanged.
void ExpectOneWarningAndNativeStacks(const std::vector<std::string>& argv, const std::string& expect_in_warning) {
  TempDir dir;
  const std::string report_path = dir.File("unknown.json");
  auto result = RunCommand(UnderPreload({.argv = argv}, "symbolize=0:output=" + report_path));
  ASSERT_EQ(result.exit_status, 0) << result.Describe();
  int warnings = 0;
  size_t at = 0;
  while ((at = result.err.find("heapwarden: ", at)) != std::string::npos) {
    ++warnings;
    at += 1;
  }
  EXPECT_EQ(warnings, 1) << result.err;
  EXPECT_NE(result.err.find(expect_in_warning), std::string::npos) << result.err;
  nlohmann::json report = Load(report_path);
  ASSERT_GT(report["stacks"].size(), 0u);
  for (const auto& stack : report["stacks"]) EXPECT_TRUE(PythonFramesOf(&stack).empty());
}

TEST(PythonUnknownVersion, OlderThan311) {
  const std::string python = PyenvPython("3.10");
  if (python.empty()) GTEST_SKIP() << "no pyenv CPython 3.10 on this machine";
  ExpectOneWarningAndNativeStacks({python, Script("shapes.py")}, "older than 3.11");
}

TEST(PythonUnknownVersion, NewerThanTheTables) {
  ExpectOneWarningAndNativeStacks({HW_FAKE_PYTHON}, "CPython 3.99");
}

// 3.13's table is checked against the offsets the interpreter publishes: a
// free-threaded build (another object layout) is refused with the field named.
TEST(PythonUnknownVersion, FreeThreaded313IsRefused) {
  ExpectOneWarningAndNativeStacks({HW_FAKE_PYTHON313T}, "CPython 3.13: its _Py_DebugOffsets (free_threaded) differ");
}

}  // namespace
}  // namespace heapwarden::testutil
