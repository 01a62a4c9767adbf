// jupyter_kernel_command.cc: `heapwarden jupyter-kernel install`: writes a Jupyter
// kernelspec whose kernel (ipykernel) runs under `heapwarden run`. A notebook user
// cannot put a command in front of the kernel; picking this kernel in Jupyter does it.
// Report side (tool): it only writes files.
//
// The kernel is long-lived, so what matters is what it holds now: `%load_ext heapwarden`
// then `%heapwarden snapshot` (python/heapwarden/magics.py) writes snapshots into the
// reports directory named here (passed to the kernel as HEAPWARDEN_REPORT_DIR), where
// the exit report (kernel.<pid>.json) also goes when the kernel shuts down. Not the
// notebook's own directory, which is the kernel's working directory: every kernel
// start would leave a report beside the notebooks.
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "commands.h"
#include "report/report_io.h"

namespace heapwarden::tools {
namespace {

constexpr char kDefaultName[] = "heapwarden-python3";
constexpr char kDefaultDisplayName[] = "Python 3 (heapwarden)";

struct InstallArgs {
  std::string name = kDefaultName;
  std::string display_name = kDefaultDisplayName;
  std::string prefix;   // PREFIX/share/jupyter/kernels, as `jupyter kernelspec install --prefix`
  std::string python;   // the interpreter that runs ipykernel
  std::string reports;  // where the exit report and snapshots go
  std::vector<std::string> run_options;  // after `--`: passed to `heapwarden run`
};

std::string Home() {
  const char* home = getenv("HOME");
  return home != nullptr && *home != '\0' ? home : "/";
}

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

// Jupyter's per-user data directory (jupyter_core's jupyter_data_dir() on Linux).
std::string UserJupyterDataDir() {
  if (const char* dir = getenv("JUPYTER_DATA_DIR"); dir != nullptr && *dir != '\0') return dir;
  return EnvOr("XDG_DATA_HOME", Home() + "/.local/share") + "/jupyter";
}

// mkdir -p, each directory made 0700 (reports hold the program's memory layout).
bool MakeDirs(const std::string& path, std::string* error) {
  std::string partial;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    absl::StrAppend(&partial, "/", part);
    if (mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      *error = absl::StrCat("cannot create ", partial, ": ", std::strerror(errno));
      return false;
    }
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    *error = absl::StrCat(path, " is not a directory");
    return false;
  }
  return true;
}

std::string Absolute(const std::string& path) {
  if (path.starts_with("/")) return path;
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof cwd) == nullptr) return path;
  return absl::StrCat(cwd, "/", path);
}

// `name` as found in PATH (an absolute path), or "" when not found.
std::string InPath(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? Absolute(name) : "";
  for (absl::string_view dir : absl::StrSplit(EnvOr("PATH", "/usr/bin:/bin"), ':', absl::SkipEmpty())) {
    std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return Absolute(candidate);
  }
  return "";
}

// Jupyter's kernel names: letters, digits, '-', '.', '_'.
bool ValidKernelName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_')) return false;
  }
  return true;
}

