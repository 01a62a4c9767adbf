// report_helpers.h: what the integration and real-program tests share: running a command
// (plain, under `heapwarden run`, or under the bare preload), loading a report, and finding
// leak groups by the functions on their stacks. Tests assert on names, sizes and counts,
// never on addresses.
//
// Paths come from CMake as compile definitions (HW_BINARY_DIR, HW_HEAPWARDEN,
// HW_PRELOAD, HW_PROGRAMS_SOURCE_DIR and one per ground-truth program).

#ifndef HEAPWARDEN_TESTS_INTEGRATION_REPORT_HELPERS_H_
#define HEAPWARDEN_TESTS_INTEGRATION_REPORT_HELPERS_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace heapwarden::testutil {

// Where the build put things.
std::string HeapwardenPath();  // build/bin/heapwarden
std::string PreloadPath();     // build/lib/libheapwarden_preload.so

struct Command {
  std::vector<std::string> argv;                  // argv[0] is looked up in PATH if no '/'
  std::map<std::string, std::string> set_env;     // added to (or replacing in) the environment
  std::vector<std::string> unset_env;             // removed from the environment
  std::string cwd;                                // empty: the test's own
  std::string stdin_path;                         // empty: /dev/null
  std::string stdout_path;                        // non-empty: stdout goes to this file
  int timeout_s = 120;                            // then the process group is killed
};

struct CommandResult {
  int exit_status = -1;  // as a shell reports it: the code, or 128 + signal
  bool timed_out = false;
  pid_t pid = -1;
  std::string out;  // stdout (empty when Command::stdout_path was set)
  std::string err;  // stderr

  // One line for assertion messages: status and the tail of stderr.
  std::string Describe() const;
};

// Runs the command to completion (fork + exec, own process group). The environment is
// the test's own without LD_PRELOAD; HEAPWARDEN_OPTIONS passes through, so that
// `HEAPWARDEN_OPTIONS=backend=mimalloc heapwarden_integration_tests` re-runs every
// tracked program with those options (`heapwarden run` keeps what it finds there).
CommandResult RunCommand(const Command &command);

// `heapwarden run -o REPORT [EXTRA...] -- ARGV...`, same environment otherwise.
Command UnderHeapwarden(Command command, const std::string &report_path,
                        const std::vector<std::string> &extra_run_args = {});

// The bare preload: LD_PRELOAD=PRELOAD[:ALSO] HEAPWARDEN_OPTIONS=[INHERITED:]OPTIONS.
Command UnderPreload(Command command, const std::string &options,
                     const std::string &also_preload = "");

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction
// unless HW_KEEP_TMP is set in the environment.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  const std::string &path() const { return path_; }
  std::string File(const std::string &name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string &path);
void WriteFile(const std::string &path, const std::string &contents);
bool FileExists(const std::string &path);

// Parses a report (version 1, or version 2 with its frames put back inline in each stack,
// module as a path, so tests read every stack the same way); on failure returns nullopt
// and says why in *error.
std::optional<nlohmann::json> LoadReport(const std::string &path, std::string *error);

// True when a demangled function name is `name`, qualified or not, with or without a
// parameter list or a compiler suffix: "leak_new" matches "leak_new", "leak_new()",
// "ns::leak_new(int)", "leak_new.cold"; not "leak_new_array()".
bool FunctionMatches(const std::string &function, const std::string &name);

// The stack with this id (ids need not equal positions), or nullptr.
const nlohmann::json *FindStack(const nlohmann::json &report, int64_t stack_id);

// The first frame among the first `depth` frames of `stack` whose function matches.
const nlohmann::json *FindFrame(const nlohmann::json &stack, const std::string &function,
                                int depth = 6);

// Leak groups whose stack has `function` among its first `depth` frames.
std::vector<const nlohmann::json *> LeaksWithFunction(const nlohmann::json &report,
                                                      const std::string &function,
                                                      int depth = 6);

// Leak groups with a frame (any depth) whose module path contains `module_part`.
std::vector<const nlohmann::json *> LeaksInModule(const nlohmann::json &report,
                                                  const std::string &module_part);

// The first `depth` frames of a leak's stack as "function (module)" lines, for messages.
std::string DescribeLeak(const nlohmann::json &report, const nlohmann::json &leak,
                         int depth = 8);

// Line of the "// SITE:name" marker in a ground-truth program's source, or -1.
int SiteLine(const std::string &source_path, const std::string &name);

// Kinds a leak may carry while classification is being built.
bool IsKnownLeakKind(const std::string &kind);

}  // namespace heapwarden::testutil

#endif  // HEAPWARDEN_TESTS_INTEGRATION_REPORT_HELPERS_H_
