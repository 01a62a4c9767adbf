// notebook_test.cc: issue 13's notebooks: `heapwarden jupyter-kernel install` writes a
// kernelspec, jupyter_client starts that kernel headless (Debian's python3-ipykernel and
// python3-jupyter-client, scripts/setup.sh), and cells run `%load_ext heapwarden`,
// `%heapwarden snapshot` and `%heapwarden trim`; the cells' output and the snapshot are
// checked field by field.
// ctest label: python.
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "python_test_helpers.h"

namespace heapwarden::testutil {
namespace {

constexpr const char* kDebianPython = "/usr/bin/python3";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string Trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \n");
  const size_t b = s.find_last_not_of(" \n");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

CommandResult Install(const TempDir& dir, const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {HeapwardenPath(), "jupyter-kernel", "install"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return RunCommand({.argv = argv,
                     .set_env = {{"HOME", dir.path()}},
                     .unset_env = {"JUPYTER_DATA_DIR", "XDG_DATA_HOME"},
                     .timeout_s = 60});
}

TEST(Notebook, KernelspecRunsTheKernelUnderHeapwarden) {
  TempDir dir;
  const std::string reports = dir.File("reports");
  auto installed = Install(dir, {"--prefix", dir.File("jupyter"), "--name", "hw-test", "--python",
                                 kDebianPython, "--reports", reports});
  ASSERT_EQ(installed.exit_status, 0) << installed.Describe();
  const std::string kernels = dir.File("jupyter/share/jupyter/kernels");
  auto spec = std::make_optional(nlohmann::json::parse(ReadFile(kernels + "/hw-test/kernel.json"), nullptr, false));
  ASSERT_FALSE(spec->is_discarded());
  const auto& argv = (*spec)["argv"];
  ASSERT_EQ(argv.size(), 10u) << spec->dump();
  EXPECT_EQ(argv[0], HeapwardenPath());
  EXPECT_EQ(argv[1], "run");
  EXPECT_EQ(argv[2], "-o");
  EXPECT_EQ(argv[3], reports + "/kernel.%p.json");
  EXPECT_EQ(argv[4], "--");
  EXPECT_EQ(argv[5], kDebianPython);
  EXPECT_EQ(argv[7], "ipykernel_launcher");
  EXPECT_EQ(argv[9], "{connection_file}");
  EXPECT_EQ((*spec)["language"], "python");
  EXPECT_EQ((*spec)["env"]["HEAPWARDEN_REPORT_DIR"], reports);

  // Cells: a 32 MiB array made on line 3 of cell 1 and kept; its code's file name; the
  // kernel's pid; the magics.
  const nlohmann::json cells = {
      "import numpy as np\ndef make_table():\n    return np.ones(4 << 20)\ntable = make_table()",
      "import os\nprint(os.getpid())\nprint(make_table.__code__.co_filename)",
      "%load_ext heapwarden",
      "%heapwarden snapshot",
      "%heapwarden trim",
      "%heapwarden",
      "%heapwarden frobnicate",
      "# INTERRUPT\nimport time\ntime.sleep(60)",
      "print(table.nbytes)",
  };
  const std::string cells_path = dir.File("cells.json");
  WriteFile(cells_path, cells.dump());
  auto driven = RunCommand({.argv = {kDebianPython, Script("notebook_driver.py"), kernels, "hw-test", "120"},
                            .stdin_path = cells_path,
                            .timeout_s = 300});
  ASSERT_EQ(driven.exit_status, 0) << driven.Describe();
  nlohmann::json result = nlohmann::json::parse(driven.out, nullptr, false);
  ASSERT_FALSE(result.is_discarded()) << driven.out;
  const auto& out = result["outputs"];
  ASSERT_EQ(out.size(), cells.size()) << driven.out;
  EXPECT_EQ(out[0], "");
  const auto ids = Lines(out[1].get<std::string>());
  ASSERT_EQ(ids.size(), 2u) << out[1];
  const int64_t kernel_pid = std::stoll(ids[0]);
  const std::string cell_file = ids[1];
  EXPECT_EQ(out[2], "") << "%load_ext heapwarden prints nothing";

  // %heapwarden snapshot: where it went, one line of figures, then live memory by line.
  const auto snap = Lines(out[3].get<std::string>());
  ASSERT_GE(snap.size(), 4u) << out[3];
  const std::string prefix = "heapwarden: snapshot written to ";
  ASSERT_EQ(snap[0].rfind(prefix, 0), 0u) << out[3];
  const std::string snapshot_path = snap[0].substr(prefix.size());
  EXPECT_EQ(snapshot_path, reports + "/snapshot." + std::to_string(kernel_pid) + ".1.json");
  EXPECT_EQ(snap[1].rfind("live heap ", 0), 0u) << out[3];
  EXPECT_NE(snap[1].find("RSS"), std::string::npos) << out[3];
  EXPECT_EQ(snap[2].rfind("live memory by line", 0), 0u) << out[3];
  // The array's row: the cell's function and line, as IPython names cells.
  bool found = false;
  for (size_t row = 3; row < snap.size(); ++row) {
    found = found || Trim(snap[row]) == "32.0 MiB       1 blocks  make_table (Cell In[1], line 3)";
  }
  EXPECT_TRUE(found) << out[3];

  // The snapshot itself: the kernel's, written while it ran, and the array's site names
  // the cell's function and line, then the cell itself on its line 4.
  nlohmann::json report = Load(snapshot_path);
  EXPECT_EQ(report["process"]["pid"], kernel_pid);
  EXPECT_EQ(report["process"]["complete"], false);
  const nlohmann::json* site = nullptr;
  for (const auto& s : report["sites"]) {
    if (s.value("live_bytes", int64_t{0}) == (32 << 20)) site = &s;
  }
  ASSERT_NE(site, nullptr) << "no site with the 32 MiB array live";
  EXPECT_EQ((*site)["live_blocks"], 1);
  auto frames = PythonFramesOf(FindStack(report, (*site)["stack"].get<int64_t>()));
  size_t i = 0;
  while (i < frames.size() && frames[i].function != "make_table") ++i;
  ASSERT_LT(i + 1, frames.size()) << Describe(frames);
  EXPECT_EQ(frames[i].file, cell_file);
  EXPECT_EQ(frames[i].line, 3);
  EXPECT_EQ(frames[i + 1].function, "<module>");
  EXPECT_EQ(frames[i + 1].file, cell_file);
  EXPECT_EQ(frames[i + 1].line, 4);

  EXPECT_EQ(out[4].get<std::string>().rfind("heapwarden: trim: RSS ", 0), 0u) << out[4];
  EXPECT_EQ(out[5].get<std::string>().rfind("heapwarden: live heap ", 0), 0u) << out[5];
  EXPECT_EQ(Trim(out[6]), "usage: %heapwarden [stats | snapshot [PATH] | trim]");
  // Jupyter's interrupt reaches the kernel through `heapwarden run`, and the kernel
  // goes on with its state.
  EXPECT_EQ(out[7], "ERROR KeyboardInterrupt: \n");
  EXPECT_EQ(out[8], "33554432\n");

  // Shut down normally (given time): the exit report is in the reports directory too.
  nlohmann::json exit_report = Load(reports + "/kernel." + std::to_string(kernel_pid) + ".json");
  EXPECT_EQ(exit_report["process"]["pid"], kernel_pid);
  EXPECT_EQ(exit_report["process"]["complete"], true);
}

TEST(Notebook, InstallRefusesWhatCannotWork) {
  TempDir dir;
  auto bad_name = Install(dir, {"--prefix", dir.File("j"), "--name", "no spaces", "--python", kDebianPython});
  EXPECT_EQ(bad_name.exit_status, 2);
  EXPECT_NE(bad_name.err.find("bad kernel name"), std::string::npos) << bad_name.err;
  auto no_ipykernel = Install(dir, {"--prefix", dir.File("j"), "--python", "/bin/false"});
  EXPECT_EQ(no_ipykernel.exit_status, 2);
  EXPECT_NE(no_ipykernel.err.find("cannot import ipykernel"), std::string::npos) << no_ipykernel.err;
  auto output = Install(dir, {"--prefix", dir.File("j"), "--python", kDebianPython, "--", "-o", "x.json"});
  EXPECT_EQ(output.exit_status, 2);
  EXPECT_FALSE(FileExists(dir.File("j/share/jupyter/kernels/heapwarden-python3/kernel.json")));
  // Default place: the user's Jupyter data directory.
  auto user = Install(dir, {"--python", kDebianPython});
  EXPECT_EQ(user.exit_status, 0) << user.Describe();
  EXPECT_TRUE(FileExists(dir.File(".local/share/jupyter/kernels/heapwarden-python3/kernel.json")));
  EXPECT_TRUE(FileExists(dir.File(".local/share/heapwarden/kernels")));
}

}  // namespace
}  // namespace heapwarden::testutil
