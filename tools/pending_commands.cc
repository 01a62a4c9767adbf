// pending_commands.cc: the subcommands the spec names whose issues are still open
// (diff). They are in the dispatch table already so that usage
// and help are final; each says so and exits 2 until its issue lands.
// Report side (tool).
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "commands.h"

namespace heapwarden::tools {
namespace {

int NotImplemented(const char* name) {
  PrintError(absl::StrCat(name, ": not implemented yet"));
  return kExitUsage;
}

}  // namespace

int DiffMain(const std::vector<std::string>&) { return NotImplemented("diff"); }

}  // namespace heapwarden::tools
