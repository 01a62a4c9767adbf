// temp_dir.cc: the private directory the preload writes reports into.
// Report side (tool).
#include "temp_dir.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace heapwarden::tools {

absl::StatusOr<std::string> MakePrivateTempDir() {
  std::string base = "/tmp";
  if (const char* tmpdir = getenv("TMPDIR"); tmpdir != nullptr && tmpdir[0] == '/') {
    struct stat st;
    if (std::strchr(tmpdir, ':') == nullptr && stat(tmpdir, &st) == 0 && S_ISDIR(st.st_mode)) {
      base = tmpdir;
    }
  }
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  std::string path = absl::StrCat(base == "/" ? "" : base, "/heapwarden.XXXXXX");
  // mkdtemp creates it 0700, so no other user can read the reports or plant files.
  if (mkdtemp(path.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot create a temporary directory in ", base, ": ", std::strerror(errno)));
  }
  return path;
}

std::vector<std::string> ListFiles(const std::string& dir) {
  std::vector<std::string> names;
  DIR* handle = opendir(dir.c_str());
  if (handle == nullptr) return names;
  while (struct dirent* entry = readdir(handle)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  closedir(handle);
  std::sort(names.begin(), names.end());
  return names;
}

void RemoveTempDir(const std::string& dir) {
  for (const std::string& name : ListFiles(dir)) unlink(absl::StrCat(dir, "/", name).c_str());
  rmdir(dir.c_str());
}

}  // namespace heapwarden::tools
