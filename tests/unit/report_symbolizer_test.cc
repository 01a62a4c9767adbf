// report_symbolizer_test.cc: Symbolizer and SymbolizeReport against this test binary's
// own code, located the way the preload locates frames (module path + ELF vaddr).
// Report side.
#include <dlfcn.h>
#include <link.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "report/report_index.h"
#include "report_test_util.h"
#include "nlohmann/json.hpp"
#include "report/symbolize_report.h"
#include "report/symbolizer.h"

namespace heapwarden::report {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

// A code address as a report holds it: module path and ELF virtual address.
struct ModuleAddress {
  std::string module;
  uint64_t offset = 0;
};

struct LocateQuery {
  uintptr_t address;
  ModuleAddress result;
  bool found;
};

int LocateCallback(struct dl_phdr_info* info, size_t, void* data) {
  auto* query = static_cast<LocateQuery*>(data);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& phdr = info->dlpi_phdr[i];
    if (phdr.p_type != PT_LOAD) continue;
    uintptr_t start = info->dlpi_addr + phdr.p_vaddr;
    if (query->address < start || query->address >= start + phdr.p_memsz) continue;
    query->result.offset = query->address - info->dlpi_addr;
    query->result.module = info->dlpi_name;
    if (query->result.module.empty()) {  // the main program
      char exe[PATH_MAX];
      ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
      query->result.module = n > 0 ? std::string(exe, static_cast<size_t>(n)) : "";
    }
    query->found = true;
    return 1;
  }
  return 0;
}

ModuleAddress Locate(uintptr_t address) {
  LocateQuery query{address, {}, false};
  dl_iterate_phdr(LocateCallback, &query);
  EXPECT_TRUE(query.found) << "no module holds " << std::hex << address;
  return query.result;
}

int g_call_line = 0;
int g_inlined_line = 0;
int g_outer_line = 0;

// noipa: neither inlined nor cloned nor analysed across calls, so each is a real
// function with a real call.
__attribute__((noipa)) uintptr_t CaptureReturnAddress() {
  return reinterpret_cast<uintptr_t>(__builtin_return_address(0));
}

__attribute__((noipa)) uintptr_t CallerForTest() {
  g_call_line = __LINE__ + 1;
  uintptr_t return_address = CaptureReturnAddress();
  asm volatile("" : "+r"(return_address));  // work after the call: no tail call
  return return_address;
}

__attribute__((always_inline)) inline uintptr_t InlinedHelper() {
  g_inlined_line = __LINE__ + 1;
  uintptr_t return_address = CaptureReturnAddress();
  asm volatile("" : "+r"(return_address));
  return return_address;
}

__attribute__((noipa)) uintptr_t OuterOfInlined() {
  g_outer_line = __LINE__ + 1;
  uintptr_t return_address = InlinedHelper();
  asm volatile("" : "+r"(return_address));
  return return_address;
}

TEST(SymbolizerTest, ReturnAddressNamesTheCallerAndTheCallLine) {
  ModuleAddress where = Locate(CallerForTest());
  Symbolizer symbolizer;
  std::vector<SourceFrame> frames = symbolizer.SymbolizeReturnAddress(where.module, where.offset);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_THAT(frames[0].function, HasSubstr("CallerForTest"));
  EXPECT_THAT(frames[0].file, EndsWith("report_symbolizer_test.cc"));
  EXPECT_EQ(frames[0].line, g_call_line);
  EXPECT_FALSE(frames[0].inlined);
}

TEST(SymbolizerTest, FunctionEntryAddressNamesTheFunction) {
  ModuleAddress where = Locate(reinterpret_cast<uintptr_t>(&CallerForTest));
  Symbolizer symbolizer;
  std::vector<SourceFrame> frames = symbolizer.SymbolizeAddress(where.module, where.offset);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back().function, "heapwarden::report::(anonymous namespace)::CallerForTest()");
  EXPECT_THAT(frames.back().file, EndsWith("report_symbolizer_test.cc"));
  EXPECT_GT(frames.back().line, 0);
}

TEST(SymbolizerTest, InlinedCallBecomesAnExtraFrameInnermostFirst) {
  ModuleAddress where = Locate(OuterOfInlined());
  Symbolizer symbolizer;
  std::vector<SourceFrame> frames = symbolizer.SymbolizeReturnAddress(where.module, where.offset);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_THAT(frames[0].function, HasSubstr("InlinedHelper"));
  EXPECT_TRUE(frames[0].inlined);
  EXPECT_THAT(frames[0].file, EndsWith("report_symbolizer_test.cc"));
  EXPECT_EQ(frames[0].line, g_inlined_line);
  EXPECT_THAT(frames[1].function, HasSubstr("OuterOfInlined"));
  EXPECT_FALSE(frames[1].inlined);
  EXPECT_THAT(frames[1].file, EndsWith("report_symbolizer_test.cc"));
  EXPECT_EQ(frames[1].line, g_outer_line);
}

