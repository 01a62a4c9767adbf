// leak_test_helpers.cc: see leak_test_helpers.h.
#include "leak_test_helpers.h"

#include <map>
#include <memory>
#include <sstream>

namespace heapwarden::testutil {

LeakRun RunUnderHeapwarden(const TempDir& dir, const std::string& name,
                           const std::vector<std::string>& argv,
                           const std::vector<std::string>& extra) {
  LeakRun run;
  run.report_path = dir.File(name + ".json");
  Command command{.argv = argv, .cwd = dir.path()};
  run.result = RunCommand(UnderHeapwarden(command, run.report_path, extra));
  if (auto loaded = LoadReport(run.report_path, &run.error)) run.report = std::move(*loaded);
  return run;
}

const LeakRun& LeakShapes(const std::string& mode) {
  static auto* dir = new TempDir;
  static auto* runs = new std::map<std::string, std::unique_ptr<LeakRun>>;
  auto& slot = (*runs)[mode];
  if (!slot) {
    std::vector<std::string> argv = {HW_PROGRAM_leak_shapes, mode};
    if (mode == "plugin") argv.push_back(HW_LEAK_PLUGIN);
    slot = std::make_unique<LeakRun>(RunUnderHeapwarden(*dir, "shapes-" + mode, argv));
  }
  return *slot;
}

std::string OwnFunction(const nlohmann::json& report, const nlohmann::json& leak) {
  const nlohmann::json* stack = FindStack(report, leak.value("stack", int64_t{-1}));
  if (stack == nullptr || !stack->contains("frames")) return "";
  for (const auto& frame : (*stack)["frames"]) {
    std::string module = frame.value("module", "");
    // A system header's inline function (getline from bits/stdio.h) is not the program's.
    if (module.starts_with("/lib/") || module.starts_with("/usr/lib/") ||
        module.starts_with("/lib64/") || module.empty() ||
        frame.value("file", "").starts_with("/usr/include/")) {
      continue;
    }
    return frame.value("function", "");
  }
  return "";
}

std::vector<const nlohmann::json*> Groups(const nlohmann::json& report, const std::string& function,
                                          const std::string& kind) {
  std::vector<const nlohmann::json*> out;
  if (!report.contains("leaks")) return out;
  for (const nlohmann::json& leak : report["leaks"]) {
    if (!FunctionMatches(OwnFunction(report, leak), function)) continue;
    if (kind.empty() || leak.value("kind", "") == kind) out.push_back(&leak);
  }
  return out;
}

int64_t UnsuppressedBytes(const nlohmann::json& report, const std::string& kind) {
  int64_t bytes = 0;
  if (!report.contains("leaks")) return 0;
  for (const auto& leak : report["leaks"]) {
    if (leak.value("kind", "") == kind && !leak.value("suppressed", false)) {
      bytes += leak.value("bytes", int64_t{0});
    }
  }
  return bytes;
}

std::string DescribeLeaks(const nlohmann::json& report) {
  std::ostringstream s;
  if (!report.contains("leaks")) return "(no leaks section)";
  for (const auto& leak : report["leaks"]) s << DescribeLeak(report, leak, 4) << "\n";
  return s.str();
}

std::string ProgramSource(const std::string& file) {
  return std::string(HW_PROGRAMS_SOURCE_DIR) + "/" + file;
}

}  // namespace heapwarden::testutil