// True when `python -c "import ipykernel"` succeeds (its output goes nowhere).
bool CanImportIpykernel(const std::string& python) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::string dash_c = "-c", code = "import ipykernel";
  char* argv[] = {const_cast<char*>(python.c_str()), dash_c.data(), code.data(), nullptr};
  pid_t pid;
  const int spawned = posix_spawn(&pid, python.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return false;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string SelfPath() {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  return n > 0 ? std::string(exe, static_cast<size_t>(n)) : "";
}

int PrintInstallHelp() {
  std::cout
      << "usage: heapwarden " << FindCommand("jupyter-kernel")->synopsis << "\n\n"
      << "Writes a Jupyter kernelspec that starts ipykernel under `heapwarden run`: pick the\n"
      << "kernel in Jupyter, then `%load_ext heapwarden` in a cell gives `%heapwarden snapshot`\n"
      << "and `%heapwarden trim`.\n\n"
      << "  --name NAME           kernel name (default " << kDefaultName << ")\n"
      << "  --display-name TEXT   name shown in Jupyter (default \"" << kDefaultDisplayName << "\")\n"
      << "  --python PATH         interpreter with ipykernel (default: python3 in PATH)\n"
      << "  --prefix DIR          install into DIR/share/jupyter/kernels (default: the user's\n"
      << "                        Jupyter data directory, $JUPYTER_DATA_DIR or\n"
      << "                        ~/.local/share/jupyter)\n"
      << "  --reports DIR         where the kernel's exit report and snapshots go (default\n"
      << "                        ~/.local/share/heapwarden/kernels)\n"
      << "  -- RUN_OPTIONS...     more options for `heapwarden run` (--python-malloc, ...)\n";
  return kExitOk;
}

int Install(const std::vector<std::string>& args) {
  InstallArgs parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "--") {
      parsed.run_options.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    }
    if (arg == "-h" || arg == "--help") return PrintInstallHelp();
    std::string value;
    const bool inline_value = SplitInlineValue(&arg, &value);
    std::string* target = nullptr;
    if (arg == "--name") target = &parsed.name;
    else if (arg == "--display-name") target = &parsed.display_name;
    else if (arg == "--prefix") target = &parsed.prefix;
    else if (arg == "--python") target = &parsed.python;
    else if (arg == "--reports") target = &parsed.reports;
    if (target == nullptr) {
      return UsageError("jupyter-kernel", absl::StrCat("jupyter-kernel install: unknown option '", arg, "'"));
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) {
        return UsageError("jupyter-kernel", absl::StrCat("jupyter-kernel install: ", arg, " needs a value"));
      }
      value = args[++i];
    }
    *target = value;
  }
  if (!ValidKernelName(parsed.name)) {
    return UsageError("jupyter-kernel", absl::StrCat("jupyter-kernel install: bad kernel name '", parsed.name,
                                                     "' (letters, digits, '-', '.', '_')"));
  }
  for (const std::string& option : parsed.run_options) {
    if (option == "--" || option == "-o" || option.starts_with("--output")) {
      return UsageError("jupyter-kernel", absl::StrCat("jupyter-kernel install: '", option,
                                                       "' is set by the kernelspec (use --reports)"));
    }
  }
  const std::string python = InPath(parsed.python.empty() ? "python3" : parsed.python);
  if (python.empty()) {
    PrintError(absl::StrCat("jupyter-kernel install: no interpreter '",
                            parsed.python.empty() ? "python3" : parsed.python, "'"));
    return kExitUsage;
  }
  // The kernel would die at its first start, far from this command: check now.
  if (!CanImportIpykernel(python)) {
    PrintError(absl::StrCat("jupyter-kernel install: ", python,
                            " cannot import ipykernel (Debian: apt install python3-ipykernel)"));
    return kExitUsage;
  }
  const std::string self = SelfPath();
  if (self.empty()) {
    PrintError("jupyter-kernel install: cannot find this program's own path (/proc/self/exe)");
    return kExitFailure;
  }
  const std::string reports =
      Absolute(parsed.reports.empty() ? EnvOr("XDG_DATA_HOME", Home() + "/.local/share") + "/heapwarden/kernels"
                                      : parsed.reports);
  const std::string kernels = parsed.prefix.empty() ? UserJupyterDataDir() + "/kernels"
                                                    : Absolute(parsed.prefix) + "/share/jupyter/kernels";
  const std::string dir = absl::StrCat(kernels, "/", parsed.name);
  std::string error;
  if (!MakeDirs(reports, &error) || !MakeDirs(dir, &error)) {
    PrintError(absl::StrCat("jupyter-kernel install: ", error));
    return kExitFailure;
  }

  nlohmann::json argv = {self, "run", "-o", reports + "/kernel.%p.json"};
  for (const std::string& option : parsed.run_options) argv.push_back(option);
  for (const std::string& part : {std::string("--"), python, std::string("-m"), std::string("ipykernel_launcher"),
                                  std::string("-f"), std::string("{connection_file}")}) {
    argv.push_back(part);
  }
  nlohmann::json spec = {
      {"argv", argv},
      {"display_name", parsed.display_name},
      {"language", "python"},
      // SIGINT reaches the kernel: `heapwarden run` leaves it in its process group and
      // ignores SIGINT itself, as a shell does.
      {"interrupt_mode", "signal"},
      {"env", {{"HEAPWARDEN_REPORT_DIR", reports}}},
      {"metadata", {{"heapwarden", {{"reports", reports}}}, {"debugger", false}}},
  };
  const std::string path = dir + "/kernel.json";
  absl::Status written = report::WriteFileAtomically(path, spec.dump(1) + "\n");
  if (!written.ok()) {
    PrintError(absl::StrCat("jupyter-kernel install: ", written.message()));
    return kExitFailure;
  }
  std::cout << "installed kernel '" << parsed.name << "' (\"" << parsed.display_name << "\") in " << dir << "\n"
            << "reports and snapshots go to " << reports << "\n"
            << "in a notebook on this kernel: %load_ext heapwarden, then %heapwarden snapshot\n";
  return kExitOk;
}

}  // namespace

int JupyterKernelMain(const std::vector<std::string>& args) {
  if (args.empty()) return UsageError("jupyter-kernel", "jupyter-kernel: missing the action (install)");
  if (args[0] == "-h" || args[0] == "--help") return PrintInstallHelp();
  if (args[0] != "install") {
    return UsageError("jupyter-kernel", absl::StrCat("jupyter-kernel: unknown action '", args[0], "'"));
  }
  return Install(std::vector<std::string>(args.begin() + 1, args.end()));
}

}  // namespace heapwarden::tools