TEST(SymbolizerTest, WithoutInlineExpansionOneFrameNamesTheOuterFunction) {
  ModuleAddress where = Locate(OuterOfInlined());
  Symbolizer symbolizer(SymbolizerOptions{.expand_inlined = false});
  std::vector<SourceFrame> frames = symbolizer.SymbolizeReturnAddress(where.module, where.offset);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_THAT(frames[0].function, HasSubstr("OuterOfInlined"));
  EXPECT_FALSE(frames[0].inlined);
}

TEST(SymbolizerTest, SharedLibraryFunctionIsNamedWithoutSymbolVersion) {
  // Default version of a versioned glibc symbol; its .symtab spelling (when glibc's
  // debug file is installed) is "__libc_start_main@@GLIBC_2.34".
  void* address = dlsym(RTLD_DEFAULT, "__libc_start_main");
  ASSERT_NE(address, nullptr);
  ModuleAddress where = Locate(reinterpret_cast<uintptr_t>(address));
  EXPECT_THAT(where.module, HasSubstr("libc.so"));
  Symbolizer symbolizer;
  std::vector<SourceFrame> frames = symbolizer.SymbolizeAddress(where.module, where.offset);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back().function, "__libc_start_main");
}

TEST(SymbolizerTest, UnknownModulesGiveQuestionMarks) {
  Symbolizer symbolizer;
  for (const std::string module : {"", "[vdso]", "/nonexistent/libgone.so", "/etc/hostname"}) {
    std::vector<SourceFrame> frames = symbolizer.SymbolizeReturnAddress(module, 0x1234);
    ASSERT_EQ(frames.size(), 1u) << module;
    EXPECT_EQ(frames[0].function, "??") << module;
    EXPECT_EQ(frames[0].file, "") << module;
    EXPECT_EQ(frames[0].line, 0) << module;
  }
}

TEST(SymbolizerTest, AddressOutsideEveryFunctionGivesQuestionMarks) {
  ModuleAddress where = Locate(reinterpret_cast<uintptr_t>(&CallerForTest));
  Symbolizer symbolizer;
  std::vector<SourceFrame> frames = symbolizer.SymbolizeAddress(where.module, 0x7fffffff0000);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].function, "??");
}

TEST(SymbolizerTest, FifoAsModuleDoesNotHang) {
  char dir[] = "/tmp/hw_symbolizer_test.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string fifo = std::string(dir) + "/module.so";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  Symbolizer symbolizer;
  std::vector<SourceFrame> frames = symbolizer.SymbolizeReturnAddress(fifo, 0x1000);
  unlink(fifo.c_str());
  rmdir(dir);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].function, "??");
}

TEST(SymbolizerTest, ConstructorKeepsDebuginfodAway) {
  setenv("DEBUGINFOD_URLS", "http://127.0.0.1:9", 1);
  Symbolizer symbolizer;
  EXPECT_EQ(getenv("DEBUGINFOD_URLS"), nullptr);
}

TEST(DemangleTest, DemanglesItaniumNamesOnly) {
  EXPECT_EQ(Demangle("_ZN3foo3barEi"), "foo::bar(int)");
  EXPECT_EQ(Demangle("main"), "main");
  EXPECT_EQ(Demangle("_Znot_a_mangled_name"), "_Znot_a_mangled_name");
  EXPECT_EQ(Demangle(nullptr), "??");
}

nlohmann::json RawReport(const ModuleAddress& known, const ModuleAddress& inlined) {
  auto frame = [](const ModuleAddress& where, uint64_t fake_address) {
    char hex[32];
    snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(fake_address));
    return nlohmann::json{{"address", hex}, {"module", where.module}, {"offset", where.offset}};
  };
  return nlohmann::json{
      {"format", "heapwarden-report"},
      {"version", 1},
      {"process", {{"pid", 1}}},
      {"totals", nlohmann::json::object()},
      {"stacks",
       {{{"id", 1},
         {"frames",
          {frame(known, 0x5500001000), frame(ModuleAddress{"", 0x77}, 0x77),
           frame(inlined, 0x5500002000)}}}}},
      {"heapwarden", {{"version", "0.1.0"}, {"symbolized", false}}},
  };
}

