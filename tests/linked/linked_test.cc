// linked_test.cc: the linkable library and the C++ API (issue 6), on the programs of
// tests/linked/programs and the ground truth of tests/programs/leaks_known.
//   - Allocator and Resource blocks appear under their tags with exact bytes, whether
//     the program is preloaded, linked with libheapwarden.so or with libheapwarden.a;
//   - Resource budgets refuse by exception and through the handler;
//   - a linked program's leak report is the preloaded program's;
//   - linked with tracking off, and built with the headers only, programs run as
//     without heapwarden and the API answers "inactive".
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "report_helpers.h"

namespace heapwarden::testutil {
namespace {

// "KEY A B..." lines of a program's stdout whose first word is `key`: A -> rest.
std::map<std::string, std::string> Lines(const std::string& out, const std::string& key) {
  std::map<std::string, std::string> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string first, name, rest;
    words >> first >> name;
    if (first != key) continue;
    std::getline(words, rest);
    rest.erase(0, rest.find_first_not_of(' '));
    lines[name] = rest;
  }
  return lines;
}

// The report's entry for a whole tag path, or nullptr.
const nlohmann::json* FindTag(const nlohmann::json& report, const std::string& tag) {
  if (!report.contains("tags")) return nullptr;
  for (const auto& t : report["tags"]) {
    if (t.value("tag", "") == tag) return &t;
  }
  return nullptr;
}

nlohmann::json MustLoad(const std::string& path, const CommandResult& run) {
  std::string error;
  auto report = LoadReport(path, &error);
  if (!report) {
    ADD_FAILURE() << path << ": " << error << "\n" << run.Describe();
    return nlohmann::json::object();
  }
  return *report;
}

// Environment for a linked program: tracking on, report at `output`, the tool that
// symbolizes at exit found in PATH when the library has no ../bin (static flavour).
Command Linked(Command command, const std::string& options) {
  command.set_env["HEAPWARDEN_OPTIONS"] = options;
  const char* path = getenv("PATH");
  command.set_env["PATH"] = std::string(HW_BIN_DIR) + ":" + (path ? path : "/usr/bin:/bin");
  command.unset_env.push_back("LD_PRELOAD");
  return command;
}

Command Plain(Command command) {
  command.unset_env.push_back("HEAPWARDEN_OPTIONS");
  command.unset_env.push_back("LD_PRELOAD");
  return command;
}

// ---- Allocator and Resource under tags ---------------------------------------------------

struct Flavour {
  const char* name;
  const char* program;
  bool preload;  // run under `heapwarden run`; else linked, switched on by HEAPWARDEN_OPTIONS
};

void PrintTo(const Flavour& f, std::ostream* os) { *os << f.name; }

class AllocatorTags : public ::testing::TestWithParam<Flavour> {};

TEST_P(AllocatorTags, TagsHoldExactBytes) {
  const Flavour& flavour = GetParam();
  TempDir dir;
  const std::string snapshot = dir.File("snapshot.json");
  const std::string final_report = dir.File("final.json");
  Command command{.argv = {flavour.program, snapshot}};
  CommandResult run =
      RunCommand(flavour.preload ? UnderHeapwarden(command, final_report)
                                 : Linked(command, "output=" + final_report));
  ASSERT_EQ(run.exit_status, 0) << run.Describe();
  EXPECT_NE(run.out.find("snapshot 1"), std::string::npos) << run.out;

  auto expect = Lines(run.out, "expect");
  auto inprocess = Lines(run.out, "inprocess");
  ASSERT_EQ(expect.size(), 3u) << run.out;
  EXPECT_EQ(expect["embeddings"], "10000");
  EXPECT_EQ(expect["arena"], "4000");
  nlohmann::json snap = MustLoad(snapshot, run);
  nlohmann::json fin = MustLoad(final_report, run);
  for (const auto& [tag, bytes_text] : expect) {
    SCOPED_TRACE("tag " + tag);
    const int64_t bytes = std::stoll(bytes_text);
    ASSERT_GT(bytes, 0);
    // While live (snapshot): exactly the container's blocks.
    const auto* live = FindTag(snap, tag);
    ASSERT_NE(live, nullptr) << "no tag in the snapshot: " << snap["tags"].dump();
    EXPECT_EQ(live->value("live_bytes", int64_t{-1}), bytes) << live->dump();
    EXPECT_EQ(live->value("bytes_allocated", int64_t{-1}), bytes) << live->dump();
    // At exit: all freed, the peak and the total remain.
    const auto* done = FindTag(fin, tag);
    ASSERT_NE(done, nullptr) << "no tag in the final report: " << fin["tags"].dump();
    EXPECT_EQ(done->value("live_bytes", int64_t{-1}), 0) << done->dump();
    EXPECT_EQ(done->value("peak_live_bytes", int64_t{-1}), bytes) << done->dump();
    EXPECT_EQ(done->value("bytes_allocated", int64_t{-1}), bytes) << done->dump();
    // heapwarden::tag_stats() inside the program agrees.
    EXPECT_EQ(inprocess[tag], bytes_text + " " + bytes_text + " 1") << run.out;
  }
  // Tag totals: "load" has 2000 bytes of its own and 3000 under "load/map".
  EXPECT_NE(run.out.find("totals load 2000 5000 5000\n"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("totals load/map 3000 3000 3000\n"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("freed load 2000 2000 5000\n"), std::string::npos) << run.out;
  const auto* load = FindTag(snap, "load");
  ASSERT_NE(load, nullptr) << snap["tags"].dump();
  EXPECT_EQ(load->value("live_bytes", int64_t{-1}), 2000) << load->dump();
  EXPECT_EQ(load->value("total_live_bytes", int64_t{-1}), 5000) << load->dump();
  EXPECT_EQ(load->value("total_bytes_allocated", int64_t{-1}), 5000) << load->dump();
  EXPECT_EQ(load->value("total_allocations", int64_t{-1}), 2) << load->dump();
  const auto* load_done = FindTag(fin, "load");
  ASSERT_NE(load_done, nullptr) << fin["tags"].dump();
  EXPECT_EQ(load_done->value("total_live_bytes", int64_t{-1}), 0) << load_done->dump();
  EXPECT_EQ(load_done->value("total_peak_live_bytes", int64_t{-1}), 5000) << load_done->dump();
  EXPECT_EQ(load_done->value("peak_live_bytes", int64_t{-1}), 2000) << load_done->dump();

  // Each tagged block sits at a site carrying its tag.
  for (const auto& site : snap["sites"]) {
    if (site.value("tag", "") == "embeddings") {
      EXPECT_EQ(site.value("live_bytes", int64_t{-1}), 10000) << site.dump();
    }
  }
}

const Flavour kTagFlavours[] = {
    {"preloaded", HW_PROGRAM_allocator_tags, true},
    {"linked_shared", HW_PROGRAM_allocator_tags_linked, false},
    {"linked_static", HW_PROGRAM_allocator_tags_static, false},
};
INSTANTIATE_TEST_SUITE_P(Linked, AllocatorTags, ::testing::ValuesIn(kTagFlavours),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(AllocatorTagsInactive, RunsAndReportsNothingWithoutHeapwarden) {
  TempDir dir;
  for (const char* program : {HW_PROGRAM_allocator_tags, HW_PROGRAM_allocator_tags_linked,
                              HW_PROGRAM_allocator_tags_static}) {
    SCOPED_TRACE(program);
    Command command = Plain({.argv = {program, dir.File("snapshot.json")}, .cwd = dir.path()});
    CommandResult run = RunCommand(command);
    ASSERT_EQ(run.exit_status, 0) << run.Describe();
    EXPECT_NE(run.out.find("snapshot 0"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("inprocess embeddings 0 0 0"), std::string::npos) << run.out;
    EXPECT_EQ(run.err, "");
    EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << "a file was written";
  }
}

// Every standard container, traits, equality, propagation: plain and under heapwarden.
TEST(AllocatorContainers, WorkWithEveryContainerAndPropagateTags) {
  TempDir dir;
  for (const Command& command :
       {Plain({.argv = {HW_PROGRAM_allocator_containers}}),
        UnderHeapwarden({.argv = {HW_PROGRAM_allocator_containers}}, dir.File("r.json"))}) {
    CommandResult run = RunCommand(command);
    EXPECT_EQ(run.exit_status, 0) << run.out << run.Describe();
    EXPECT_EQ(run.out.find("FAIL"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("ok propagate.swap"), std::string::npos) << run.out;
  }
}

// ---- Resource budgets ----------------------------------------------------------------------

TEST(ResourceBudget, RefusesByExceptionAndThroughTheHandler) {
  TempDir dir;
  const std::string report_path = dir.File("budget.json");
  struct Case {
    const char* name;
    Command command;
    bool tracked;
  } cases[] = {
      {"headers, plain", Plain({.argv = {HW_PROGRAM_resource_budget}}), false},
      {"linked, off", Plain({.argv = {HW_PROGRAM_resource_budget_linked}}), false},
      {"linked, on", Linked({.argv = {HW_PROGRAM_resource_budget_linked}},
                            "output=" + report_path), true},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::filesystem::remove(report_path);
    CommandResult run = RunCommand(c.command);
    EXPECT_EQ(run.exit_status, 0) << run.out << run.Describe();
    EXPECT_EQ(run.out.find("FAIL"), std::string::npos) << run.out;
    for (const char* check : {"throw.refused", "throw.type", "throw.what",
                              "throw.upstream_untouched", "throw.vector",
                              "callback.called", "callback.arguments", "callback.refused",
                              "callback.retry", "callback.allow"}) {
      EXPECT_NE(run.out.find(std::string("ok ") + check + "\n"), std::string::npos)
          << check << "\n" << run.out;
    }
    if (!c.tracked) continue;
    // The report saw exactly what was served: a refused allocation reached no allocator.
    nlohmann::json report = MustLoad(report_path, run);
    const std::pair<const char*, int64_t> kServed[] = {
        {"budget/throw", 3000 + 1096},
        {"budget/vector", 4 + 8 + 16 + 32 + 64 + 128 + 256 + 512},
        {"budget/callback", 3000 + 2000 + 4000},
    };
    for (const auto& [tag, bytes] : kServed) {
      const auto* t = FindTag(report, tag);
      ASSERT_NE(t, nullptr) << tag << " missing: " << report["tags"].dump();
      EXPECT_EQ(t->value("bytes_allocated", int64_t{-1}), bytes) << t->dump();
      EXPECT_EQ(t->value("live_bytes", int64_t{-1}), 0) << t->dump();
    }
  }
}

// ---- the same leak report, linked or preloaded -------------------------------------------

// A leak group as the tests compare it: blocks, bytes and the function names of the
// program's frames (addresses and module paths differ between the binaries). Not the
// kind: whether a block is "direct" or "reachable" depends on what stale copies of its
// address the conservative scan finds in registers and stack slots, which differs from
// run to run of the same binary under the same preload (see LeaksKnown's disabled
// EveryKnownLeakIsDirect); LeakRoots below checks kinds where they are deterministic.
using LeakKey = std::tuple<std::string, int64_t, int64_t, std::string>;

// One exception, the process's and not the report's: a thread's TLS vector (glibc's
// allocate_dtv, leaked by design) has one slot per module with TLS, and a process with
// libheapwarden.so in it has one such module more than one without; its bytes differ.
std::vector<LeakKey> LeakKeys(const nlohmann::json& report) {
  std::vector<LeakKey> keys;
  if (!report.contains("leaks")) return keys;
  for (const auto& leak : report["leaks"]) {
    std::string functions;
    bool tls_vector = false;
    if (const auto* stack = FindStack(report, leak.value("stack", int64_t{-1}))) {
      for (const auto& frame : (*stack)["frames"]) {
        std::string function = frame.value("function", "?");
        functions += function + " < ";
        tls_vector = tls_vector || FunctionMatches(function, "allocate_dtv");
        if (FunctionMatches(function, "main")) break;
      }
    }
    keys.emplace_back("leak", leak.value("blocks", int64_t{0}),
                      tls_vector ? -1 : leak.value("bytes", int64_t{0}), functions);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::string Describe(const std::vector<LeakKey>& keys) {
  std::string text;
  for (const auto& [kind, blocks, bytes, functions] : keys) {
    text += kind + " " + std::to_string(blocks) + " blocks " + std::to_string(bytes) +
            " bytes: " + functions + "\n";
  }
  return text;
}

class LinkedLeaks : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    Command plain{.argv = {HW_PROGRAM_leaks_known}};
    preloaded_run_ = new CommandResult(RunCommand(UnderHeapwarden(plain, dir_->File("p.json"))));
    preloaded_ = new nlohmann::json(MustLoad(dir_->File("p.json"), *preloaded_run_));
  }
  static void TearDownTestSuite() {
    delete preloaded_;
    delete preloaded_run_;
    delete dir_;
  }
  // Runs a linked build with tracking switched on by HEAPWARDEN_OPTIONS and checks its
  // leak groups against the preloaded run's.
  static void ExpectSameLeaks(const char* program) {
    const std::string path = dir_->File(std::string("linked.") +
                                        std::filesystem::path(program).filename().string() +
                                        ".json");
    CommandResult run = RunCommand(Linked({.argv = {program}}, "output=" + path));
    EXPECT_EQ(run.exit_status, preloaded_run_->exit_status) << run.Describe();
    EXPECT_EQ(run.out, preloaded_run_->out);
    nlohmann::json linked = MustLoad(path, run);
    const auto expected = LeakKeys(*preloaded_);
    const auto got = LeakKeys(linked);
    ASSERT_FALSE(expected.empty()) << preloaded_run_->Describe();
    EXPECT_EQ(Describe(got), Describe(expected));
    // The known leaks are found by name, with their sizes.
    for (const auto& [function, bytes] : {std::pair<const char*, int64_t>{"leak_malloc", 1337},
                                          {"leak_new", 2024},
                                          {"leak_thread", 6007},
                                          {"plugin_leak_inner", 7001}}) {
      auto groups = LeaksWithFunction(linked, function);
      ASSERT_EQ(groups.size(), 1u) << function << "\n" << Describe(got);
      EXPECT_EQ(groups[0]->value("bytes", int64_t{-1}), bytes) << function;
    }
    EXPECT_EQ(linked["process"].value("exit_status", -1), 0);
  }

  static inline TempDir* dir_;
  static inline CommandResult* preloaded_run_;
  static inline nlohmann::json* preloaded_;
};

TEST_F(LinkedLeaks, SharedLibraryReportsTheSameLeaksAsThePreload) {
  ExpectSameLeaks(HW_PROGRAM_leaks_known_shared);
}

TEST_F(LinkedLeaks, StaticLibraryReportsTheSameLeaksAsThePreload) {
  ExpectSameLeaks(HW_PROGRAM_leaks_known_static);
}

// libheapwarden.a inside the executable: the tool that symbolizes at exit is found
// without PATH (next to the executable's directory here, at the configured install
// path when installed), and heapwarden's own frames -- the wrapper of main under every
// stack -- are not in the report although they are in the program's module.
TEST_F(LinkedLeaks, StaticLibraryFindsTheToolAndHidesItsOwnFrames) {
  const std::string path = dir_->File("static_own_frames.json");
  Command command = Linked({.argv = {HW_PROGRAM_leaks_known_static}}, "output=" + path);
  command.set_env["PATH"] = "/usr/bin:/bin";  // no heapwarden there
  CommandResult run = RunCommand(command);
  ASSERT_EQ(run.exit_status, 0) << run.Describe();
  EXPECT_EQ(run.err.find("cannot start"), std::string::npos) << run.err;
  // The summary at exit, as `heapwarden run` prints it (the `summary` option).
  EXPECT_NE(run.err.find("Direct leak of 1337 byte(s)"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("SUMMARY: heapwarden: "), std::string::npos) << run.err;
  nlohmann::json report = MustLoad(path, run);
  EXPECT_TRUE(report["heapwarden"].value("symbolized", false)) << "not symbolized: " << run.err;
  // Version 2 keeps frames apart and refers to them by id.
  std::map<int64_t, const nlohmann::json*> by_id;
  if (report.contains("frames")) {
    for (const auto& f : report["frames"]) by_id[f.value("id", int64_t{-1})] = &f;
  }
  int frames = 0;
  for (const auto& stack : report["stacks"]) {
    for (const auto& ref : stack["frames"]) {
      const nlohmann::json* frame = &ref;
      if (ref.is_number_integer() && by_id.count(ref.get<int64_t>())) frame = by_id[ref.get<int64_t>()];
      const std::string function = frame->is_object() ? frame->value("function", "") : "";
      ++frames;
      EXPECT_EQ(function.find("MainWrapper"), std::string::npos) << stack.dump();
      EXPECT_NE(function, "exit") << stack.dump();
    }
  }
  EXPECT_GT(frames, 0);
}

// A linked program under `heapwarden run`: the preload comes first and serves malloc, the
// linked copy stays out of the way, and the report is the same.
TEST_F(LinkedLeaks, LinkedProgramUnderThePreloadReportsTheSameLeaks) {
  for (const char* program : {HW_PROGRAM_leaks_known_shared, HW_PROGRAM_leaks_known_static}) {
    SCOPED_TRACE(program);
    const std::string path = dir_->File("under_run.json");
    CommandResult run = RunCommand(UnderHeapwarden({.argv = {program}}, path));
    EXPECT_EQ(run.exit_status, 0) << run.Describe();
    EXPECT_EQ(run.err.find("another library serves malloc"), std::string::npos) << run.err;
    nlohmann::json report = MustLoad(path, run);
    EXPECT_EQ(Describe(LeakKeys(report)), Describe(LeakKeys(*preloaded_)));
  }
}

// Linked with tracking off: output, status and stderr as without heapwarden; no report.
TEST_F(LinkedLeaks, TrackingOffChangesNothing) {
  TempDir cwd;
  CommandResult plain = RunCommand(Plain({.argv = {HW_PROGRAM_leaks_known}, .cwd = cwd.path()}));
  for (const char* program : {HW_PROGRAM_leaks_known_shared, HW_PROGRAM_leaks_known_static}) {
    SCOPED_TRACE(program);
    CommandResult run = RunCommand(Plain({.argv = {program}, .cwd = cwd.path()}));
    EXPECT_EQ(run.exit_status, plain.exit_status) << run.Describe();
    EXPECT_EQ(run.out, plain.out);
    EXPECT_EQ(run.err, plain.err);
  }
  EXPECT_TRUE(std::filesystem::is_empty(cwd.path())) << "a report was written";
}

// Blocks held from the executable's globals and TLS are roots, not leaks: with
// libheapwarden.a heapwarden shares the executable with them and must still scan it.
TEST(LeakRoots, ExecutableGlobalsAndTlsAreRootsInEveryFlavour) {
  TempDir dir;
  struct Case {
    const char* name;
    Command command;
    std::string report;
  } cases[] = {
      {"preloaded", UnderHeapwarden({.argv = {HW_PROGRAM_leak_roots}}, dir.File("p.json")),
       dir.File("p.json")},
      {"static", Linked({.argv = {HW_PROGRAM_leak_roots_static}}, "output=" + dir.File("s.json")),
       dir.File("s.json")},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.name);
    CommandResult run = RunCommand(c.command);
    ASSERT_EQ(run.exit_status, 0) << run.Describe();
    nlohmann::json report = MustLoad(c.report, run);
    for (const auto& [function, kind] : {std::pair<const char*, const char*>{"global_held", "reachable"},
                                         {"tls_held", "reachable"},
                                         {"leaked", "direct"}}) {
      auto groups = LeaksWithFunction(report, function);
      ASSERT_EQ(groups.size(), 1u) << function;
      EXPECT_EQ(groups[0]->value("kind", ""), kind) << function << "\n"
                                                   << DescribeLeak(report, *groups[0]);
    }
  }
}

// ---- the API without heapwarden -----------------------------------------------------------

TEST(ApiInactive, HeadersOnlyProgramRunsUnchangedAndAnswersInactive) {
  CommandResult plain = RunCommand(Plain({.argv = {HW_PROGRAM_api_inactive}}));
  ASSERT_EQ(plain.exit_status, 0) << plain.Describe();
  EXPECT_EQ(plain.err, "");
  auto api = Lines(plain.out, "api");
  const std::map<std::string, std::string> kInactive = {
      {"active", "0"},   {"stats.active", "0"}, {"stats.live_bytes_zero", "1"},
      {"tag_stats.found", "0"}, {"trim.ok", "0"}, {"snapshot", "0"},
      {"c_stats", "-1"}, {"start", "0"}};
  EXPECT_EQ(api, kInactive) << plain.out;
  // Next to nothing: one predicted branch per call after the first lookup.
  auto cost = Lines(plain.out, "cost_ns");
  ASSERT_EQ(cost.size(), 1u) << plain.out;
  EXPECT_LT(std::stod(cost.begin()->first), 50.0) << "inactive tag push+pop, ns";

  // The same binary under heapwarden does the same work, and its calls reach the tracker.
  TempDir dir;
  CommandResult tracked = RunCommand(UnderHeapwarden({.argv = {HW_PROGRAM_api_inactive}},
                                                     dir.File("r.json")));
  ASSERT_EQ(tracked.exit_status, 0) << tracked.Describe();
  EXPECT_EQ(Lines(tracked.out, "work"), Lines(plain.out, "work"));
  EXPECT_EQ(Lines(tracked.out, "api")["active"], "1") << tracked.out;
  EXPECT_EQ(Lines(tracked.out, "api")["tag_stats.found"], "1") << tracked.out;
}

TEST(ApiInactive, LinkedProgramIsInactiveUntilStarted) {
  TempDir cwd;  // heapwarden::start() with no options writes heapwarden.<pid>.json here
  CommandResult plain = RunCommand(Plain({.argv = {HW_PROGRAM_api_inactive}}));
  CommandResult linked =
      RunCommand(Plain({.argv = {HW_PROGRAM_api_inactive_linked}, .cwd = cwd.path()}));
  ASSERT_EQ(linked.exit_status, 0) << linked.Describe();
  EXPECT_EQ(Lines(linked.out, "work"), Lines(plain.out, "work"));
  auto api = Lines(linked.out, "api");
  EXPECT_EQ(api["active"], "0");
  EXPECT_EQ(api["stats.active"], "0");
  EXPECT_EQ(api["trim.ok"], "0");
  EXPECT_EQ(api["start"], "1") << "heapwarden::start() did not switch tracking on";
  // Started from code: the report at exit, in the working directory.
  std::vector<std::string> reports;
  for (const auto& entry : std::filesystem::directory_iterator(cwd.path())) {
    reports.push_back(entry.path().string());
  }
  ASSERT_EQ(reports.size(), 1u) << linked.Describe();
  EXPECT_NE(reports[0].find("heapwarden." + std::to_string(linked.pid) + ".json"),
            std::string::npos)
      << reports[0];
  nlohmann::json report = MustLoad(reports[0], linked);
  EXPECT_TRUE(report["process"].value("complete", false));
}

TEST(ApiInactive, CProgramAnswersInactive) {
  CommandResult run = RunCommand(Plain({.argv = {HW_PROGRAM_api_inactive_c}}));
  ASSERT_EQ(run.exit_status, 0) << run.Describe();
  EXPECT_EQ(run.err, "");
  const std::map<std::string, std::string> kInactive = {
      {"active", "0"}, {"start", "-1"},   {"stats", "-1"},
      {"tag_stats", "-1 0 0"}, {"trim.ok", "0"}, {"snapshot", "-1"}};
  EXPECT_EQ(Lines(run.out, "api"), kInactive) << run.out;
}

}  // namespace
}  // namespace heapwarden::testutil
