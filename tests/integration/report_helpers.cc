// report_helpers.cc: process running, temp dirs and report queries for the integration
// tests; see report_helpers.h.

#include "report_helpers.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

extern char **environ;

namespace heapwarden::testutil {

std::string HeapwardenPath() { return HW_HEAPWARDEN; }
std::string PreloadPath() { return HW_PRELOAD; }

namespace {

std::string TempRoot() {
  const char *tmp = getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

// A file created for the child's output; read back and removed by the parent.
std::string MakeTempFile(const char *what) {
  std::string pattern = TempRoot() + "/hw-" + what + "-XXXXXX";
  int fd = mkstemp(pattern.data());
  if (fd < 0) return "";
  close(fd);
  return pattern;
}

double Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

bool IsIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

}  // namespace

std::string CommandResult::Describe() const {
  std::ostringstream s;
  s << "exit status " << exit_status << (timed_out ? " (timed out)" : "");
  // The head holds the program's own complaints, the tail heapwarden's verdict; the
  // report's sections in between can be long.
  std::string tail = err.size() > 4000
                         ? err.substr(0, 2000) + "\n...\n" + err.substr(err.size() - 2000)
                         : err;
  s << "; stderr:\n" << tail;
  return s.str();
}

CommandResult RunCommand(const Command &command) {
  CommandResult result;
  if (command.argv.empty()) return result;

  // Everything the child needs is built before fork.
  std::map<std::string, std::string> env;
  for (char **e = environ; *e != nullptr; ++e) {
    const char *eq = strchr(*e, '=');
    if (eq != nullptr) env[std::string(*e, static_cast<size_t>(eq - *e))] = eq + 1;
  }
  // A test never inherits a preload from whoever runs it. HEAPWARDEN_OPTIONS does pass
  // through (see UnderPreload), so a whole suite can be re-run with other options.
  env.erase("LD_PRELOAD");
  for (const auto &name : command.unset_env) env.erase(name);
  for (const auto &[name, value] : command.set_env) env[name] = value;
  std::vector<std::string> env_strings;
  for (const auto &[name, value] : env) env_strings.push_back(name + "=" + value);
  std::vector<char *> envp;
  for (auto &s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings = command.argv;
  std::vector<char *> argv;
  for (auto &s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  const std::string out_path =
      command.stdout_path.empty() ? MakeTempFile("stdout") : command.stdout_path;
  const std::string err_path = MakeTempFile("stderr");
  const std::string in_path = command.stdin_path.empty() ? "/dev/null" : command.stdin_path;

  pid_t pid = fork();
  if (pid < 0) {
    result.err = std::string("fork: ") + strerror(errno);
    return result;
  }
  if (pid == 0) {
    setpgid(0, 0);
    int in = open(in_path.c_str(), O_RDONLY | O_CLOEXEC);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (in < 0 || out < 0 || err < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    if (!command.cwd.empty() && chdir(command.cwd.c_str()) != 0) _exit(126);
    execvpe(argv[0], argv.data(), envp.data());
    dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent, so kill(-pid) works at once
  result.pid = pid;

  int status = 0;
  const double deadline = Now() + command.timeout_s;
  useconds_t nap = 1000;
  for (;;) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) break;
    if (Now() > deadline) {
      result.timed_out = true;
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    usleep(nap);
    if (nap < 20000) nap *= 2;
  }
  if (WIFEXITED(status)) {
    result.exit_status = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.exit_status = 128 + WTERMSIG(status);
  }
  if (command.stdout_path.empty()) {
    result.out = ReadFile(out_path);
    unlink(out_path.c_str());
  }
  result.err = ReadFile(err_path);
  unlink(err_path.c_str());
  return result;
}

Command UnderHeapwarden(Command command, const std::string &report_path,
                        const std::vector<std::string> &extra_run_args) {
  std::vector<std::string> argv = {HeapwardenPath(), "run", "-o", report_path};
  argv.insert(argv.end(), extra_run_args.begin(), extra_run_args.end());
  argv.push_back("--");
  argv.insert(argv.end(), command.argv.begin(), command.argv.end());
  command.argv = std::move(argv);
  return command;
}

Command UnderPreload(Command command, const std::string &options,
                     const std::string &also_preload) {
  command.set_env["LD_PRELOAD"] =
      also_preload.empty() ? PreloadPath() : PreloadPath() + ":" + also_preload;
  // Options from the test's own environment come first; the test's own win over them.
  const char *inherited = getenv("HEAPWARDEN_OPTIONS");
  command.set_env["HEAPWARDEN_OPTIONS"] =
      inherited != nullptr && *inherited != '\0' ? std::string(inherited) + ":" + options
                                                  : options;
  return command;
}

TempDir::TempDir() {
  std::string pattern = TempRoot() + "/heapwarden-test-XXXXXX";
  if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
}

TempDir::~TempDir() {
  if (path_.empty() || getenv("HW_KEEP_TMP") != nullptr) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string ReadFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string &path, const std::string &contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
}

bool FileExists(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

namespace {

// Version 2 keeps each frame once, in "frames", and modules by id in "modules"; the tests
// look at each stack's frames, so put them back inline as version 1 had them (module as
// its path). The document keeps "version": 2 and its tables.
std::optional<nlohmann::json> InlineFrames(nlohmann::json doc, const std::string &path,
                                           std::string *error) {
  std::map<int64_t, std::string> modules;
  std::map<int64_t, nlohmann::json> frames;
  try {
    for (const auto &module : doc.at("modules")) {
      modules[module.at("id").get<int64_t>()] = module.at("path").get<std::string>();
    }
    for (const auto &frame : doc.at("frames")) {
      nlohmann::json inline_frame = frame;
      inline_frame.erase("id");
      if (frame.contains("module")) {
        inline_frame["module"] = modules.at(frame["module"].get<int64_t>());
      } else if (frame.value("kind", "native") == "native") {
        inline_frame["module"] = "";
      }
      frames[frame.at("id").get<int64_t>()] = std::move(inline_frame);
    }
    for (auto &stack : doc.at("stacks")) {
      nlohmann::json list = nlohmann::json::array();
      for (const auto &id : stack.at("frames")) list.push_back(frames.at(id.get<int64_t>()));
      stack["frames"] = std::move(list);
    }
  } catch (const std::exception &e) {
    *error = "report " + path + " has broken version-2 tables: " + e.what();
    return std::nullopt;
  }
  return doc;
}

}  // namespace

std::optional<nlohmann::json> LoadReport(const std::string &path, std::string *error) {
  if (!FileExists(path)) {
    *error = "no report at " + path;
    return std::nullopt;
  }
  std::string text = ReadFile(path);
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    *error = "report " + path + " is not valid JSON (" + std::to_string(text.size()) + " bytes)";
    return std::nullopt;
  }
  if (!doc.is_object() || doc.value("format", "") != "heapwarden-report") {
    *error = "report " + path + " lacks \"format\": \"heapwarden-report\"";
    return std::nullopt;
  }
  if (doc.value("version", 0) == 2) return InlineFrames(std::move(doc), path, error);
  return doc;
}

bool FunctionMatches(const std::string &function, const std::string &name) {
  if (name.empty()) return false;
  for (size_t at = function.find(name); at != std::string::npos;
       at = function.find(name, at + 1)) {
    const bool start_ok = at == 0 || function[at - 1] == ':' || function[at - 1] == ' ';
    const size_t end = at + name.size();
    const bool end_ok = end == function.size() || function[end] == '(' ||
                        function[end] == '<' || function[end] == '.' || function[end] == ' ';
    if (start_ok && end_ok && !(end < function.size() && IsIdentChar(function[end]))) {
      return true;
    }
  }
  return false;
}

const nlohmann::json *FindStack(const nlohmann::json &report, int64_t stack_id) {
  if (!report.contains("stacks") || !report["stacks"].is_array()) return nullptr;
  const auto &stacks = report["stacks"];
  // Fast path: ids usually equal positions.
  if (stack_id >= 0 && static_cast<size_t>(stack_id) < stacks.size()) {
    const auto &s = stacks[static_cast<size_t>(stack_id)];
    if (s.is_object() && s.value("id", int64_t{-1}) == stack_id) return &s;
  }
  for (const auto &s : stacks) {
    if (s.is_object() && s.value("id", int64_t{-1}) == stack_id) return &s;
  }
  return nullptr;
}

const nlohmann::json *FindFrame(const nlohmann::json &stack, const std::string &function,
                                int depth) {
  if (!stack.contains("frames") || !stack["frames"].is_array()) return nullptr;
  int seen = 0;
  for (const auto &frame : stack["frames"]) {
    if (seen++ >= depth) break;
    if (frame.is_object() && frame.contains("function") && frame["function"].is_string() &&
        FunctionMatches(frame["function"].get<std::string>(), function)) {
      return &frame;
    }
  }
  return nullptr;
}

namespace {

const nlohmann::json *LeakStack(const nlohmann::json &report, const nlohmann::json &leak) {
  if (!leak.is_object() || !leak.contains("stack") || !leak["stack"].is_number_integer()) {
    return nullptr;
  }
  return FindStack(report, leak["stack"].get<int64_t>());
}

const nlohmann::json &Leaks(const nlohmann::json &report) {
  static const nlohmann::json kEmpty = nlohmann::json::array();
  return report.contains("leaks") && report["leaks"].is_array() ? report["leaks"] : kEmpty;
}

}  // namespace

std::vector<const nlohmann::json *> LeaksWithFunction(const nlohmann::json &report,
                                                      const std::string &function, int depth) {
  std::vector<const nlohmann::json *> found;
  for (const auto &leak : Leaks(report)) {
    const nlohmann::json *stack = LeakStack(report, leak);
    if (stack != nullptr && FindFrame(*stack, function, depth) != nullptr) {
      found.push_back(&leak);
    }
  }
  return found;
}

std::vector<const nlohmann::json *> LeaksInModule(const nlohmann::json &report,
                                                  const std::string &module_part) {
  std::vector<const nlohmann::json *> found;
  for (const auto &leak : Leaks(report)) {
    const nlohmann::json *stack = LeakStack(report, leak);
    if (stack == nullptr || !stack->contains("frames")) continue;
    for (const auto &frame : (*stack)["frames"]) {
      if (frame.is_object() && frame.contains("module") && frame["module"].is_string() &&
          frame["module"].get<std::string>().find(module_part) != std::string::npos) {
        found.push_back(&leak);
        break;
      }
    }
  }
  return found;
}

std::string DescribeLeak(const nlohmann::json &report, const nlohmann::json &leak, int depth) {
  std::ostringstream s;
  s << "leak blocks=" << leak.value("blocks", int64_t{-1})
    << " bytes=" << leak.value("bytes", int64_t{-1}) << " kind=" << leak.value("kind", "?")
    << "\n";
  const nlohmann::json *stack = LeakStack(report, leak);
  if (stack == nullptr || !stack->contains("frames")) return s.str() + "  (no stack)\n";
  int n = 0;
  for (const auto &frame : (*stack)["frames"]) {
    if (n++ >= depth) break;
    s << "  #" << n - 1 << " " << frame.value("function", "?") << " ("
      << frame.value("module", "?");
    if (frame.contains("line")) s << " " << frame.value("file", "?") << ":" << frame["line"];
    s << ")\n";
  }
  return s.str();
}

int SiteLine(const std::string &source_path, const std::string &name) {
  std::ifstream in(source_path);
  std::string line;
  const std::string marker = "SITE:" + name;
  for (int number = 1; std::getline(in, line); ++number) {
    size_t at = line.find(marker);
    if (at == std::string::npos) continue;
    size_t end = at + marker.size();
    if (end == line.size() || !IsIdentChar(line[end])) return number;
  }
  return -1;
}

bool IsKnownLeakKind(const std::string &kind) {
  return kind == "unclassified" || kind == "direct" || kind == "indirect" ||
         kind == "reachable";
}

}  // namespace heapwarden::testutil
