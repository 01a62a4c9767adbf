// leak_gate.h: `heapwarden run`'s leak checking: the suppressions and the
// --fail-on-leak verdict over the main report and the descendants' it keeps.
// Report side (tool).
#ifndef HEAPWARDEN_TOOLS_LEAK_GATE_H_
#define HEAPWARDEN_TOOLS_LEAK_GATE_H_

#include "absl/status/status.h"
#include "nlohmann/json.hpp"
#include "report/leak_summary.h"
#include "run_options.h"

namespace heapwarden::tools {

// PrepareLeakGate()
//
// Reads the gate's settings (HEAPWARDEN_OPTIONS in the tool's environment, then the
// run's flags, which win) and loads the suppressions file, before the program starts:
// a bad file is a usage error, not a surprise after a long run.
absl::Status PrepareLeakGate(const RunArgs& args);

// ApplyLeakGate()
//
// Marks the suppressed groups of a symbolized report, records the gate's settings in
// heapwarden.leak_gate, and remembers whether the report fails the gate. Returns true
// when it does (whether or not --fail-on-leak is on).
bool ApplyLeakGate(nlohmann::json& report);

// LeakGateExitCode()
//
// `exit_code`, or leak_exitcode (23) when --fail-on-leak is on and a report given to
// ApplyLeakGate failed.
int LeakGateExitCode(int exit_code);

// True when --fail-on-leak is on.
bool FailOnLeakRequested();

// True when `report` (already through ApplyLeakGate) has more leaked bytes than the max.
bool LeakGateFailsFor(const nlohmann::json& report);

}  // namespace heapwarden::tools

#endif  // HEAPWARDEN_TOOLS_LEAK_GATE_H_