TEST(SymbolizeReportTest, AddsNamesKeepsAddressesAndMarksTheReport) {
  ModuleAddress known = Locate(CallerForTest());
  ModuleAddress inlined = Locate(OuterOfInlined());
  nlohmann::json report = AsLoaded(RawReport(known, inlined));
  ASSERT_FALSE(IsSymbolized(report));
  Symbolizer symbolizer;
  SymbolizeReport(report, symbolizer);

  EXPECT_TRUE(IsSymbolized(report));
  // What a reader of the written file sees.
  report = AsLoaded(report);
  const ReportIndex index(report);
  std::vector<nlohmann::json> frames;
  for (const nlohmann::json* frame : index.StackFrames(1)) frames.push_back(*frame);
  ASSERT_EQ(frames.size(), 4u);  // the inlined address became two frames
  EXPECT_EQ(index.ModulePath(frames[0]), known.module);
  EXPECT_EQ(frames[0]["kind"], "native");
  EXPECT_THAT(frames[0]["function"].get<std::string>(), HasSubstr("CallerForTest"));
  EXPECT_EQ(frames[0]["address"], "0x5500001000");
  EXPECT_EQ(frames[0]["offset"], known.offset);
  EXPECT_EQ(frames[0]["line"], g_call_line);
  EXPECT_THAT(frames[0]["file"].get<std::string>(), EndsWith("report_symbolizer_test.cc"));
  EXPECT_FALSE(frames[0].contains("inlined"));

  EXPECT_EQ(frames[1]["function"], "??");
  EXPECT_FALSE(frames[1].contains("file"));
  EXPECT_FALSE(frames[1].contains("line"));

  EXPECT_THAT(frames[2]["function"].get<std::string>(), HasSubstr("InlinedHelper"));
  EXPECT_EQ(frames[2]["inlined"], true);
  EXPECT_EQ(frames[2]["address"], "0x5500002000");
  EXPECT_THAT(frames[3]["function"].get<std::string>(), HasSubstr("OuterOfInlined"));
  EXPECT_EQ(frames[3]["address"], "0x5500002000");
  EXPECT_EQ(frames[3]["offset"], inlined.offset);
  EXPECT_FALSE(frames[3].contains("inlined"));
}

TEST(SymbolizeReportTest, SymbolizingTwiceChangesNothing) {
  nlohmann::json report = AsLoaded(RawReport(Locate(CallerForTest()), Locate(OuterOfInlined())));
  Symbolizer symbolizer;
  SymbolizeReport(report, symbolizer);
  nlohmann::json once = report;
  Symbolizer fresh;
  SymbolizeReport(report, fresh);
  EXPECT_EQ(report, once);
}

TEST(SymbolizeReportTest, ToleratesMalformedStacks) {
  nlohmann::json report = {{"stacks", {1, {{"id", 2}}, {{"id", 3}, {"frames", "x"}}}}};
  Symbolizer symbolizer;
  EXPECT_NO_THROW(SymbolizeReport(report, symbolizer));
  EXPECT_TRUE(IsSymbolized(report));
  report = {{"stacks", {{{"id", 3}, {"frames", {1, "x", 99}}}}},
            {"frames", {1, {{"id", 1}, {"module", "x"}}, {{"id", 2}, {"offset", -4}}}},
            {"modules", "none"}};
  EXPECT_NO_THROW(SymbolizeReport(report, symbolizer));
}

// Python frames have no module to look up: they pass through, and every stack keeps them
// in place.
TEST(SymbolizeReportTest, PythonFramesPassThrough) {
  nlohmann::json raw = RawReport(Locate(CallerForTest()), Locate(OuterOfInlined()));
  nlohmann::json python = {{"kind", "python"}, {"function", "train"}, {"file", "t.py"}, {"line", 3}};
  raw["stacks"][0]["frames"].push_back(python);
  nlohmann::json report = AsLoaded(raw);
  Symbolizer symbolizer;
  SymbolizeReport(report, symbolizer);
  report = AsLoaded(report);
  const ReportIndex index(report);
  std::vector<const nlohmann::json*> frames = index.StackFrames(1);
  ASSERT_EQ(frames.size(), 5u);
  nlohmann::json last = *frames[4];
  last.erase("id");
  EXPECT_EQ(last, python);
  EXPECT_THAT((*frames[0])["function"].get<std::string>(), HasSubstr("CallerForTest"));
}

}  // namespace
}  // namespace heapwarden::report
