// run_options.h: the command line of `heapwarden run`, generated from the one option
// table, lib/record/options.inc: every HEAPWARDEN_OPTIONS key is a flag
// (--key-with-dashes VALUE), validated here so a typo fails before the program starts.
// Report side (tool).
#ifndef HEAPWARDEN_TOOLS_RUN_OPTIONS_H_
#define HEAPWARDEN_TOOLS_RUN_OPTIONS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace heapwarden::tools {

enum class OptionKind { kString, kEnum, kInt, kDouble, kBool };

// One row of options.inc.
struct OptionSpec {
  const char* key;  // "fail_on_leak"
  OptionKind kind;
  const char* default_value;  // for kEnum: "a|b|c", the first being the default
  const char* help;
};

struct RunArgs {
  // Options for the preload, "key" -> canonical value, in the order given (a repeated
  // flag appears twice; the preload keeps the last, like the sanitizers).
  std::vector<std::pair<std::string, std::string>> preload_options;
  // Every flag given, last value wins, including the ones the tool keeps for itself
  // (output, symbolize, summary): what the tool's own decisions read.
  absl::flat_hash_map<std::string, std::string> given;
  std::string output;                // -o/--output; "" means heapwarden.<pid>.json
  bool symbolize = true;             // --symbolize 0 writes the raw report
  bool summary = true;               // --summary 0: no summary on stderr
  bool help = false;                 // -h/--help
  std::vector<std::string> command;  // CMD [ARGS...]
};

// AllOptions()
//
// The rows of options.inc, in its order.
const std::vector<OptionSpec>& AllOptions();

// ValidateOptionValue()
//
// Checks `value` against the kind of `spec` and returns its canonical spelling (bools
// become "1"/"0"), or an error such as "--depth: expected an integer, got 'x'".
absl::StatusOr<std::string> ValidateOptionValue(const OptionSpec& spec, const std::string& value);

// ParseRunArgs()
//
// Parses the arguments after "run". Flags come first; "--" or the first argument that
// is not a flag starts the command. "--key VALUE" and "--key=VALUE" both work; a bool
// flag alone means 1, and takes the next argument only when it is a bool word. The
// error message is one line without the "heapwarden: " prefix.
absl::StatusOr<RunArgs> ParseRunArgs(const std::vector<std::string>& args);

// RunHelp()
//
// The text of `heapwarden run --help`, one line per option of the table.
std::string RunHelp();

}  // namespace heapwarden::tools

#endif  // HEAPWARDEN_TOOLS_RUN_OPTIONS_H_
