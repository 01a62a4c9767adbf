// leak_gate.cc: see leak_gate.h. Report side (tool).
#include "leak_gate.h"

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "report/suppressions.h"

namespace heapwarden::tools {
namespace {

// The tool handles one run per process: the gate's state lives here.
report::LeakGateOptions g_options;
report::SuppressionList g_suppressions;
bool g_failed = false;

}  // namespace

absl::Status PrepareLeakGate(const RunArgs& args) {
  g_options = report::LeakGateOptions{};
  g_failed = false;
  if (const char* env = std::getenv("HEAPWARDEN_OPTIONS")) report::ParseLeakGateOptions(env, &g_options);
  std::string flags;
  for (const auto& [key, value] : args.preload_options) absl::StrAppend(&flags, key, "=", value, ":");
  report::ParseLeakGateOptions(flags, &g_options);
  g_suppressions = report::SuppressionList{};
  g_suppressions.AddBuiltIn();
  if (!g_options.suppressions.empty()) return g_suppressions.AddFile(g_options.suppressions);
  return absl::OkStatus();
}

bool ApplyLeakGate(nlohmann::json& report) {
  report::ApplySuppressions(report, g_suppressions);
  nlohmann::json& meta = report["heapwarden"];
  if (!meta.is_object()) meta = nlohmann::json::object();
  meta["leak_gate"] = {{"fail_on_leak", g_options.fail_on_leak},
                       {"max_leak_bytes", g_options.max_leak_bytes},
                       {"leak_exitcode", g_options.exit_code},
                       {"suppressions", g_options.suppressions}};
  bool fails = report::LeakGateFails(report::SummarizeLeaks(report), g_options.max_leak_bytes);
  g_failed = g_failed || fails;
  return fails;
}

int LeakGateExitCode(int exit_code) {
  return g_options.fail_on_leak && g_failed ? g_options.exit_code : exit_code;
}

bool FailOnLeakRequested() { return g_options.fail_on_leak; }

bool LeakGateFailsFor(const nlohmann::json& report) {
  return report::LeakGateFails(report::SummarizeLeaks(report), g_options.max_leak_bytes);
}

}  // namespace heapwarden::tools
