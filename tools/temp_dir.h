// temp_dir.h: the private directory `heapwarden run` gives the preload to write
// reports into, and its removal.
// Report side (tool).
#ifndef HEAPWARDEN_TOOLS_TEMP_DIR_H_
#define HEAPWARDEN_TOOLS_TEMP_DIR_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace heapwarden::tools {

// MakePrivateTempDir()
//
// Creates $TMPDIR/heapwarden.XXXXXX (or under /tmp when TMPDIR is unset, not a
// directory, or holds ':', which HEAPWARDEN_OPTIONS cannot carry) with mode 0700.
absl::StatusOr<std::string> MakePrivateTempDir();

// ListFiles()
//
// Names (not paths) of the entries in `dir`, sorted; empty when it cannot be read.
std::vector<std::string> ListFiles(const std::string& dir);

// RemoveTempDir()
//
// Removes the files directly in `dir`, then `dir`. Best effort, silent.
void RemoveTempDir(const std::string& dir);

}  // namespace heapwarden::tools

#endif  // HEAPWARDEN_TOOLS_TEMP_DIR_H_
